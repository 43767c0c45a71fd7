"""`python -m core payouts make|list` as an operator runs it, on a real database file."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Payment, Payout
from core.finance import ledger
from core.timefmt import moscow_date
from tests.cli.test_cli import _app, core
from tests.factories.billing import water_provider


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
               APP_SECRETS_FILE=str(tmp_path / "secrets.toml"), APP_FAST_HASHING="1",
               NOTIFY_LOG_DIR=str(tmp_path))
    assert core(env, "db", "upgrade").returncode == 0
    return env


def _paid_yesterday(env: dict[str, str]) -> tuple[int, str]:
    """A provider with two payments that succeeded yesterday (Moscow), booked in the ledger."""
    app = _app(env)
    at = app.now() - timedelta(days=1)
    with app.uow() as uow:
        s = uow.session
        provider = water_provider(at)
        s.add(provider)
        s.flush()
        for n, amount in enumerate((123_456, 10_000)):
            payment = Payment(idempotency_key=f"cli-payout-{n}", request_fingerprint="f" * 64,
                              provider_id=provider.id, account_number="1234567890",
                              amount=amount, commission=amount // 100, status="succeeded",
                              refunded_amount=0, created_at=at, updated_at=at, finalized_at=at,
                              rrn=f"{n:012d}")
            s.add(payment)
            s.flush()
            ledger.post_payment(s, payment_id=payment.id, provider_id=provider.id,
                                amount=amount, commission=amount // 100, at=at)
        uow.commit()
        provider_id = provider.id
    day = moscow_date(at).isoformat()
    app.engine.dispose()
    return provider_id, day


def test_payouts_make_produces_the_days_registry_once(env):
    provider_id, day = _paid_yesterday(env)
    made = core(env, "payouts", "make", "--day", day)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "«ГУП «Водоканал»», платежей 2 на 1\u00a0334,56\u00a0₽" in made.stdout
    assert "к перечислению 1\u00a0334,56\u00a0₽" in made.stdout

    again = core(env, "payouts", "make", "--day", day, "--provider", str(provider_id))
    assert again.returncode == 2
    assert "уже сформирован (реестр № 1)" in again.stderr
    # Without --provider there is nobody left to pay for that day.
    nobody = core(env, "payouts", "make", "--day", day)
    assert nobody.returncode == 0 and "перечислять некому" in nobody.stdout

    listed = core(env, "payouts", "list")
    assert listed.returncode == 0
    assert "Реестр № 1" in listed.stdout and "1\u00a0334,56\u00a0₽" in listed.stdout
    checked = core(env, "ledger", "check")
    assert checked.returncode == 0, checked.stdout
    assert f"Долг поставщику {provider_id}: 0,00\u00a0₽" in checked.stdout

    app = _app(env)
    with app.uow(write=False) as uow:
        payout = uow.session.scalars(select(Payout)).one()
        assert (payout.net_amount, payout.staff_id) == (133_456, None)
        entry = uow.session.scalars(select(AuditEntry)
                                    .where(AuditEntry.action == "payout.produce")).one()
        assert entry.actor_label == "командная строка"
    app.engine.dispose()


def test_payouts_make_refuses_a_bad_day(env):
    result = core(env, "payouts", "make", "--day", "24.11.2026")
    assert result.returncode == 2
    assert "--day: дата в виде ГГГГ-ММ-ДД" in result.stderr
    missing = core(env, "payouts", "make")
    assert missing.returncode == 2 and "укажите день реестра" in missing.stderr
