"""Files only the service's own user may read: the secrets file, the SQLite database and the
SMS/e-mail sinks, which all hold secrets or personal data.

Each is created with mode 0600 from its first byte (``os.open`` with the mode, so there is
no moment when it exists readable by all, whatever the umask), and one found with group or
other bits (made by an older version, or copied in) is narrowed to 0600 with a warning.
"""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import IO

PRIVATE = 0o600


def narrow(path: Path) -> str | None:
    """Set an existing ``path`` to 0600. Returns the warning to show the operator when it was
    wider (in Russian: it goes to the console of whoever runs the service), else None."""
    try:
        before = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if not before & 0o077:
        return None
    try:
        os.chmod(path, PRIVATE)
    except OSError as error:
        return (f"Внимание: {path} доступен не только владельцу ({before:04o}), "
                f"сузить права до 0600 не удалось: {error.strerror}")
    return (f"Внимание: {path} был доступен не только владельцу ({before:04o}); "
            "права сужены до 0600")


def narrow_and_warn(path: Path) -> None:
    """``narrow`` with its warning written to stderr."""
    warning = narrow(path)
    if warning:
        print(warning, file=sys.stderr)


def create_empty(path: Path) -> bool:
    """Create ``path`` empty with 0600 unless it exists; True when it was created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    except FileExistsError:
        return False
    return True


def open_append(path: Path) -> IO[str]:
    """``path`` opened for appending UTF-8 text, created with 0600 if absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE)
    return os.fdopen(descriptor, "a", encoding="utf-8")
