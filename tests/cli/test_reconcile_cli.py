"""`python -m core reconcile FILE [--profile NAME]` as a scheduler runs it: the summary,
the exit code (0 matched, 1 discrepancies, 2 refused) and the run stored as the system's."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.actors import ActorKind, StaffRole
from core.cli import main
from core.db.models import (AuditEntry, BankProfileRecord, Payment, ReconciliationRun,
                            StaffUser)
from core.finance.bank_registry import write_registry_csv
from core.payments import gateway as g
from tests.cli.test_cli import _app
from tests.factories.billing import water_provider

TXN = "sim-cli-000001"


@pytest.fixture
def env(cli_env, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    for key in ("DATABASE_URL", "APP_SECRETS_FILE", "APP_FAST_HASHING", "NOTIFY_LOG_DIR",
                "GATEWAY_STATE_FILE"):
        monkeypatch.setenv(key, cli_env[key])
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    return cli_env


def _paid(env) -> g.SettlementLine:  # type: ignore[no-untyped-def]
    """One payment of 1 234,56 ₽ + 12,35 ₽ commission that succeeded yesterday, and the
    bank's line of it."""
    app = _app(env)
    at = app.now() - timedelta(days=1)
    with app.uow() as uow:
        s = uow.session
        provider = water_provider(at)
        s.add(provider)
        s.flush()
        s.add(Payment(idempotency_key="cli-reconcile", request_fingerprint="f" * 64,
                      provider_id=provider.id, account_number="1234567890", amount=123_456,
                      commission=1_235, status="succeeded", refunded_amount=0, created_at=at,
                      updated_at=at, finalized_at=at, rrn="600000000001",
                      gateway_txn_id=TXN, masked_pan="411111******1111"))
        uow.commit()
    app.engine.dispose()
    return g.SettlementLine(TXN, "600000000001", "411111******1111", 124_691,
                            g.Operation.PAYMENT, at)


def _runs(env):  # type: ignore[no-untyped-def]
    app = _app(env)
    with app.uow(write=False) as uow:
        runs = list(uow.session.scalars(select(ReconciliationRun).order_by(ReconciliationRun.id)))
        journal = list(uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "reconciliation.run")))
    app.engine.dispose()
    return runs, journal


def test_a_matching_file_exits_0_and_the_run_is_the_command_lines(env, tmp_path, capsys):
    line = _paid(env)
    path = tmp_path / "reestr.csv"
    path.write_bytes(write_registry_csv([line]))
    assert main(["reconcile", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Сверка № 1: файл «reestr.csv»" in out
    assert "провёл(а): командная строка" in out
    assert "Реестр банка: строк 1 на 1\u00a0246,91\u00a0₽; у нас: операций 1 на 1\u00a0246,91\u00a0₽" in out
    assert "Совпало: в банке 1 на 1\u00a0246,91\u00a0₽, у нас 1 на 1\u00a0246,91\u00a0₽" in out
    assert "Расхождений нет: сверка закрыта" in out
    runs, journal = _runs(env)
    assert [(r.file_name, r.staff_id, r.bank_lines, r.bank_total) for r in runs] == [
        ("reestr.csv", None, 1, 124_691)]
    assert runs[0].closed_at is not None
    assert [(e.actor_kind, e.staff_id, e.actor_label, e.after["run_id"]) for e in journal] == [
        (ActorKind.SYSTEM, None, "командная строка", runs[0].id)]


def test_discrepancies_exit_1_and_the_same_file_again_exits_2(env, tmp_path, capsys):
    line = _paid(env)
    unknown = g.SettlementLine("txn-unknown-1", "699999999999", "220000******0004", 77_700,
                               g.Operation.PAYMENT, line.time + timedelta(minutes=1))
    path = tmp_path / "reestr.csv"
    path.write_bytes(write_registry_csv([line, unknown]))
    assert main(["reconcile", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Нет у нас: в банке 1 на 777,00\u00a0₽, у нас 0 на 0,00\u00a0₽, не разрешено 1" in out
    assert "Расхождений не разрешено: 1" in out

    assert main(["reconcile", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Файл «reestr.csv» уже сверен: сверка № 1" in err
    assert "провёл(а) командная строка" in err
    runs, _ = _runs(env)
    assert len(runs) == 1 and runs[0].closed_at is None


def test_a_bad_file_exits_2_naming_every_row_and_column_and_stores_nothing(env, tmp_path,
                                                                          capsys):
    line = _paid(env)
    good = write_registry_csv([line]).decode("utf-8").splitlines()
    bad = [good[0], good[1].replace("1246,91", "12a6,91"),
           "32.13.2026 10:00:00;Оплата;sim-2;600000000002;411111******1111;10,00"]
    path = tmp_path / "bad.csv"
    path.write_text("\r\n".join(bad) + "\r\n", encoding="utf-8")
    assert main(["reconcile", str(path)]) == 2
    captured = capsys.readouterr()
    assert "Файл «bad.csv» не сверен: ошибок 2" in captured.err
    assert "Строка 2, «Сумма»: «12a6,91»" in captured.err
    assert "Строка 3, «Дата операции»: «32.13.2026 10:00:00»" in captured.err
    assert captured.out == ""
    assert _runs(env) == ([], [])


def test_an_unknown_profile_or_file_exits_2_and_stores_nothing(env, tmp_path, capsys):
    line = _paid(env)
    path = tmp_path / "reestr.csv"
    path.write_bytes(write_registry_csv([line]))
    assert main(["reconcile", str(path), "--profile", "Нет такого"]) == 2
    assert "--profile: профиль банка «Нет такого» не найден" in capsys.readouterr().err
    assert main(["reconcile", str(tmp_path / "absent.csv")]) == 2
    assert "Файл: не удалось открыть" in capsys.readouterr().err
    assert _runs(env) == ([], [])


def test_a_stored_profile_by_name_reads_the_file_and_checks_the_bank_fee(env, tmp_path,
                                                                         capsys):
    """A profile finance saved (name in any case): its tariff checks the file's commission."""
    line = _paid(env)
    app = _app(env)
    with app.uow() as uow:
        s = uow.session
        staff = StaffUser(login="petrova", name="Анна Петрова", email="p@example.ru",
                          role=StaffRole.FINANCE, password_hash="x",
                          sessions_valid_after=app.now(), created_at=app.now())
        s.add(staff)
        s.flush()
        profile = {"name": "Банк «Север»", "columns": {
            "time": ["Дата операции"], "operation": ["Операция"], "txn_id": ["ID транзакции"],
            "rrn": ["RRN"], "masked_pan": ["Карта"], "amount": ["Сумма"],
            "fee": ["Комиссия"], "net": ["Сумма к зачислению"]},
            "payment_words": ["Оплата"], "refund_words": ["Возврат"], "amount_unit": "rubles",
            "date_format": "", "encoding": "", "fee_rate_bp": 180, "fee_min": 0}
        s.add(BankProfileRecord(name="Банк «Север»", name_key="банк «север»", profile=profile,
                                created_at=app.now(), created_by_staff_id=staff.id,
                                updated_at=app.now(), updated_by_staff_id=staff.id))
        uow.commit()
    app.engine.dispose()
    # 1.8 % of 1 246,91 is 22,44; the bank took 22,45.
    rows = write_registry_csv([line]).decode("utf-8").splitlines()
    path = tmp_path / "sever.csv"
    path.write_text(f"{rows[0]};Комиссия;Сумма к зачислению\r\n{rows[1]};22,45;1224,46\r\n",
                    encoding="utf-8")
    assert main(["reconcile", str(path), "--profile", "БАНК «СЕВЕР»"]) == 0
    out = capsys.readouterr().out
    assert ("Комиссия банка: 22,45\u00a0₽; оборот 1\u00a0246,91\u00a0₽, к перечислению "
            "1\u00a0224,46\u00a0₽; тариф: 1,8 % от суммы") in out
    assert "Комиссия не по тарифу: строк 1 из 1, разница 0,01\u00a0₽" in out
    runs, _ = _runs(env)
    assert runs[0].summary["fees"]["differ_count"] == 1


def test_reconcile_is_listed_in_the_help(env, capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "python -m core reconcile FILE [--profile NAME]" in capsys.readouterr().out


def test_days_another_run_covers_exit_2_unless_confirmed(env, tmp_path, capsys):
    line = _paid(env)
    first = tmp_path / "reestr.csv"
    first.write_bytes(write_registry_csv([line]))
    assert main(["reconcile", str(first)]) == 0
    unknown = g.SettlementLine("txn-unknown-2", "699999999998", "220000******0004", 55_500,
                               g.Operation.PAYMENT, line.time + timedelta(minutes=5))
    corrected = tmp_path / "reestr-2.csv"
    corrected.write_bytes(write_registry_csv([line, unknown]))
    capsys.readouterr()

    assert main(["reconcile", str(corrected)]) == 2
    err = capsys.readouterr().err
    assert "Файл «reestr-2.csv» не сверен" in err and "№ 1 за" in err
    assert len(_runs(env)[0]) == 1

    assert main(["reconcile", str(corrected), "--confirm-overlap"]) == 1
    assert "Сверка № 2: файл «reestr-2.csv»" in capsys.readouterr().out
    assert [r.file_name for r in _runs(env)[0]] == ["reestr.csv", "reestr-2.csv"]
