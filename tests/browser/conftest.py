"""The browser every real-browser test module shares (one Chromium per module)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Imported here: the harness skips its importer where chromium or playwright is
    # missing, which must skip the test modules, not break this conftest.
    from tests.browser.harness import chromium

    with chromium() as instance:
        yield instance
