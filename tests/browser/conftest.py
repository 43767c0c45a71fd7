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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A back office served by `streamlit run` over its own database, one per module."""
    from tests.browser.harness import served

    work = tmp_path_factory.mktemp("browser")
    with served(work) as (app, base):
        yield {"base": base, "app": app, "work": work}
