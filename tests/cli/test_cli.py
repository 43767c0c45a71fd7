"""`python -m core ...` as an operator runs it: a real process, a real database file."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.customers.captcha import StaticCaptcha
from core.app import build_app
from core.config import load_settings
from core.db.models import CabinetBlock, Customer, StaffUser
from core.actors import StaffRole
from core.staff import members

ROOT = Path(__file__).resolve().parents[2]


def core(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def _app(env: dict[str, str]):  # type: ignore[no-untyped-def]
    old = dict(os.environ)
    os.environ.update(env)
    try:
        return build_app(load_settings(), captcha=StaticCaptcha())
    finally:
        os.environ.clear()
        os.environ.update(old)


def test_db_upgrade_then_check_reports_no_differences(cli_env):
    assert core(cli_env, "db", "upgrade").returncode == 0
    check = core(cli_env, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_staff_add_reads_the_password_from_stdin_and_the_login_works(cli_env):
    core(cli_env, "db", "upgrade")
    result = core(cli_env, "staff", "add", "--login", "Petrova", "--role", "finance",
                  "--name", "Анна Петрова", stdin="Finance-2026-pass\n")
    assert result.returncode == 0, result.stderr
    assert "petrova (finance)" in result.stdout
    assert "Finance-2026-pass" not in result.stdout + result.stderr
    app = _app(cli_env)
    login = members.login(app, "petrova", "Finance-2026-pass")
    assert login.actor.role is StaffRole.FINANCE and login.name == "Анна Петрова"


@pytest.mark.parametrize("args, stdin, message", [
    (["--login", "x", "--role", "agent"], "Good-pass-2026\n", "Логин:"),
    (["--login", "ivanov", "--role", "boss"], "Good-pass-2026\n", "Роль: одна из"),
    (["--login", "ivanov", "--role", "agent"], "short\n", "Пароль: не короче 10"),
])
def test_staff_add_refuses_bad_input_with_a_russian_message(cli_env, args, stdin, message):
    core(cli_env, "db", "upgrade")
    result = core(cli_env, "staff", "add", *args, stdin=stdin)
    assert result.returncode == 2
    assert message in result.stderr
    app = _app(cli_env)
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(StaffUser)) == 0


def test_staff_deactivate_ends_the_sessions(cli_env):
    core(cli_env, "db", "upgrade")
    core(cli_env, "staff", "add", "--login", "agent7", "--role", "agent", stdin="Agent-pass-2026\n")
    app = _app(cli_env)
    token = members.login(app, "agent7", "Agent-pass-2026").session_token
    assert core(cli_env, "staff", "deactivate", "--login", "agent7").returncode == 0
    from core.customers.errors import SessionInvalid
    with pytest.raises(SessionInvalid):
        members.check_session(app, token)


def test_demo_is_deterministic_and_realistic(cli_env, tmp_path):
    core(cli_env, "db", "upgrade")
    other = dict(cli_env, DATABASE_URL=f"sqlite:///{tmp_path / 'other.db'}")
    core(other, "db", "upgrade")
    for env in (cli_env, other):
        result = core(env, "demo", "--customers", "300", "--seed", "7")
        assert result.returncode == 0, result.stderr

    def snapshot(env):  # type: ignore[no-untyped-def]
        app = _app(env)
        with app.uow(write=False) as uow:
            rows = uow.session.execute(select(Customer.phone, Customer.email,
                                              Customer.search_name, Customer.activated_at)
                                       .order_by(Customer.id)).all()
            blocks = uow.session.scalar(select(func.count()).select_from(CabinetBlock))
        return rows, blocks

    rows, blocks = snapshot(cli_env)
    assert rows == snapshot(other)[0]
    assert len(rows) == 300 and len({r.phone for r in rows}) == 300
    not_activated = sum(r.activated_at is None for r in rows)
    assert 5 <= not_activated <= 60 and 3 <= blocks <= 40
    assert all(r.phone.startswith("+79") and len(r.phone) == 12 for r in rows)
    # --if-empty leaves a seeded database alone
    again = core(cli_env, "demo", "--customers", "50", "--seed", "8", "--if-empty")
    assert again.returncode == 0
    assert len(snapshot(cli_env)[0]) == 300


def test_demo_customers_can_log_in_with_the_documented_password(cli_env):
    core(cli_env, "db", "upgrade")
    core(cli_env, "demo", "--customers", "20", "--seed", "1")
    app = _app(cli_env)
    from core.demo.rich import DEMO_PASSWORD
    from core.customers import cabinet
    with app.uow(write=False) as uow:
        phone = uow.session.scalar(select(Customer.phone).where(Customer.activated_at.is_not(None),
                                                                ~Customer.blocks.any()).limit(1))
    assert cabinet.login(app, phone, DEMO_PASSWORD).customer_id > 0
    assert members.login(app, "agent", "agent-demo-2026").actor.role is StaffRole.AGENT


def test_demo_builds_providers_accounts_and_a_year_of_invoices(cli_env):
    from core.db.models import AccountBinding, Invoice, InvoiceLine, Provider

    core(cli_env, "db", "upgrade")
    assert core(cli_env, "demo", "--customers", "100", "--seed", "3").returncode == 0
    app = _app(cli_env)
    with app.uow(write=False) as uow:
        s = uow.session
        kinds = set(s.scalars(select(Provider.service_kind)))
        bindings = s.scalar(select(func.count()).select_from(AccountBinding))
        periods = s.scalar(select(func.count(func.distinct(Invoice.period))))
        invoices = s.scalars(select(Invoice).limit(200)).all()
        for invoice in invoices:
            lines = s.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).all()
            assert invoice.total_due == sum(line.total for line in lines) > 0
            assert all(line.total == line.accrued + line.recalculation + line.debt
                       for line in lines)
    assert kinds == {"water", "heating", "electricity", "management", "gas"}
    assert bindings >= 100 and periods == 12


def test_demo_varies_subscriptions_for_a_third_of_the_customers(cli_env):
    from core.db.models import Subscription

    core(cli_env, "db", "upgrade")
    core(cli_env, "demo", "--customers", "300", "--seed", "5")
    app = _app(cli_env)
    with app.uow(write=False) as uow:
        customers_with_rows = uow.session.scalar(
            select(func.count(func.distinct(Subscription.customer_id))))
        news_on = uow.session.scalar(select(func.count()).select_from(Subscription).where(
            Subscription.topic == "news", Subscription.enabled.is_(True)))
    assert 60 <= customers_with_rows <= 150 and news_on > 0
