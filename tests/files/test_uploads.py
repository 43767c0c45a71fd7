"""The file name and checksum every upload starts with."""
from __future__ import annotations

import hashlib

import pytest

from core.errors import ValidationError
from core.files.uploads import FILE_NAME_MAX, checksum, clean_file_name


@pytest.mark.parametrize("given, kept", [
    ("C:\\Users\\fin\\Реестр  за  май.csv", "Реестр за май.csv"),
    ("/tmp/uploads/registry.xlsx", "registry.xlsx"),
    ("  plain.csv ", "plain.csv"),
    ("x" * 300 + ".csv", "x" * FILE_NAME_MAX),
])
def test_a_file_keeps_its_own_name_only(given: str, kept: str) -> None:
    assert clean_file_name(given) == kept


@pytest.mark.parametrize("empty", ["", "   ", None, "C:\\folder\\"])
def test_an_empty_name_is_refused_or_takes_the_fallback(empty) -> None:
    with pytest.raises(ValidationError, match="^Файл: не указано имя файла$"):
        clean_file_name(empty)
    assert clean_file_name(empty, fallback="реестр") == "реестр"


def test_the_checksum_is_the_sha256_of_the_bytes() -> None:
    assert checksum(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert checksum(None) == checksum(b"") == hashlib.sha256(b"").hexdigest()
