"""Server secrets: the staff cookie key and the HMAC key for one-time codes.

Read from the environment first, then from the git-ignored secrets file; if the
file lacks them they are generated once and written there (created 0600; an existing
file readable by others is narrowed to 0600 with a warning on stderr), so a
fresh checkout runs without anyone inventing a key, and no key is ever in git.
"""
from __future__ import annotations

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


def load_or_create(path: Path) -> Secrets:
    values: dict[str, str] = {}
    if path.exists():
        private.narrow_and_warn(path)  # one left readable by an older version or a copy
        with path.open("rb") as handle:
            values = {k: str(v) for k, v in tomllib.load(handle).items() if isinstance(v, str)}
    missing = [name for name, env in _ENV.items() if not os.environ.get(env) and not values.get(name)]
    if missing:
        with private.open_append(path) as handle:
            for name in missing:
                values[name] = secrets.token_urlsafe(48)
                handle.write(f'{name} = "{values[name]}"\n')
    cookie_key = os.environ.get(_ENV["cookie_key"]) or values["cookie_key"]
    hmac_key = os.environ.get(_ENV["hmac_key"]) or values["hmac_key"]
    return Secrets(cookie_key=cookie_key, hmac_key=hmac_key.encode())
