"""The CLI runs as an operator runs it: a real process on a real database file."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
                APP_SECRETS_FILE=str(tmp_path / "secrets.toml"), APP_FAST_HASHING="1",
                NOTIFY_LOG_DIR=str(tmp_path),
                # The simulated bank of this test, not the demo's data/acquirer.db.
                GATEWAY_STATE_FILE=str(tmp_path / "acquirer.db"))
