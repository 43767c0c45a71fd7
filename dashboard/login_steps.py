"""The steps of a staff login after the password (core/staff/second_factor.py): the code
of the authenticator app (or a recovery code), replacing an administrator's temporary
password, enrolling the second factor (QR code, then ten recovery codes shown once); and,
once logged in, the sidebar's «Двухфакторный вход» (enrol by choice, new recovery codes).

Nothing here opens a page: the session stays pending until its last step, and every page
checks the session itself (``widgets.guard``).
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.actors import StaffActor
from core.app import App
from core.customers.errors import SessionInvalid
from core.errors import DomainError
from core.security.errors import LoginLocked
from core.demo import guard
from core.staff import second_factor

ENROLMENT = "auth_enrolment"  # the secret being enrolled, until its first code confirms it
RECOVERY = "auth_recovery_codes"  # the codes to show once, until «Коды сохранены»
STEP_TITLES = {"totp": "Вход: код двухфакторного входа",
               "password": "Вход: задайте свой пароль",
               "enrol": "Вход: подключите двухфакторный вход"}


def draw_step(app: App, token: str, login_name: str, step: str,
              end: Callable[[str], None]) -> bool:
    """The form of ``step``; ``end(notice)`` forgets this tab's login (a lock, a timeout,
    «Отмена»). True when the step was done in this run: the caller empties what was
    drawn and goes on to the next step (or the pages) in the same run, not a rerun."""
    st.subheader(STEP_TITLES.get(step, "Вход"))
    try:
        if step == "totp":
            if _code_step(app, token):
                return True
            demo_code = guard.demo_totp_code(app, login_name)
            if demo_code:  # only a demo login still opening with the README's password
                st.info(f"Демо: ключ этого логина напечатан в README, текущий код — "
                        f"{demo_code}")
        elif step == "password":
            if _password_step(app, token):
                return True
        elif step == "enrol":
            st.info("Администраторам и финансистам вход без второго фактора закрыт: "
                    "подключите приложение-аутентификатор, чтобы продолжить.")
            if _enrolment(app, token, rerun=False):
                return True
    except (LoginLocked, SessionInvalid) as error:
        end(str(error))
        st.rerun()
    if st.button("Отмена", key="login_step_cancel"):
        end("Вход отменён")
        st.rerun()
    return False


def _code_step(app: App, token: str) -> bool:
    with st.form("login_totp"):
        code = st.text_input("Код из приложения или резервный код", key="login_totp_code",
                             max_chars=20, autocomplete="one-time-code",
                             help="6 цифр из приложения-аутентификатора (Google "
                                  "Authenticator, «Яндекс Ключ» и др.) или один из "
                                  "резервных кодов вида xxxxx-xxxxx")
        if st.form_submit_button("Подтвердить", type="primary"):
            try:
                second_factor.submit_code(app, token, code, _address())
            except (LoginLocked, SessionInvalid):
                raise
            except DomainError as error:
                st.error(str(error))
                return False
            return True
    return False


def _password_step(app: App, token: str) -> bool:
    st.info("Администратор выдал вам временный пароль: задайте свой, не короче 10 символов, "
            "с буквами и цифрами.")
    with st.form("login_new_password"):
        new = st.text_input("Новый пароль", type="password", key="login_new_pw")
        repeated = st.text_input("Повторите новый пароль", type="password",
                                 key="login_new_pw2")
        if st.form_submit_button("Сменить пароль", type="primary"):
            try:
                second_factor.change_temporary_password(app, token, new, repeated)
            except SessionInvalid:
                raise
            except DomainError as error:
                st.error(str(error))
                return False
            return True
    return False


def _enrolment(app: App, token: str, *, rerun: bool = True) -> bool:
    """Scan the QR code (or type the key), type the first code: recovery codes next
    (True once confirmed; with ``rerun``, as in the sidebar, the script reruns instead)."""
    enrolment = st.session_state.get(ENROLMENT)
    if enrolment is None:
        try:
            enrolment = second_factor.start_enrolment(app, token)
        except SessionInvalid:
            raise
        except DomainError as error:
            st.error(str(error))
            return False
        st.session_state[ENROLMENT] = enrolment
    st.markdown("1. Установите на телефон приложение-аутентификатор (Google Authenticator, "
                "«Яндекс Ключ», Microsoft Authenticator или другое с кодами TOTP).\n"
                "2. Отсканируйте QR-код или введите ключ вручную.\n"
                "3. Введите 6 цифр, которые покажет приложение.")
    st.image(enrolment.qr_png, width=220, caption="QR-код для приложения-аутентификатора")
    key = " ".join(enrolment.secret[i:i + 4] for i in range(0, len(enrolment.secret), 4))
    st.caption("Ключ для ввода вручную (показан только сейчас):")
    st.code(key, language=None)
    with st.form("enrol_confirm"):
        code = st.text_input("Код из приложения", key="enrol_code", max_chars=10,
                             autocomplete="one-time-code")
        if st.form_submit_button("Подключить", type="primary"):
            try:
                codes = second_factor.confirm_enrolment(app, token, code)
            except SessionInvalid:
                raise
            except DomainError as error:
                st.error(str(error))
                return False
            st.session_state.pop(ENROLMENT, None)
            st.session_state[RECOVERY] = codes
            if rerun:
                st.rerun()
            return True
    return False


def show_recovery_codes() -> bool:
    """The recovery codes just made, once, before any page; True while they are shown."""
    codes = st.session_state.get(RECOVERY)
    if not codes:
        return False
    st.subheader("Резервные коды двухфакторного входа")
    st.warning("Сохраните эти коды сейчас (распечатайте или запишите): они показаны один раз. "
               "Каждый код открывает вход один раз вместо кода из приложения, если телефона "
               "нет под рукой. Новые коды можно получить в боковой панели, старые тогда "
               "перестанут действовать.")
    st.code("\n".join(codes), language=None)
    if st.button("Коды сохранены, продолжить", key="recovery_done", type="primary"):
        del st.session_state[RECOVERY]
        return False  # the caller empties the codes and draws the pages in this run
    return True


def account_box(app: App, actor: StaffActor, token: str) -> None:
    """The sidebar's «Двухфакторный вход»: its state, enrolling by choice, new codes."""
    status = second_factor.status(app, actor)
    with st.sidebar.expander("Двухфакторный вход", expanded=ENROLMENT in st.session_state):
        if not status.enrolled:
            st.caption("Не подключён: по желанию для вашей роли.")
            if ENROLMENT in st.session_state or st.button("Подключить приложение", key="tfa_enrol"):
                _enrolment(app, token)
            return
        st.caption(f"Подключён. Неиспользованных резервных кодов: "
                   f"{status.recovery_codes_left}.")
        with st.form("tfa_new_codes"):
            code = st.text_input("Код из приложения", key="tfa_regen_code", max_chars=10,
                                 autocomplete="one-time-code")
            if st.form_submit_button("Новые резервные коды"):
                try:
                    codes = second_factor.regenerate_recovery_codes(app, actor, code)
                except DomainError as error:
                    st.error(str(error))
                else:
                    st.session_state[RECOVERY] = codes
                    st.rerun()


def _address() -> str | None:
    try:
        address = st.context.ip_address
    except (AttributeError, RuntimeError):
        return None
    return address if isinstance(address, str) else None
