"""Staff login: streamlit-authenticator draws the form and keeps the re-login cookie;
our staff sessions decide who is logged in.

The library keeps nothing on the server (its logout leaves a copied cookie
valid), so: the password check is ours (lockout, audit), every rerun checks
our session row, and a cookie login is accepted only through
``staff.resume_from_cookie``, which refuses cookies issued before a logout,
password or role change, or deactivation, and cookies shown by another client than
the one that logged in (address and browser: a copied cookie).

The cookie is set by the library's browser component, so by JavaScript: it cannot be
HttpOnly, and no reverse proxy can make it so (proxies rewrite Set-Cookie headers, and
there is none). It is therefore short (``STAFF_COOKIE_DAYS``, half a day: a shift),
SameSite=Strict, Secure whenever the page is served over HTTPS, and worth nothing
without the client it was issued to. Where an identity provider exists, Streamlit's
``st.login`` (a cookie the server sets, HttpOnly) is the better staff login (README).
"""
from __future__ import annotations

import os
import time
from types import SimpleNamespace
from urllib.parse import urlparse
from datetime import datetime, timedelta, timezone

import streamlit as st
import streamlit_authenticator as stauth
from streamlit.delta_generator import DeltaGenerator
from streamlit_authenticator.models import cookie_model as _library_cookies
from streamlit_authenticator.utilities.exceptions import LoginError

from core.actors import StaffActor
from core.app import App
from core.errors import DomainError
from core.customers.errors import LoginFailed, SessionInvalid
from core.staff import members
from core.staff.errors import LoginStepPending
from dashboard import login_steps
from dashboard.cookies import BrowserCookies, served_over_https
from dashboard.downloads import purge_downloads

# The library builds its cookie manager (a component that reruns the script whenever it
# mounts) on every run; ours reads the request and writes without answering back
# (dashboard/cookies.py). Internals of the pinned library version.
_library_cookies.stx = SimpleNamespace(CookieManager=BrowserCookies)

COOKIE_NAME = "utility_backoffice_staff"
TOKEN = "auth_staff_token"
ACTOR = "auth_actor"
NAME = "auth_name"
NOTICE = "auth_notice"
LOGIN_ERROR = "auth_login_error"
COOKIE_PENDING = "auth_cookie_pending"
RETURN_TO = "auth_return_to"
FIELDS = {"Form name": "Вход для сотрудников", "Username": "Логин", "Password": "Пароль",
          "Login": "Войти"}
# What streamlit-authenticator and its cookie component keep in session_state: the
# library's own logout clears them as it needs; everything else is ours and goes.
LIBRARY_KEYS = frozenset({"authentication_status", "username", "name", "email", "roles",
                          "logout", "init", "set", "delete", "get_all"})


def failed_login_pause() -> float:
    """Seconds a wrong password waits before its answer (tests: STAFF_LOGIN_SLEEP=0)."""
    return float(os.environ.get("STAFF_LOGIN_SLEEP", "0.7"))


def _authenticator(app: App) -> stauth.Authenticate:
    # The library sleeps 0.7 s in every logged-out run, the form's first load and the
    # successful login included; the pause is ours, after a wrong password only
    # (_check_password), beside the lockout.
    authenticator = stauth.Authenticate(
        members.login_form_credentials(app), cookie_name=COOKIE_NAME,
        cookie_key=app.secrets.cookie_key, cookie_expiry_days=app.settings.staff_cookie_days,
        auto_hash=False, login_sleep_time=0)
    # The library would compare bcrypt hashes itself; ours adds lockout, the
    # audit of failed logins and a server-side session. Pinned library version.
    model = authenticator.authentication_controller.authentication_model
    model.check_credentials = lambda username, password: _check_password(app, username, password)
    # It would also set its cookie as soon as the password is right; ours is set when the
    # login's last step is done (_set_cookie; see members.resume_from_cookie).
    authenticator.cookie_controller.set_cookie = lambda: None
    return authenticator


def client_hash() -> str:
    """This browser as the server sees it: its address and user agent, hashed."""
    try:
        address, agent = st.context.ip_address, st.context.headers.get("User-Agent")
    except (AttributeError, RuntimeError):  # a bare script run without a request
        address, agent = None, None
    return members.client_hash(address if isinstance(address, str) else None,
                               agent if isinstance(agent, str) else None)


def _set_cookie(authenticator: stauth.Authenticate) -> None:
    """The library's re-login cookie, with the flags its own setter leaves out
    (Secure over HTTPS, SameSite=Strict). Internals of the pinned library version."""
    model = authenticator.cookie_controller.cookie_model
    model.exp_date = model._set_exp_date()
    model.cookie_manager.set(
        model.cookie_name, model._token_encode(),
        expires_at=datetime.now() + timedelta(days=model.cookie_expiry_days),
        secure=True if served_over_https() else None, same_site="strict")


def _check_password(app: App, username: str, password: str) -> bool:
    try:
        result = members.login(app, username, password, st.context.ip_address, client_hash())
    except DomainError as error:  # wrong password or locked: the message says which
        st.session_state[LOGIN_ERROR] = str(error)
        time.sleep(failed_login_pause())
        return False
    _remember(result)
    return True


def _remember(result: members.StaffLogin) -> None:
    st.session_state[TOKEN] = result.session_token
    st.session_state[ACTOR] = result.actor
    st.session_state[NAME] = result.name
    st.session_state.pop(LOGIN_ERROR, None)
    st.session_state.pop(NOTICE, None)


def _forget(authenticator: stauth.Authenticate | None, notice: str | None) -> None:
    """The end of a staff session in this tab: nothing of it may reach whoever logs in
    next here (an open customer card, a prepared export, a pending confirmation, the
    values typed into filters), so every key of every page goes, not a list of them."""
    if authenticator is not None and st.session_state.get("authentication_status"):
        authenticator.logout(location="unrendered")  # clears its state, deletes the cookie
    for key in list(st.session_state.keys()):
        if key not in LIBRARY_KEYS:
            del st.session_state[key]
    purge_downloads()  # this run shows no download: the member's files go now
    if notice:
        st.session_state[NOTICE] = notice


class StaffAuth:
    """One per script run: it owns the authenticator (whose cookie component may be
    rendered only once per run)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._authenticator: stauth.Authenticate | None = None

    @property
    def authenticator(self) -> stauth.Authenticate:
        """Built when a run needs it (the form, the cookie, a logout): a logged-in rerun
        does not, and building it (the staff credentials read, the library set up) cost
        each of them 14 ms."""
        if self._authenticator is None:
            self._authenticator = _authenticator(self.app)
        return self._authenticator

    def current_actor(self) -> StaffActor | None:
        """The logged-in staff member, or None after drawing the login form (or the
        login's next step).

        A login through the form completes in the run of its submit: the form is drawn
        in a placeholder, emptied once the password is right, and the session's next
        step (or the pages) is drawn in the same run. The rerun this once took cost a
        whole script run per login."""
        # One place, run after run, for the form, the login's next step and the recovery
        # codes: what one run drew there the next replaces, never shown beside it.
        slot = st.empty()
        token = st.session_state.get(TOKEN)
        if token:
            ended, actor = self._checked(token, slot)
            if not ended:
                return actor
        with slot.container():
            self._form()
            if st.session_state.get("authentication_status") and not st.session_state.get(TOKEN):
                self._resume_from_cookie()
                if st.session_state.get(TOKEN):
                    # No form was drawn, but the first run of a session may have been cut
                    # short before the page was resolved: remember the page asked for.
                    _note_requested_page()
                    return st.session_state[ACTOR]
                # The cookie was refused and forgotten: the form now, as no rerun follows.
                self._form()
            # The page a link asked for is noted now: while the form is shown the
            # address bar may change (the logged-out navigation has no pages of its own).
            _note_requested_page()
            if not st.session_state.get(TOKEN):
                _show_login_messages()
                return None
        # Logged in through the form in this run: the form goes, the rest is drawn now.
        slot.empty()
        st.session_state[COOKIE_PENDING] = True
        ended, actor = self._checked(st.session_state[TOKEN], slot)
        return None if ended else actor

    def _form(self) -> None:
        """The library's form (nothing when a valid cookie logs in instead)."""
        try:
            self.authenticator.login(location="main", fields=FIELDS, key="staff_login")
        except LoginError:  # a cookie of a member who no longer exists
            self.authenticator.authentication_controller.logout()  # its cookie is not read again
            self.authenticator.cookie_controller.delete_cookie()
            _forget(self.authenticator, "Сеанс завершён: войдите снова")
            self.authenticator.login(location="main", fields=FIELDS, key="staff_login")

    def _checked(self, token: str, slot: DeltaGenerator) -> tuple[bool, StaffActor | None]:
        """(ended, actor) of the session behind ``token``: ended when it is no longer
        valid (forgotten here, the form comes next); no actor while a step of the login
        or the recovery codes are drawn."""
        try:
            actor = members.check_session(self.app, token, client_hash())
        except LoginStepPending as pending:
            # The password was right; the second factor (or a new password) is owed.
            pending_actor = st.session_state.get(ACTOR)
            with slot.container():
                done = login_steps.draw_step(
                    self.app, token, pending_actor.login if pending_actor else "",
                    pending.step, lambda notice: _forget(self.authenticator, notice))
            if not done:
                return False, None
            slot.empty()  # the step is done: the next one, or the pages, in this run
            return self._checked(token, slot)
        except SessionInvalid as error:
            _forget(self.authenticator, str(error))
            return True, None
        st.session_state[ACTOR] = actor
        if st.session_state.pop(COOKIE_PENDING, False):
            # Set the re-login cookie in a run that no rerun cuts short, so the browser
            # gets to store it (only now that the login is complete: see
            # members.resume_from_cookie).
            _set_cookie(self.authenticator)
        if login_steps.RECOVERY in st.session_state:
            with slot.container():
                if login_steps.show_recovery_codes():
                    return False, None  # once, before any page
            slot.empty()  # «Коды сохранены»: the pages, in this run
        login_steps.account_box(self.app, actor, token)
        return False, actor

    def _resume_from_cookie(self) -> None:
        cookie = self.authenticator.cookie_controller.get_cookie()
        if not cookie:
            _forget(self.authenticator, None)
            return
        issued = (datetime.fromtimestamp(float(cookie["exp_date"]), tz=timezone.utc)
                  - timedelta(days=self.app.settings.staff_cookie_days))
        try:
            _remember(members.resume_from_cookie(self.app, str(cookie["username"]), issued,
                                                 client_hash()))
        except SessionInvalid as error:
            _forget(self.authenticator, str(error))

    def logout(self) -> None:
        """Ends every session of this staff member (and so voids copied cookies)."""
        token = st.session_state.get(TOKEN)
        if token:
            members.logout(self.app, token)
        _forget(self.authenticator, "Вы вышли из системы")


def _requested_page() -> str:
    """The url path of the page the browser asked for («audit» in /audit)."""
    try:
        path = urlparse(str(st.context.url or "")).path
    except (AttributeError, ValueError):
        return ""
    return path.rstrip("/").rsplit("/", 1)[-1]


def _note_requested_page() -> None:
    """Remember the page the link pointed at, to open it after the login (a rerun
    forgets it); an address that names no page keeps what was noted before."""
    page = _requested_page()
    if page and page != "login":
        st.session_state[RETURN_TO] = page


def take_return_to() -> str:
    return str(st.session_state.pop(RETURN_TO, "") or "")


def _show_login_messages() -> None:
    if st.session_state.get(NOTICE):
        st.info(st.session_state[NOTICE])
    if st.session_state.get("authentication_status") is False:
        st.error(st.session_state.get(LOGIN_ERROR) or str(LoginFailed()))
