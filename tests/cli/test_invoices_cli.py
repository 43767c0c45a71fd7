"""`python -m core invoices import FILE --provider ID` as an operator runs it."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db.models import Invoice
from tests.cli.test_cli import _app, core
from tests.factories.billing import BAD_FILE, ENERGO_FILE, VODOKANAL_FILE, energo, vodokanal

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(cli_env: dict[str, str]) -> dict[str, str]:
    """The shared environment, migrated."""
    assert core(cli_env, "db", "upgrade").returncode == 0
    return cli_env


def invoices_count(env: dict[str, str]) -> int:
    app = _app(env)
    with app.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Invoice)) or 0)


def test_import_prints_a_summary_then_a_repeat_adds_nothing(cli_env):
    provider_id, _ = vodokanal(_app(cli_env))
    first = core(cli_env, "invoices", "import", str(VODOKANAL_FILE), "--provider", str(provider_id))
    assert first.returncode == 0, first.stderr
    assert "загружен: счетов 12, строк начислений 36, на сумму 40\u00a0420,45\u00a0₽" in first.stdout
    again = core(cli_env, "invoices", "import", str(VODOKANAL_FILE), "--provider", str(provider_id))
    assert again.returncode == 0 and "уже загружен" in again.stdout
    assert invoices_count(cli_env) == 12


def test_xlsx_imports_through_the_cli(cli_env):
    provider_id, _ = energo(_app(cli_env))
    result = core(cli_env, "invoices", "import", str(ENERGO_FILE), "--provider", str(provider_id))
    assert result.returncode == 0, result.stderr
    assert invoices_count(cli_env) == 8


def test_bad_file_prints_every_bad_row_and_exits_2(cli_env):
    provider_id, _ = vodokanal(_app(cli_env))
    result = core(cli_env, "invoices", "import", str(BAD_FILE), "--provider", str(provider_id))
    assert result.returncode == 2
    assert "не загружен" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("  Строка ")]
    assert len(rows) == 13  # every bad row but the repeat of an invoice no earlier file brought
    assert "  Строка 4, «Объём»: объём не может быть отрицательным: «-3,000»" in rows
    assert "Traceback" not in result.stderr
    assert invoices_count(cli_env) == 0


@pytest.mark.parametrize("args, message", [
    (["--provider", "999"], "Поставщик не найден"),
    (["--provider", "1", "--missing"], "unrecognized arguments"),
])
def test_unknown_provider_or_arguments_exit_2(cli_env, args, message):
    vodokanal(_app(cli_env))
    result = core(cli_env, "invoices", "import", str(VODOKANAL_FILE), *args)
    assert result.returncode == 2 and message in result.stderr


def test_missing_file_exits_2_with_a_russian_message(cli_env, tmp_path):
    result = core(cli_env, "invoices", "import", str(tmp_path / "nope.csv"), "--provider", "1")
    assert result.returncode == 2 and "Файл: не удалось открыть" in result.stderr
