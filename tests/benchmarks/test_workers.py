"""The suite's «workers» part stays runnable: at a tiny size on PostgreSQL it measures
1 and 2 worker processes and the bare loop, and names its figures as latest.json keeps
them; on SQLite it is skipped with a word. No timing is asserted here."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from benchmarks import workers
from tests.conftest import PG_SKIP_REASON, PG_URL

FIELDS = {"name", "value", "unit", "baseline_name", "baseline_value", "ratio", "target"}


def test_the_part_is_skipped_on_sqlite(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert workers.run(f"sqlite:///{tmp_path / 'x.db'}", tmp_path) == []
    assert "PostgreSQL only" in capsys.readouterr().out


def test_the_part_runs_at_a_tiny_size_on_postgresql(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    figures = workers.run(PG_URL, tmp_path, sizes=(40, 6), processes=(1, 2))
    assert [f.name for f in figures] == [
        "workers: outbox messages sent by 1 process (40)",
        "workers: pending payments recovered by 1 process (6)",
        "workers: outbox messages sent by 2 processes (40)",
        "workers: outbox messages sent, 2 processes vs 1",
        "workers: pending payments recovered by 2 processes (6)",
        "workers: pending payments recovered, 2 processes vs 1"]
    for f in figures:
        assert set(asdict(f)) == FIELDS
        assert f.value > 0 and f.baseline_value > 0 and f.target
        assert f.ratio == pytest.approx(f.value / f.baseline_value, rel=0.05)
