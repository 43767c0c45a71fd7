"""``python -m core db analyze``: a real process on a real database file."""
from __future__ import annotations


def test_db_analyze_command(cli_env: dict[str, str]) -> None:
    from tests.cli.test_cli import core

    assert core(cli_env, "db", "upgrade").returncode == 0
    done = core(cli_env, "db", "analyze")
    assert done.returncode == 0, done.stderr
    assert "База данных: статистика планировщика обновлена" in done.stdout
