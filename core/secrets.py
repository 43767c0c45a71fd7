"""Server secrets: the staff cookie key and the HMAC key for one-time codes.

Read from the environment first, then from the git-ignored secrets file; if the
file lacks them they are generated once and written there (mode 0600), so a
fresh checkout runs without anyone inventing a key, and no key is ever in git.
"""
from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

_ENV = {"cookie_key": "STAFF_COOKIE_KEY", "hmac_key": "APP_HMAC_KEY"}


@dataclass(frozen=True)
class Secrets:
    cookie_key: str
    hmac_key: bytes


def load_or_create(path: Path) -> Secrets:
    values: dict[str, str] = {}
    if path.exists():
        with path.open("rb") as handle:
            values = {k: str(v) for k, v in tomllib.load(handle).items() if isinstance(v, str)}
    missing = [name for name, env in _ENV.items() if not os.environ.get(env) and not values.get(name)]
    if missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            for name in missing:
                values[name] = secrets.token_urlsafe(48)
                handle.write(f'{name} = "{values[name]}"\n')
        os.chmod(path, 0o600)
    cookie_key = os.environ.get(_ENV["cookie_key"]) or values["cookie_key"]
    hmac_key = os.environ.get(_ENV["hmac_key"]) or values["hmac_key"]
    return Secrets(cookie_key=cookie_key, hmac_key=hmac_key.encode())
