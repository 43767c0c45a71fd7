"""What every file upload starts with: the file's name as we keep it, and its checksum (the
file's identity when the same file is sent twice)."""
from __future__ import annotations

import hashlib

from core.errors import ValidationError
from core.text import refuse_control_characters

FILE_NAME_MAX = 255


def clean_file_name(file_name: str | None, *, fallback: str | None = None) -> str:
    """The name without its folders (Windows or POSIX), blanks collapsed, at most
    ``FILE_NAME_MAX`` characters. An empty name becomes ``fallback``, or is refused
    («Файл: не указано имя файла») when there is none."""
    typed = refuse_control_characters(file_name, "Файл", "file")
    name = " ".join(typed.replace("\\", "/").rsplit("/", 1)[-1].split())
    if not name:
        if fallback is None:
            raise ValidationError("Файл", "не указано имя файла", field="file")
        name = fallback
    return name[:FILE_NAME_MAX]


def checksum(data: bytes | None) -> str:
    """SHA-256 of the file's bytes, as stored beside every loaded file."""
    return hashlib.sha256(data or b"").hexdigest()
