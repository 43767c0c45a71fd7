"""Server secrets: the staff cookie key and the HMAC key for one-time codes.

Read from the environment first, then from the git-ignored secrets file; if the
file lacks them they are generated once and written there (created 0600; an existing
file readable by others is narrowed to 0600 with a warning on stderr), so a
fresh checkout runs without anyone inventing a key, and no key is ever in git.
"""
from __future__ import annotations

import fcntl
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core.files import private

_ENV = {"cookie_key": "STAFF_COOKIE_KEY", "hmac_key": "APP_HMAC_KEY"}


@dataclass(frozen=True)
class Secrets:
    cookie_key: str
    hmac_key: bytes


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        return {k: str(v) for k, v in tomllib.load(handle).items() if isinstance(v, str)}


def _missing(values: dict[str, str]) -> list[str]:
    return [name for name, env in _ENV.items() if not os.environ.get(env) and not values.get(name)]


def load_or_create(path: Path) -> Secrets:
    if path.exists():
        private.narrow_and_warn(path)  # one left readable by an older version or a copy
    values = _read(path)
    if _missing(values):
        with private.open_append(path) as handle:
            # Two processes started at once on a fresh install (two dashboards, the
            # worker) must end with one key each, not each its own: the file is locked
            # and read again before anything is generated. Without it both appended a
            # key (their codes and cookies failed in the other process) and the file
            # held each name twice, which TOML refuses at the next start.
            fcntl.flock(handle, fcntl.LOCK_EX)
            values = _read(path)
            for name in _missing(values):
                values[name] = secrets.token_urlsafe(48)
                handle.write(f'{name} = "{values[name]}"\n')
    cookie_key = os.environ.get(_ENV["cookie_key"]) or values["cookie_key"]
    hmac_key = os.environ.get(_ENV["hmac_key"]) or values["hmac_key"]
    return Secrets(cookie_key=cookie_key, hmac_key=hmac_key.encode())
