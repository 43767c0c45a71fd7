"""The mechanics of the staff second factor: TOTP secrets (RFC 6238, 30-second steps,
6 digits), their QR code, and one-time recovery codes. No commits: the use cases in
``second_factor`` and ``members`` call these inside their own transaction.

The secret is stored Fernet-encrypted under a key derived from the server's HMAC key
(``core.secrets``) for this purpose only, so a copy of the database alone yields no
working code; it is shown once, while being enrolled, and never again. A code is
accepted for its own step or one either side (clock drift), and never for a step at
or before the last one accepted (a replayed or older code). Recovery codes are random,
kept only as HMACs (as ``core.security.codes`` keeps one-time codes), each used once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.actors import StaffRole
from core.db.models import StaffRecoveryCode, StaffUser
from core.security import codes
from core.staff.permissions import SECOND_FACTOR_REQUIRED

ISSUER = "Бэк-офис ЛК ЖКХ"
STEP_SECONDS = 30
DIGITS = 6
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_LENGTH = 10  # about 49 bits each, written as two groups of five
_RECOVERY_PURPOSE = "staff_recovery"


def required(role: StaffRole) -> bool:
    return role in SECOND_FACTOR_REQUIRED


def _fernet(hmac_key: bytes) -> Fernet:
    derived = hmac.new(hmac_key, b"staff-totp-secret-v1", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(hmac_key: bytes, secret: str) -> str:
    return _fernet(hmac_key).encrypt(secret.encode()).decode()


def decrypt_secret(hmac_key: bytes, stored: str) -> str | None:
    """None when the server key changed since enrolment (the member must enrol again)."""
    try:
        return _fernet(hmac_key).decrypt(stored.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits, as RFC 4226 advises


def provisioning_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=login, issuer_name=ISSUER)


def qr_png(uri: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


def step_of(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(step * STEP_SECONDS)


def clean_code(raw: str) -> str:
    """What was typed, without the spaces and dashes people put in a code."""
    return "".join(ch for ch in (raw or "") if ch not in " -\t").lower()[:40]


def looks_like_totp(raw: str) -> bool:
    code = clean_code(raw)
    return len(code) == DIGITS and code.isdigit()


def matching_step(secret: str, raw: str, now: datetime) -> int | None:
    """The step (of now and one either side) whose code was typed, or None."""
    code = clean_code(raw)
    if len(code) != DIGITS or not code.isdigit():
        return None
    current = step_of(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def accept_code(s: Session, hmac_key: bytes, staff: StaffUser, raw: str,
                now: datetime) -> bool:
    """A valid TOTP code of a step later than the last accepted one; the step is taken by
    a conditional update, so two tabs sending the same code cannot both pass."""
    if not staff.totp_secret_enc:
        return False
    secret = decrypt_secret(hmac_key, staff.totp_secret_enc)
    step = matching_step(secret, raw, now) if secret else None
    if step is None or (staff.totp_last_step is not None and step <= staff.totp_last_step):
        return False
    taken = s.execute(update(StaffUser).where(
        StaffUser.id == staff.id,
        (StaffUser.totp_last_step.is_(None)) | (StaffUser.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return False
    staff.totp_last_step = step
    return True


def _recovery_hash(hmac_key: bytes, staff_id: int, code: str) -> str:
    return codes.code_hash(hmac_key, _RECOVERY_PURPOSE, staff_id, 0, code)


def new_recovery_codes(s: Session, hmac_key: bytes, staff_id: int, now: datetime) -> list[str]:
    """Ten fresh codes, as shown to the member once; every older code stops working."""
    s.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff_id))
    shown = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        shown.append(f"{raw[:5]}-{raw[5:]}")
        s.add(StaffRecoveryCode(staff_id=staff_id, code_hash=_recovery_hash(hmac_key, staff_id, raw),
                                created_at=now))
    s.flush()
    return shown


def use_recovery_code(s: Session, hmac_key: bytes, staff_id: int, raw: str,
                      now: datetime) -> bool:
    code = clean_code(raw)
    if len(code) != _RECOVERY_LENGTH:
        return False
    used = s.execute(update(StaffRecoveryCode).where(
        StaffRecoveryCode.staff_id == staff_id,
        StaffRecoveryCode.code_hash == _recovery_hash(hmac_key, staff_id, code),
        StaffRecoveryCode.used_at.is_(None)).values(used_at=now)
        .execution_options(synchronize_session=False))
    return used.rowcount == 1  # type: ignore[attr-defined]


def recovery_codes_left(s: Session, staff_id: int) -> int:
    return s.scalar(select(func.count()).select_from(StaffRecoveryCode).where(
        StaffRecoveryCode.staff_id == staff_id, StaffRecoveryCode.used_at.is_(None))) or 0


def forget(s: Session, staff: StaffUser) -> None:
    """No second factor any more (an administrator's reset): enrolment starts afresh."""
    staff.totp_secret_enc = None
    staff.totp_pending_enc = None
    staff.totp_enrolled_at = None
    staff.totp_last_step = None
    s.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))
