"""`python -m core ledger check` on a real database file."""
from __future__ import annotations

from sqlalchemy import bindparam, text

from core.db.models import Payment, Provider
from core.db.types import UTCDateTime
from core.finance import ledger
from tests.cli.test_cli import _app, core


def _post_some(env: dict[str, str]) -> int:
    app = _app(env)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        provider = Provider(name="ГУП «Водоканал»", inn="7800000001", contact_phone="8 812 305-09-09",
                            service_kind="water", account_pattern=r"\d{10}", account_hint="10 цифр",
                            invoicing_enabled=True, commission_bp=150, commission_min=0,
                            ownership_proof=False, created_at=now)
        s.add(provider)
        s.flush()
        payment = Payment(idempotency_key="cli-ledger-1", request_fingerprint="f" * 64,
                          provider_id=provider.id, account_number="1234567890", amount=123_456,
                          commission=1_852, status="succeeded", refunded_amount=0,
                          created_at=now, updated_at=now)
        s.add(payment)
        s.flush()
        ledger.post_payment(s, payment_id=payment.id, provider_id=provider.id, amount=123_456,
                            commission=1_852, at=now)
        ledger.post_settlement(s, amount=100_000, at=now, memo="Выписка")
        uow.commit()
        provider_id = provider.id
    app.engine.dispose()
    return provider_id


def test_ledger_check_on_an_empty_database(cli_env):
    assert core(cli_env, "db", "upgrade").returncode == 0
    result = core(cli_env, "ledger", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Журнал проводок в порядке: 0 журналов, 0 проводок" in result.stdout


def test_ledger_check_prints_the_counts_and_the_balances(cli_env):
    core(cli_env, "db", "upgrade")
    provider_id = _post_some(cli_env)
    result = core(cli_env, "ledger", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Журнал проводок в порядке: 2 журналов, 5 проводок" in out
    assert "Клиринг у эквайера: 253,08\u00a0₽" in out
    assert "Расчётный счёт: 1\u00a0000,00\u00a0₽" in out
    assert "Комиссионный доход: 18,52\u00a0₽" in out
    assert f"Долг поставщику {provider_id}: 1\u00a0234,56\u00a0₽" in out


def test_ledger_check_lists_the_problems_and_exits_1(cli_env):
    core(cli_env, "db", "upgrade")
    _post_some(cli_env)
    app = _app(cli_env)
    with app.uow() as uow:
        uow.session.execute(text("INSERT INTO ledger_journals (kind, at) VALUES ('payout', :at)")
                            .bindparams(bindparam("at", type_=UTCDateTime())), {"at": app.now()})
        uow.commit()
    app.engine.dispose()
    result = core(cli_env, "ledger", "check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Журнал 3 без проводок." in result.stdout
    assert "в порядке" not in result.stdout
