"""Settings from the environment, with defaults that run the demo out of the box.

| variable | meaning | default |
|---|---|---|
| DATABASE_URL | any SQLAlchemy URL | sqlite:///data/app.db |
| APP_SECRETS_FILE | TOML file with cookie_key and hmac_key | .streamlit/secrets.toml |
| STAFF_COOKIE_KEY / APP_HMAC_KEY | override the secrets file | — |
| PASSWORD_MIN_LENGTH | customers' minimum password length | 6 |
| NOTIFY_LOG_DIR | where the log-file SMS and e-mail sinks write | data/ |
| SMTP_HOST | send e-mail through this SMTP server (unset: the log-file sink) | — |
| SMTP_PORT | its port | 587 with TLS, 465 with SSL, else 25 |
| SMTP_USER / SMTP_PASSWORD / SMTP_FROM | login, password, From address | —, —, noreply@localhost |
| SMTP_TLS / SMTP_SSL | STARTTLS, or SSL from the first byte (1/true/yes) | off |
| SMTP_TIMEOUT | seconds to wait for the server | 10 |
| PAYMENT_MAX_RUB | the largest payment a customer may make, rubles | 500000 |
| REFUND_APPROVAL_RUB | refunds above this wait for a second finance user (four-eyes) | 10000 |
| ACTIVATION_WRONG_CODES_PER_DAY | wrong activation codes a cabinet may enter in 24 hours, across codes | 10 |
| ACTIVATION_SMS_PER_DAY | activation codes sent to one phone in 24 hours | 5 |
| CABINET_URL | the customer cabinet's address as staff browsers reach it («Смотреть как клиент» links there) | http://localhost:8502 |
| GATEWAY_STATE_FILE | where the acquirer simulator keeps its state, shared by the dashboard and the worker | data/acquirer.db |
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTACT_CENTER_PHONE = "8 800 100 39 00"
USER_AGREEMENT_VERSION = "2026-01"


@dataclass(frozen=True)
class HashingCost:
    """Argon2id/bcrypt work factors. Production defaults; tests lower them for speed."""

    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 65536
    argon2_parallelism: int = 2
    bcrypt_rounds: int = 12


FAST_HASHING = HashingCost(argon2_time_cost=1, argon2_memory_cost_kib=1024,
                           argon2_parallelism=1, bcrypt_rounds=4)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None = field(default=None, repr=False)
    sender_address: str = "noreply@localhost"
    use_tls: bool = False  # STARTTLS after connecting (usually port 587)
    use_ssl: bool = False  # TLS from the first byte (usually port 465)
    timeout: float = 10.0


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def load_smtp_settings() -> SmtpSettings | None:
    """SMTP from the environment; None (the log-file sink) unless SMTP_HOST is set."""
    host = os.environ.get("SMTP_HOST", "").strip()
    if not host:
        return None
    use_tls, use_ssl = _flag("SMTP_TLS"), _flag("SMTP_SSL")
    if use_tls and use_ssl:
        raise ValueError("SMTP_TLS and SMTP_SSL exclude each other: set one of them")
    port = os.environ.get("SMTP_PORT", "").strip()
    return SmtpSettings(
        host=host, port=int(port) if port else (465 if use_ssl else 587 if use_tls else 25),
        user=os.environ.get("SMTP_USER") or None,
        password=os.environ.get("SMTP_PASSWORD") or None,
        sender_address=os.environ.get("SMTP_FROM") or "noreply@localhost",
        use_tls=use_tls, use_ssl=use_ssl,
        timeout=float(os.environ.get("SMTP_TIMEOUT") or 10))


@dataclass(frozen=True)
class Settings:
    database_url: str
    secrets_file: Path
    notify_log_dir: Path
    password_min_length: int = 6
    password_max_length: int = 128
    hashing: HashingCost = field(default_factory=HashingCost)
    # Staff sessions end after this much inactivity; the password is asked again.
    staff_idle_minutes: int = 15
    # Cookie life of the staff login (streamlit-authenticator's re-login cookie): a shift.
    # Scripts can read it (the library sets it from the page), so it is short and bound
    # to the client that logged in (core.staff.client_binding).
    staff_cookie_days: float = 0.5
    # Wrong staff passwords, counted over staff_login_window_minutes, each limit locking for
    # staff_login_lock_minutes: one login from one client address (that address only is
    # locked out of it); one address over all logins (that address is locked out of every
    # login); one login from all addresses together (locked for everyone: with the first
    # limit this takes several addresses, i.e. a spread attack; an admin can lift it).
    staff_login_failures_per_address: int = 5
    staff_address_failures: int = 20
    staff_login_failures_total: int = 20
    staff_login_window_minutes: int = 30
    staff_login_lock_minutes: int = 30
    # E-mail goes through this SMTP server when set, else to the log-file sink.
    smtp: SmtpSettings | None = None
    # The largest payment, kopecks (the smallest is 1 ₽: core.payments.amounts.MIN_PAYMENT).
    payment_max_kopecks: int = 500_000_00
    # Refunds above this (kopecks) wait for a second finance user's approval.
    refund_approval_kopecks: int = 10_000_00
    # The acquirer simulator's state file; None keeps it in memory (tests: one process).
    gateway_state_file: Path | None = None
    # A 4-digit code has 10,000 values: over any 24 hours a cabinet may enter this many
    # wrong codes in all (each code also allows only 5), then waits for the oldest to age out.
    activation_wrong_codes_per_day: int = 10
    # Activation SMS to one phone in any 24 hours, the first one included.
    activation_sms_per_day: int = 5
    # Where staff browsers reach the customer cabinet: «Смотреть как клиент» links there.
    cabinet_url: str = "http://localhost:8502"


def default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'data' / 'app.db'}"


def load_settings() -> Settings:
    hashing = HashingCost()
    if os.environ.get("APP_FAST_HASHING") == "1":  # demo seeding and tests only
        hashing = FAST_HASHING
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or default_database_url(),
        secrets_file=Path(os.environ.get("APP_SECRETS_FILE")
                          or PROJECT_ROOT / ".streamlit" / "secrets.toml"),
        notify_log_dir=Path(os.environ.get("NOTIFY_LOG_DIR") or PROJECT_ROOT / "data"),
        password_min_length=int(os.environ.get("PASSWORD_MIN_LENGTH", "6")),
        hashing=hashing,
        smtp=load_smtp_settings(),
        payment_max_kopecks=int(os.environ.get("PAYMENT_MAX_RUB", "500000")) * 100,
        refund_approval_kopecks=int(os.environ.get("REFUND_APPROVAL_RUB", "10000")) * 100,
        gateway_state_file=Path(os.environ.get("GATEWAY_STATE_FILE")
                                or PROJECT_ROOT / "data" / "acquirer.db"),
        activation_wrong_codes_per_day=int(os.environ.get("ACTIVATION_WRONG_CODES_PER_DAY",
                                                          "10")),
        activation_sms_per_day=int(os.environ.get("ACTIVATION_SMS_PER_DAY", "5")),
        cabinet_url=(os.environ.get("CABINET_URL") or "http://localhost:8502").rstrip("/"),
    )
