"""Staff accounts, dashboard logins and server-side staff sessions.

streamlit-authenticator draws the login form and keeps a re-login cookie, but
keeps nothing on the server: its logout does not void a copied cookie and a
password change ends nothing. So every dashboard session is a row here, checked
on every rerun, and ``sessions_valid_after`` on the staff row voids all
sessions and cookies issued before a logout, password or role change, or
deactivation.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import actors
from core.actors import ActorKind, StaffActor, StaffRole, require_role
from core.app import App
from core.db.models import StaffSession, StaffUser
from core.config import Settings
from core.security import codes, throttle
from core.security.errors import LoginLocked
from core.customers.rules import normalize_email
from core.customers.errors import LoginFailed, SessionInvalid
from core.errors import NotFound, ValidationError
from core.text import refuse_control_characters
from core.staff import audit, client_binding, permissions, totp
from core.staff.errors import LoginStepPending, SecondFactorState, StaffLoginTaken
from core.timefmt import format_datetime_msk

THROTTLE_SCOPE = "staff"  # a login name, from one client address or from all of them
ADDRESS_SCOPE = "staff_addr"  # a client address, over all login names
STAFF_PASSWORD_MIN = 10
STAFF_PASSWORD_MAX_BYTES = 72  # bcrypt ignores anything longer
TOUCH_EVERY = timedelta(seconds=30)  # how often a rerun writes last_seen
PENDING_LIFETIME = timedelta(minutes=10)  # a password accepted, its login's next step owed
TEMPORARY_PASSWORD_LENGTH = 14
_LOGIN_RE = re.compile(r"[a-z0-9][a-z0-9._-]{2,49}")

# On the ground floor with the roles: the journal's sentences name roles too.
ROLE_LABELS = actors.ROLE_LABELS

END_MESSAGES = {
    "logout": "Сеанс завершён: сотрудник вышел из системы",
    "idle": "Сеанс завершён после 15 минут бездействия: введите пароль снова",
    "password_change": "Сеанс завершён: пароль сотрудника изменён",
    "role_change": "Сеанс завершён: роль сотрудника изменена",
    "deactivated": "Сеанс завершён: учётная запись сотрудника отключена",
    "client_changed": "Сеанс завершён: вход с другого устройства или браузера. "
                      "Войдите с паролем",
    "step_timeout": "Вход не завершён за 10 минут: введите пароль снова",
    "second_factor_reset": "Сеанс завершён: двухфакторный вход сотрудника сброшен",
}


@dataclass(frozen=True)
class StaffLogin:
    actor: StaffActor
    name: str
    session_token: str
    # The step the login still owes before any page opens (LoginStepPending.step); None:
    # the session is open.
    pending: str | None = None


@dataclass(frozen=True)
class LoginLock:
    """Why a staff member cannot log in now, for the admin who may lift it."""

    until: datetime  # the latest of the locks
    for_everyone: bool  # failures from many addresses: locked from every address
    addresses: tuple[str, ...]  # the client addresses locked out of this login


@dataclass(frozen=True)
class StaffInfo:
    id: int
    login: str
    name: str
    email: str
    role: StaffRole
    is_active: bool
    last_seen_at: datetime | None
    created_at: datetime
    login_lock: LoginLock | None = None
    second_factor: bool = False  # a TOTP second factor is enrolled
    must_change_password: bool = False  # a temporary password not yet replaced


def validate_staff_password(password: str, label: str = "Пароль") -> str:
    value = refuse_control_characters(password, label, "password")
    if len(value) < STAFF_PASSWORD_MIN:
        raise ValidationError(label, f"не короче {STAFF_PASSWORD_MIN} символов", field="password")
    if len(value.encode()) > STAFF_PASSWORD_MAX_BYTES:
        raise ValidationError(label, f"не длиннее {STAFF_PASSWORD_MAX_BYTES} байт",
                              field="password")
    if value.isdigit() or value.isalpha():
        raise ValidationError(label, "должен содержать и буквы, и цифры или знаки",
                              field="password")
    return value


def _clean_login(raw: str) -> str:
    login = refuse_control_characters(raw, "Логин", "login").strip().lower()
    if not _LOGIN_RE.fullmatch(login):
        raise ValidationError("Логин", "3–50 символов: латинские буквы, цифры, точка, дефис, "
                              "подчёркивание; начинается с буквы или цифры", field="login")
    return login


def parse_role(raw: str) -> StaffRole:
    try:
        return StaffRole(raw)
    except ValueError:
        raise ValidationError("Роль", "одна из: agent, finance, manager, admin",
                              field="role") from None


def add_staff(app: App, actor: StaffActor | None, *, login: str, name: str, email: str,
              role: StaffRole, password: str) -> int:
    """``actor`` None means the operator's CLI (recorded as the system)."""
    if actor is not None:
        require_role(actor, permissions.ADMINS, "управление сотрудниками")
    clean = _clean_login(login)
    full_name = " ".join(refuse_control_characters(name, "ФИО", "name").split())
    if not full_name or len(full_name) > 150:
        raise ValidationError("ФИО", "обязательное поле, не длиннее 150 символов", field="name")
    mail = normalize_email(email)
    password_hash = app.staff_hasher.hash(validate_staff_password(password))
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        if s.scalar(select(StaffUser.id).where(StaffUser.login == clean)) is not None:
            raise StaffLoginTaken()
        staff = StaffUser(login=clean, name=full_name, email=mail, role=role,
                          password_hash=password_hash, is_active=True,
                          sessions_valid_after=now, created_at=now)
        s.add(staff)
        s.flush()
        audit.record(s, at=now, action="staff.add", actor=actor,
                     actor_kind=None if actor else ActorKind.SYSTEM,
                     after={"login": clean, "role": role.value})
        uow.commit()
        return staff.id


def login_form_credentials(app: App) -> dict[str, dict[str, dict[str, object]]]:
    """The credentials dict streamlit-authenticator wants, from active staff only."""
    with app.uow(write=False) as uow:
        rows = uow.session.scalars(select(StaffUser).where(StaffUser.is_active.is_(True))).all()
    return {"usernames": {s.login: {"name": s.name, "email": s.email,
                                    "password": s.password_hash, "roles": [s.role.value]}
                          for s in rows}}


def _limits(settings: Settings) -> tuple[throttle.Limit, throttle.Limit, throttle.Limit]:
    """(this login from this address, this address over all logins, this login overall)."""
    window = timedelta(minutes=settings.staff_login_window_minutes)
    lock = timedelta(minutes=settings.staff_login_lock_minutes)
    return (throttle.Limit(settings.staff_login_failures_per_address, lock, window),
            throttle.Limit(settings.staff_address_failures, lock, window),
            throttle.Limit(settings.staff_login_failures_total, lock, window))


def ensure_login_not_locked(s: Session, key: str, address: str, now: datetime) -> None:
    untils = [throttle.locked_until(s, THROTTLE_SCOPE, key, now, address),
              throttle.locked_until(s, THROTTLE_SCOPE, key, now)]
    if address != throttle.UNKNOWN_ADDRESS:
        untils.append(throttle.locked_until(s, ADDRESS_SCOPE, address, now))
    latest = max((until for until in untils if until is not None), default=None)
    if latest is not None:
        raise LoginLocked(format_datetime_msk(latest))


def register_login_failure(s: Session, settings: Settings, key: str, address: str,
                           now: datetime) -> list[str]:
    """Count a wrong password (or second-factor code) on every counter; the counters it
    locked."""
    from_address, address_wide, overall = _limits(settings)
    locked = []
    if throttle.register_failure(s, THROTTLE_SCOPE, key, now, from_address, address):
        locked.append("login_from_address")
    # Without an address (a proxy that does not pass it on, or localhost) every client
    # would share this counter: a limit over all logins would lock every staff member.
    if address != throttle.UNKNOWN_ADDRESS and throttle.register_failure(
            s, ADDRESS_SCOPE, address, now, address_wide):
        locked.append("address")
    if throttle.register_failure(s, THROTTLE_SCOPE, key, now, overall):
        locked.append("login")
    return locked


def login(app: App, login_name: str, password: str,
          client_address: str | None = None, client: str | None = None) -> StaffLogin:
    """Check the password (with lockout) and open a server-side session.

    Anyone may type any login, so wrong passwords first lock out only the client address
    they came from (``client_address``; None when unknown); a login is locked for everyone
    only when they come from many addresses. Behind a reverse proxy the address is the
    proxy's unless it is passed on (README, «Staff login lockouts»).
    """
    key = refuse_control_characters(login_name, "Логин", "login").strip().lower()[:100]
    address = throttle.address_key(client_address)
    now = app.now()
    with app.uow(write=False) as uow:
        ensure_login_not_locked(uow.session, key, address, now)
        staff = uow.session.scalar(select(StaffUser).where(StaffUser.login == key))
    stored = staff.password_hash if staff else app.staff_hasher.dummy_hash
    ok = bool(key and password) and app.staff_hasher.verify(
        stored, (password or "")[:STAFF_PASSWORD_MAX_BYTES]) and staff is not None \
        and staff.is_active
    with app.uow() as uow:
        s = uow.session
        if not ok:
            locked = register_login_failure(s, app.settings, key, address, now)
            audit.record(s, at=now, action="staff.login_failed", actor_kind=ActorKind.STAFF,
                         actor_label=key or "(пусто)",
                         after={"address": address, **({"locked": locked} if locked else {})},
                         result="refused")
            uow.commit()
            raise LoginFailed()
        assert staff is not None
        pending = next_step(staff)
        if pending != "totp":
            # Only this address's count: a success must not give a spread attack fresh
            # tries. With a code to come, the login succeeds only with the code: else the
            # password would buy fresh guesses at the code (second_factor.submit_code).
            throttle.register_success(s, THROTTLE_SCOPE, key, address)
        result = _open_session(s, staff, now, "password", client, pending=pending)
        uow.commit()
        return result


def next_step(staff: StaffUser, factor_done: bool = False) -> str | None:
    """What a login still owes after the password (and, with ``factor_done``, after its
    second factor): the code, then replacing a temporary password, then enrolling the
    second factor where the role requires one."""
    if staff.totp_secret_enc and not factor_done:
        return "totp"
    if staff.must_change_password:
        return "password"
    if totp.required(staff.role) and not staff.totp_secret_enc:
        return "enrol"
    return None


def client_hash(address: str | None, user_agent: str | None) -> str:
    """What binds a session to the client it was opened from (see ``client_binding``)."""
    return client_binding.client_hash(address, user_agent)


def _open_session(s: Session, staff: StaffUser, now: datetime, origin: str,
                  client: str | None = None, pending: str | None = None) -> StaffLogin:
    token, digest = codes.new_token()
    s.add(StaffSession(staff_id=staff.id, token_hash=digest, role=staff.role, origin=origin,
                       client_hash=client, created_at=now, last_seen_at=now, pending=pending))
    actor = StaffActor(staff.id, staff.login, staff.role)
    if pending is None:  # else journaled when its last step is done (second_factor)
        s.execute(update(StaffUser).where(StaffUser.id == staff.id).values(last_seen_at=now))
        audit.record(s, at=now, action="staff.login", actor=actor, after={"via": origin})
    return StaffLogin(actor=actor, name=staff.name, session_token=token, pending=pending)


def resume_from_cookie(app: App, login_name: str, cookie_issued_at: datetime,
                       client: str | None = None) -> StaffLogin:
    """A browser came back with the login widget's cookie: accept it only if nothing
    voided it since it was issued, the staff member has not been idle too long, and
    (``client``, from ``client_hash``) it comes from the client that logged in; a
    cookie shown by another client is refused and journaled (a copied cookie)."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        staff = s.scalar(select(StaffUser).where(StaffUser.login == (login_name or "").lower()))
        if staff is None or not staff.is_active:
            raise SessionInvalid(END_MESSAGES["deactivated"])
        if cookie_issued_at < staff.sessions_valid_after:
            raise SessionInvalid("Сеанс завершён: войдите снова")
        idle = timedelta(minutes=app.settings.staff_idle_minutes)
        if staff.last_seen_at is None or now - staff.last_seen_at > idle:
            raise SessionInvalid(END_MESSAGES["idle"])
        if next_step(staff, factor_done=True) is not None:
            # A temporary password to replace or a second factor to enrol: only the
            # password login leads there.
            raise SessionInvalid("Сеанс завершён: войдите с паролем")
        if client is None and not client_binding.completed_login_near(
                s, staff.id, cookie_issued_at):
            # The login library sets its cookie right after the password: a cookie whose
            # login never got past its second factor resumes nothing.
            raise SessionInvalid("Сеанс завершён: войдите снова")
        if client is not None and not client_binding.cookie_matches_client(
                s, staff.id, cookie_issued_at, client):
            audit.record(s, at=now, action="staff.cookie_refused", actor_kind=ActorKind.STAFF,
                         actor_label=staff.login, after={"reason": "client_changed"},
                         result="refused")
            uow.commit()
            raise SessionInvalid(END_MESSAGES["client_changed"])
        result = _open_session(s, staff, now, "cookie", client)
        uow.commit()
        return result


def check_session(app: App, token: str, client: str | None = None) -> StaffActor:
    """Called on every dashboard rerun: the session is still valid (and, given
    ``client``, used from the client it was opened from), and now touched."""
    now = app.now()
    digest = codes.token_digest(token or "")
    with app.uow(write=False) as uow:
        row = uow.session.scalar(select(StaffSession).where(StaffSession.token_hash == digest))
        if row is None:
            raise SessionInvalid()
        staff = row.staff
        reason = _end_reason(row, staff, now, app.settings.staff_idle_minutes)
        if reason is None and client and row.client_hash and row.client_hash != client:
            reason = "client_changed"
        needs_touch = now - row.last_seen_at >= TOUCH_EVERY
        actor = StaffActor(staff.id, staff.login, staff.role)
        pending = row.pending
    if reason is None and pending is not None:
        raise LoginStepPending(pending)  # no page, no touch: the login is not done
    if reason is None and not needs_touch:
        return actor
    with app.uow() as uow:
        s = uow.session
        if reason is not None:
            s.execute(update(StaffSession).where(StaffSession.token_hash == digest,
                                                 StaffSession.ended_at.is_(None))
                      .values(ended_at=now, end_reason=reason))
            if reason == "client_changed" and row.ended_at is None:
                audit.record(s, at=now, action="staff.session_moved", actor=actor,
                             after={"reason": reason}, result="refused")
            uow.commit()
            raise SessionInvalid(END_MESSAGES.get(reason, "Сеанс завершён, войдите снова"))
        s.execute(update(StaffSession).where(StaffSession.token_hash == digest)
                  .values(last_seen_at=now))
        s.execute(update(StaffUser).where(StaffUser.id == actor.staff_id)
                  .values(last_seen_at=now))
        uow.commit()
    return actor


def _end_reason(row: StaffSession, staff: StaffUser, now: datetime,
                idle_minutes: int) -> str | None:
    if row.ended_at is not None:
        return row.end_reason or "logout"
    if not staff.is_active:
        return "deactivated"
    if row.created_at < staff.sessions_valid_after:
        return "logout"
    if row.role is not staff.role:
        return "role_change"
    if row.pending is not None and now - row.created_at > PENDING_LIFETIME:
        return "step_timeout"
    if now - row.last_seen_at > timedelta(minutes=idle_minutes):
        return "idle"
    return None


def _void_sessions(s: Session, staff: StaffUser, now: datetime, reason: str) -> None:
    staff.sessions_valid_after = now
    s.execute(update(StaffSession).where(StaffSession.staff_id == staff.id,
                                         StaffSession.ended_at.is_(None))
              .values(ended_at=now, end_reason=reason))


def logout(app: App, token: str) -> None:
    """Ends every session of this staff member and voids their login cookies."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        row = s.scalar(select(StaffSession)
                       .where(StaffSession.token_hash == codes.token_digest(token or "")))
        if row is None:
            return
        staff = row.staff
        _void_sessions(s, staff, now, "logout")
        audit.record(s, at=now, action="staff.logout",
                     actor=StaffActor(staff.id, staff.login, staff.role))
        uow.commit()


def _get_staff(s: Session, staff_id: int) -> StaffUser:
    staff = s.get(StaffUser, staff_id)
    if staff is None:
        raise NotFound("Сотрудник не найден")
    return staff


def change_password(app: App, actor: StaffActor | None, staff_id: int, new_password: str) -> None:
    """An admin resets anyone's password; a staff member may change their own."""
    if actor is not None and actor.staff_id != staff_id:
        require_role(actor, permissions.ADMINS, "смена пароля другого сотрудника")
    password_hash = app.staff_hasher.hash(validate_staff_password(new_password, "Новый пароль"))
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        staff = _get_staff(s, staff_id)
        staff.password_hash = password_hash
        _void_sessions(s, staff, now, "password_change")
        audit.record(s, at=now, action="staff.password_change", actor=actor,
                     after={"login": staff.login})
        uow.commit()


def change_role(app: App, actor: StaffActor | None, staff_id: int, role: StaffRole) -> None:
    if actor is not None:
        require_role(actor, permissions.ADMINS, "смена роли")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        staff = _get_staff(s, staff_id)
        if staff.role is role:
            raise ValidationError("Роль", "сотрудник уже в этой роли", field="role")
        before = staff.role.value
        staff.role = role
        _void_sessions(s, staff, now, "role_change")
        audit.record(s, at=now, action="staff.role_change", actor=actor,
                     before={"login": staff.login, "role": before}, after={"role": role.value})
        uow.commit()


def set_active(app: App, actor: StaffActor | None, staff_id: int, active: bool) -> None:
    if actor is not None:
        require_role(actor, permissions.ADMINS, "отключение сотрудников")
        if actor.staff_id == staff_id and not active:
            raise ValidationError("Сотрудник", "нельзя отключить собственную учётную запись")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        staff = _get_staff(s, staff_id)
        if staff.is_active == active:
            return
        staff.is_active = active
        if not active:
            _void_sessions(s, staff, now, "deactivated")
        audit.record(s, at=now, action="staff.activate" if active else "staff.deactivate",
                     actor=actor, after={"login": staff.login})
        uow.commit()


def find_staff_id(app: App, login_name: str) -> int:
    with app.uow(write=False) as uow:
        staff_id = uow.session.scalar(select(StaffUser.id)
                                      .where(StaffUser.login == refuse_control_characters(
                                          login_name, "Логин", "login").lower()))
    if staff_id is None:
        raise NotFound("Сотрудник с таким логином не найден")
    return staff_id


def _login_locks(s: Session, now: datetime) -> dict[str, LoginLock]:
    by_login: dict[str, list[throttle.Lock]] = {}
    for lock in throttle.active_locks(s, THROTTLE_SCOPE, now):
        by_login.setdefault(lock.login_key, []).append(lock)
    return {key: LoginLock(
        until=max(lock.until for lock in locks),
        for_everyone=any(lock.client_address == throttle.ANY_ADDRESS for lock in locks),
        addresses=tuple(lock.client_address for lock in locks
                        if lock.client_address != throttle.ANY_ADDRESS))
        for key, locks in by_login.items()}


def list_staff(app: App, actor: StaffActor) -> list[StaffInfo]:
    require_role(actor, permissions.ADMINS, "список сотрудников")
    now = app.now()
    with app.uow(write=False) as uow:
        rows = uow.session.scalars(select(StaffUser).order_by(StaffUser.login)).all()
        locks = _login_locks(uow.session, now)
    return [StaffInfo(s.id, s.login, s.name, s.email, s.role, s.is_active, s.last_seen_at,
                      s.created_at, locks.get(s.login), second_factor=bool(s.totp_secret_enc),
                      must_change_password=s.must_change_password) for s in rows]


def _temporary_password() -> str:
    """Letters and digits (both always present), none that read alike."""
    letters, digits = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ", "23456789"
    while True:
        value = "".join(secrets.choice(letters + digits)
                        for _ in range(TEMPORARY_PASSWORD_LENGTH))
        if any(c in digits for c in value) and any(c in letters for c in value):
            return value


def reset_password(app: App, actor: StaffActor | None, staff_id: int) -> str:
    """An administrator gives a member who forgot the password a temporary one, returned
    once for the administrator to pass on: it opens only the step that replaces it (after
    the second factor, if enrolled). Every session and cookie of the member ends."""
    if actor is not None:
        require_role(actor, permissions.ADMINS, "сброс пароля сотрудника")
        if actor.staff_id == staff_id:
            raise ValidationError("Сотрудник", "свой пароль меняют без сброса, зная старый")
    temporary = _temporary_password()
    password_hash = app.staff_hasher.hash(temporary)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        staff = _get_staff(s, staff_id)
        staff.password_hash = password_hash
        staff.must_change_password = True
        _void_sessions(s, staff, now, "password_change")
        audit.record(s, at=now, action="staff.password_reset", actor=actor,
                     actor_kind=None if actor else ActorKind.SYSTEM,
                     after={"login": staff.login, "temporary": True})
        uow.commit()
    return temporary


def reset_second_factor(app: App, actor: StaffActor | None, staff_id: int) -> None:
    """An administrator removes a member's second factor (a lost phone and recovery
    codes): the secret and every recovery code go, every session ends, and a role that
    requires it enrols anew at the next login."""
    if actor is not None:
        require_role(actor, permissions.ADMINS, "сброс двухфакторного входа")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        staff = _get_staff(s, staff_id)
        if not staff.totp_secret_enc and not staff.totp_pending_enc:
            raise SecondFactorState("Двухфакторный вход у сотрудника не подключён")
        totp.forget(s, staff)
        _void_sessions(s, staff, now, "second_factor_reset")
        audit.record(s, at=now, action="staff.totp_reset", actor=actor,
                     actor_kind=None if actor else ActorKind.SYSTEM,
                     after={"login": staff.login})
        uow.commit()


def unlock_login(app: App, actor: StaffActor | None, staff_id: int) -> None:
    """An admin lifts every login lock of a staff member (for everyone and per address)
    and the failures counted so far. Locks of an address over all logins stay: they are
    the address's, not the member's."""
    if actor is not None:
        require_role(actor, permissions.ADMINS, "снятие блокировки входа")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        staff = _get_staff(s, staff_id)
        lock = _login_locks(s, now).get(staff.login)
        throttle.clear(s, THROTTLE_SCOPE, staff.login)
        audit.record(s, at=now, action="staff.login_unlock", actor=actor,
                     actor_kind=None if actor else ActorKind.SYSTEM,
                     before={"login": staff.login,
                             "locked_until": lock.until.isoformat() if lock else None,
                             "for_everyone": bool(lock and lock.for_everyone),
                             "addresses": list(lock.addresses) if lock else []},
                     after={"login": staff.login, "locked_until": None})
        uow.commit()


def staff_choices(app: App, actor: StaffActor) -> dict[int, str]:
    """For the audit filter: admins pick anyone, others only see themselves."""
    if actor.role is StaffRole.ADMIN:
        return {s.id: f"{s.name} ({s.login})" for s in list_staff(app, actor)}
    return {actor.staff_id: actor.login}
