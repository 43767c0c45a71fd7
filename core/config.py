"""Settings from the environment, with defaults that run the demo out of the box.

| variable | meaning | default |
|---|---|---|
| DATABASE_URL | any SQLAlchemy URL | sqlite:///data/app.db |
| APP_SECRETS_FILE | TOML file with cookie_key and hmac_key | .streamlit/secrets.toml |
| STAFF_COOKIE_KEY / APP_HMAC_KEY | override the secrets file | — |
| PASSWORD_MIN_LENGTH | customers' minimum password length | 6 |
| NOTIFY_LOG_DIR | where the log-file SMS and e-mail sinks write | data/ |
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
class Settings:
    database_url: str
    secrets_file: Path
    notify_log_dir: Path
    password_min_length: int = 6
    password_max_length: int = 128
    hashing: HashingCost = field(default_factory=HashingCost)
    # Staff sessions end after this much inactivity; the password is asked again.
    staff_idle_minutes: int = 15
    # Cookie life of the staff login (streamlit-authenticator's re-login cookie).
    staff_cookie_days: float = 1.0


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
    )
