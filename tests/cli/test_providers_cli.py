"""`python -m core providers ...` as an operator runs it: a real process, a real database."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db.models import Provider, ProviderAccount, RegistryFile
from tests.cli.test_cli import _app, core

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
ADD = ["providers", "add", "--name", "МУП «Пермводоканал»", "--inn", "7707083893",
       "--phone", "8 800 100-39-00", "--kind", "water", "--pattern", r"\d{10}",
       "--hint", "10 цифр", "--commission", "1,5", "--commission-min", "10"]


def _count(env, model) -> int:  # type: ignore[no-untyped-def]
    with _app(env).uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)))


@pytest.fixture
def water(cli_env):  # type: ignore[no-untyped-def]
    assert core(cli_env, "db", "upgrade").returncode == 0
    result = core(cli_env, *ADD)
    assert result.returncode == 0, result.stderr
    assert "Поставщик «МУП «Пермводоканал»» добавлен, id 1" in result.stdout
    return cli_env


def test_add_then_list_shows_the_rule_and_commission(water):
    listed = core(water, "providers", "list")
    assert listed.returncode == 0, listed.stderr
    assert "МУП «Пермводоканал»" in listed.stdout and "ИНН 7707083893" in listed.stdout
    assert "10 цифр, например 1234567890" in listed.stdout
    assert "1,5\u00a0%, не менее 10,00\u00a0₽" in listed.stdout


def test_add_with_flags(water):
    result = core(water, "providers", "add", "--name", "Газ", "--inn", "7736050003",
                  "--phone", "+7 342 212-00-00", "--kind", "gas", "--pattern", r"\d{8}",
                  "--hint", "8 цифр", "--no-invoicing", "--ownership-proof")
    assert result.returncode == 0, result.stderr
    with _app(water).uow(write=False) as uow:
        gas = uow.session.scalar(select(Provider).where(Provider.name == "Газ"))
    assert (gas.invoicing_enabled, gas.ownership_proof, gas.commission_bp) == (False, True, 0)


@pytest.mark.parametrize("change, message", [
    (("--inn", "7707083894"), "ИНН: неверная контрольная цифра"),
    (("--pattern", "(\\d"), "Правило номера счёта: это не регулярное выражение"),
    (("--kind", "beer"), "Вид услуг: один из"),
    (("--commission", "abc"), "Комиссия, %:"),
])
def test_add_refuses_bad_input_in_russian(cli_env, change, message):
    core(cli_env, "db", "upgrade")
    args = list(ADD)
    args[args.index(change[0]) + 1] = change[1]
    result = core(cli_env, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert _count(cli_env, Provider) == 0


def test_import_register_shows_progress_and_a_summary(water):
    path = SAMPLES / "accounts_vodokanal.csv"
    result = core(water, "providers", "import-register", str(path), "--provider", "1")
    assert result.returncode == 0, result.stderr
    assert "Реестр загружен: строк 30, новых счетов 30" in result.stdout
    assert "Реестр" in result.stderr and "30/30" in result.stderr  # the tqdm bar
    again = core(water, "providers", "import-register", str(path), "--provider", "1")
    assert again.returncode == 0 and "уже был загружен" in again.stdout
    assert _count(water, ProviderAccount) == 30 and _count(water, RegistryFile) == 1


def test_import_register_xlsx_and_cp1251(water):
    result = core(water, "providers", "add", "--name", "Теплосеть", "--inn", "7736050003",
                  "--phone", "+7 342 212-00-00", "--kind", "heating", "--pattern", r"\d{8}",
                  "--hint", "8 цифр")
    assert result.returncode == 0, result.stderr
    teplo = core(water, "providers", "import-register",
                 str(SAMPLES / "accounts_teplo_cp1251.csv"), "--provider", "2")
    assert teplo.returncode == 0 and "новых счетов 25" in teplo.stdout


def test_refused_register_prints_every_bad_row_and_exits_2(water):
    result = core(water, "providers", "import-register", str(SAMPLES / "accounts_bad.csv"),
                  "--provider", "1")
    assert result.returncode == 2
    assert "не принят, ничего не сохранено" in result.stdout
    assert "Строка 3, «Лицевой счёт»: 10 цифр, например 1234567890" in result.stdout
    assert "Строка 5, «Адрес»: обязательное поле" in result.stdout
    assert "Строка 9, «ФИО плательщика»" in result.stdout
    assert _count(water, ProviderAccount) == 0 and _count(water, RegistryFile) == 0


@pytest.mark.parametrize("args, message", [
    (("/nonexistent/file.csv", "--provider", "1"), "Файл: не удалось открыть"),
    ((str(SAMPLES / "accounts_vodokanal.csv"), "--provider", "9"), "Поставщик не найден"),
])
def test_import_register_errors(water, args, message):
    result = core(water, "providers", "import-register", *args)
    assert result.returncode == 2 and message in result.stderr
