"""The SQLite database and the SMS/e-mail sinks hold personal data and codes: only the
service's own user may read them, from their first byte on."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import text

from core.db.engine import make_engine
from core.notifications.senders import LogFileSender, OutgoingMessage


def mode(path) -> int:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # what makes a plain open() give 0644
    yield
    os.umask(previous)


def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path):
    path = tmp_path / "data" / "app.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        files = sorted(p.name for p in path.parent.iterdir())
        modes = {p.name: mode(p) for p in path.parent.iterdir()}
    engine.dispose()
    assert files == ["app.db", "app.db-shm", "app.db-wal"]
    assert modes == dict.fromkeys(files, 0o600)


def test_an_existing_database_readable_by_others_is_narrowed_with_a_warning(tmp_path, capsys):
    path = tmp_path / "app.db"
    make_engine(f"sqlite:///{path}").dispose()
    os.chmod(path, 0o644)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
    assert mode(path) == 0o600
    assert f"{path} был доступен не только владельцу (0644)" in capsys.readouterr().err


def _message(message_id: int) -> OutgoingMessage:
    return OutgoingMessage(message_id, "sms", "+79991234567", None,
                           "Код активации личного кабинета: 1234.", datetime(2026, 12, 2))


def test_the_sms_sink_is_created_private(tmp_path):
    path = tmp_path / "notify" / "sms.log"
    LogFileSender(path, datetime.now).send(_message(1))
    assert mode(path) == 0o600 and "1234" in path.read_text("utf-8")


def test_an_sms_sink_readable_by_others_is_narrowed_and_appended_to(tmp_path, capsys):
    path = tmp_path / "sms.log"
    LogFileSender(path, datetime.now).send(_message(1))
    os.chmod(path, 0o644)
    LogFileSender(path, datetime.now).send(_message(2))
    assert mode(path) == 0o600
    assert len(path.read_text("utf-8").splitlines()) == 2
    assert "0644" in capsys.readouterr().err


def test_the_simulated_banks_state_file_is_private(tmp_path, clock):  # type: ignore[no-untyped-def]
    from core.payments.simulator_store import FileBackedSimulator

    path = tmp_path / "acquirer.db"
    FileBackedSimulator(path, clock).make_next_payment_decline("insufficient_funds")
    assert mode(path) == 0o600  # it keeps one-time passwords and card tokens
    os.chmod(path, 0o644)
    FileBackedSimulator(path, clock)
    assert mode(path) == 0o600
