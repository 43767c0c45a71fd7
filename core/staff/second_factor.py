"""The staff second factor, as the member meets it: the steps a login owes after the
password (a TOTP or recovery code, replacing a temporary password, enrolling), and, once
logged in, enrolling by choice and new recovery codes. Administrators and finance must
have one (``permissions.SECOND_FACTOR_REQUIRED``); others may.

A login's pending session (``members.login`` with ``pending``) carries the step; each
step here is found by the session token, so nobody reaches it without the password.
A wrong code counts toward the same login lockout as a wrong password (per address and
overall) and is journaled; reaching the lock ends the pending session.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.actors import ActorKind, StaffActor
from core.app import App
from core.customers.errors import SessionInvalid
from core.db.models import StaffSession, StaffUser
from core.errors import ValidationError
from core.security import codes, throttle
from core.security.errors import LoginLocked
from core.staff import audit, members, totp
from core.staff.errors import SecondFactorFailed, SecondFactorState
from core.text import refuse_control_characters
from core.timefmt import format_datetime_msk


@dataclass(frozen=True)
class Enrolment:
    """Shown once, while enrolling: the secret (for typing by hand), its otpauth:// URI and
    the URI as a QR code (PNG). Never read back after the confirmation."""

    secret: str
    uri: str
    qr_png: bytes


@dataclass(frozen=True)
class Status:
    enrolled: bool
    required: bool
    recovery_codes_left: int


def _session(s: Session, token: str, now: datetime, step: str | None) -> StaffSession:
    """The live session of ``token`` owing ``step`` (None: an open session)."""
    row = s.scalar(select(StaffSession).where(
        StaffSession.token_hash == codes.token_digest(token or "")))
    if row is None or row.ended_at is not None or not row.staff.is_active:
        raise SessionInvalid()
    if row.pending is not None and now - row.created_at > members.PENDING_LIFETIME:
        raise SessionInvalid(members.END_MESSAGES["step_timeout"])
    if row.pending != step:
        raise SessionInvalid("Сеанс завершён: войдите снова")
    return row


def _advance(s: Session, row: StaffSession, staff: StaffUser, now: datetime,
             factor: str) -> str | None:
    """The step after this one; the session opens (journaled as the login) when none."""
    row.pending = members.next_step(staff, factor_done=True)
    if row.pending is None:
        row.last_seen_at = now
        staff.last_seen_at = now
        audit.record(s, at=now, action="staff.login",
                     actor=StaffActor(staff.id, staff.login, staff.role),
                     after={"via": row.origin, "second_factor": factor})
    return row.pending


def submit_code(app: App, token: str, code: str,
                client_address: str | None = None) -> str | None:
    """The login's second step: a TOTP code of the member's app, or a recovery code (each
    once). Returns the next step, None when the session is open."""
    now = app.now()
    address = throttle.address_key(client_address)
    key = app.secrets.hmac_key
    with app.uow() as uow:
        s = uow.session
        row = _session(s, token, now, "totp")
        staff = row.staff
        members.ensure_login_not_locked(s, staff.login, address, now)
        factor = None
        if totp.looks_like_totp(code):
            factor = "totp" if totp.accept_code(s, key, staff, code, now) else None
        elif totp.use_recovery_code(s, key, staff.id, code, now):
            factor = "recovery"
        if factor is None:
            locked = members.register_login_failure(s, app.settings, staff.login, address, now)
            audit.record(s, at=now, action="staff.totp_failed", actor_kind=ActorKind.STAFF,
                         actor_label=staff.login,
                         after={"address": address, **({"locked": locked} if locked else {})},
                         result="refused")
            if locked:  # back to the password, which the lock now refuses
                row.ended_at, row.end_reason = now, "locked"
            uow.commit()
            if locked:
                lock = timedelta(minutes=app.settings.staff_login_lock_minutes)
                raise LoginLocked(format_datetime_msk(now + lock))
            raise SecondFactorFailed()
        throttle.register_success(s, members.THROTTLE_SCOPE, staff.login, address)
        if factor == "recovery":
            audit.record(s, at=now, action="staff.recovery_used",
                         actor=StaffActor(staff.id, staff.login, staff.role),
                         after={"left": totp.recovery_codes_left(s, staff.id)})
        step = _advance(s, row, staff, now, factor)
        uow.commit()
        return step


def change_temporary_password(app: App, token: str, new_password: str,
                              repeated: str) -> str | None:
    """The login's step after an administrator's reset: a password of the member's own.
    Returns the next step (enrolment, for a role that requires it), None when open."""
    value = members.validate_staff_password(new_password, "Новый пароль")
    if repeated != new_password:
        raise ValidationError("Повтор пароля", "не совпадает с новым паролем", field="repeat")
    now = app.now()
    with app.uow(write=False) as uow:
        staff = _session(uow.session, token, now, "password").staff
        if app.staff_hasher.verify(staff.password_hash, value):
            raise ValidationError("Новый пароль", "должен отличаться от временного",
                                  field="password")
    password_hash = app.staff_hasher.hash(value)
    with app.uow() as uow:
        s = uow.session
        row = _session(s, token, now, "password")
        staff = row.staff
        staff.password_hash = password_hash
        staff.must_change_password = False
        # The reset voided every session and cookie before it; any other login with the
        # temporary password since (another tab) ends now, this one goes on.
        s.execute(update(StaffSession).where(StaffSession.staff_id == staff.id,
                                             StaffSession.id != row.id,
                                             StaffSession.ended_at.is_(None))
                  .values(ended_at=now, end_reason="password_change"))
        actor = StaffActor(staff.id, staff.login, staff.role)
        audit.record(s, at=now, action="staff.password_change", actor=actor,
                     after={"login": staff.login, "temporary_replaced": True})
        step = _advance(s, row, staff, now, "totp" if staff.totp_secret_enc else "none")
        uow.commit()
        return step


def _enrolling_session(s: Session, token: str, now: datetime) -> StaffSession:
    """A login owing its enrolment, or an open session (enrolling by choice)."""
    row = s.scalar(select(StaffSession).where(
        StaffSession.token_hash == codes.token_digest(token or "")))
    return _session(s, token, now, "enrol" if row is not None and row.pending else None)


def start_enrolment(app: App, token: str) -> Enrolment:
    """A new secret for the member to scan (kept encrypted as the one being enrolled);
    starting again replaces it."""
    now = app.now()
    secret = totp.new_secret()
    with app.uow() as uow:
        s = uow.session
        staff = _enrolling_session(s, token, now).staff
        if staff.totp_secret_enc:
            raise SecondFactorState("Двухфакторный вход уже подключён; чтобы подключить "
                                    "другой телефон, попросите администратора сбросить его")
        staff.totp_pending_enc = totp.encrypt_secret(app.secrets.hmac_key, secret)
        uow.commit()
        login = staff.login
    uri = totp.provisioning_uri(secret, login)
    return Enrolment(secret=secret, uri=uri, qr_png=totp.qr_png(uri))


def confirm_enrolment(app: App, token: str, code: str) -> list[str]:
    """The first code from the app proves it holds the secret: the second factor is on,
    and the ten recovery codes are returned, to be shown once. A login owing its
    enrolment opens."""
    code = refuse_control_characters(code, "Код", "code")
    now = app.now()
    key = app.secrets.hmac_key
    with app.uow() as uow:
        s = uow.session
        row = _enrolling_session(s, token, now)
        staff = row.staff
        secret = totp.decrypt_secret(key, staff.totp_pending_enc) \
            if staff.totp_pending_enc else None
        if secret is None:
            raise SecondFactorState("Сначала начните подключение: отсканируйте новый QR-код")
        step = totp.matching_step(secret, code, now)
        if step is None:
            raise SecondFactorFailed()
        staff.totp_secret_enc = staff.totp_pending_enc
        staff.totp_pending_enc = None
        staff.totp_enrolled_at = now
        staff.totp_last_step = step  # the code just typed opens nothing again
        recovery = totp.new_recovery_codes(s, key, staff.id, now)
        audit.record(s, at=now, action="staff.totp_enrol",
                     actor=StaffActor(staff.id, staff.login, staff.role),
                     after={"login": staff.login, "recovery_codes": len(recovery)})
        if row.pending == "enrol":  # the login ends with the app's first code
            _advance(s, row, staff, now, "totp")
        uow.commit()
        return recovery


def regenerate_recovery_codes(app: App, actor: StaffActor, code: str) -> list[str]:
    """New recovery codes for a logged-in member, behind a current TOTP code: every older
    code stops working."""
    now = app.now()
    key = app.secrets.hmac_key
    with app.uow() as uow:
        s = uow.session
        staff = s.get(StaffUser, actor.staff_id)
        if staff is None or not staff.totp_secret_enc:
            raise SecondFactorState("Двухфакторный вход не подключён")
        if not totp.accept_code(s, key, staff, code, now):
            raise SecondFactorFailed()
        recovery = totp.new_recovery_codes(s, key, staff.id, now)
        audit.record(s, at=now, action="staff.recovery_regenerate", actor=actor,
                     after={"login": staff.login, "recovery_codes": len(recovery)})
        uow.commit()
        return recovery


def status(app: App, actor: StaffActor) -> Status:
    with app.uow(write=False) as uow:
        staff = uow.session.get(StaffUser, actor.staff_id)
        left = totp.recovery_codes_left(uow.session, actor.staff_id)
        enrolled = bool(staff and staff.totp_secret_enc)
    return Status(enrolled=enrolled, required=totp.required(actor.role),
                  recovery_codes_left=left if enrolled else 0)


def enrol_known_secret(app: App, staff_id: int, secret: str) -> None:
    """The operator's enrolment with a secret chosen outside (the demo's, printed in the
    README): no code to confirm and no recovery codes. Journaled as the system's."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        staff = s.get(StaffUser, staff_id)
        if staff is None:
            raise SecondFactorState("Сотрудник не найден")
        staff.totp_secret_enc = totp.encrypt_secret(app.secrets.hmac_key, secret)
        staff.totp_pending_enc = None
        staff.totp_enrolled_at = now
        audit.record(s, at=now, action="staff.totp_enrol", actor_kind=ActorKind.SYSTEM,
                     after={"login": staff.login, "recovery_codes": 0})
        uow.commit()
