"""Demo staff and customers only ever go into an empty database, and the operator's start
refuses a database where a README demo password still logs in (core.demo.guard)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.actors import StaffRole
from core.db.models import Customer, StaffUser
from core.demo import guard
from core.demo.guard import DemoRefused
from core.demo.rich import seed_demo
from core.demo.scale.load import seed_scale
from core.errors import DomainError
from core.staff import members
from tests.factories.customers import make_staff, register


def _logins(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return sorted(uow.session.scalars(select(StaffUser.login)))


def _customers(app) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(Customer)) or 0


def test_the_demo_never_joins_real_staff(app) -> None:
    make_staff(app, StaffRole.ADMIN, login="ivanova")
    with pytest.raises(DemoRefused, match="только в пустую базу, а в этой уже есть "
                                          "сотрудники: 1, клиенты: 0"):
        seed_demo(app, customers=5, seed=1)
    assert seed_demo(app, customers=5, seed=1, if_empty=True) == 0
    assert _logins(app) == ["ivanova"] and _customers(app) == 0


def test_the_demo_never_joins_real_customers(app) -> None:
    register(app)
    with pytest.raises(DemoRefused, match="клиенты: 1"):
        seed_demo(app, customers=5, seed=1)
    assert seed_demo(app, customers=5, seed=1, if_empty=True) == 0
    assert _logins(app) == [] and _customers(app) == 1


def test_the_scale_data_set_never_joins_real_staff(app) -> None:
    make_staff(app, StaffRole.AGENT, login="petrov")
    with pytest.raises(DomainError, match="только в пустую базу, а в этой уже есть сотрудники "
                                          r"\(1\)"):
        seed_scale(app, customers=10, payments=10, seed=1)
    assert seed_scale(app, customers=10, payments=10, seed=1, if_empty=True) is None
    assert _logins(app) == ["petrov"]


def test_serving_needs_staff_and_says_how_to_make_the_first_admin(app) -> None:
    reason = guard.serve_refusal(app)
    assert reason is not None and "нет ни одного действующего сотрудника" in reason
    assert "python -m core staff add --login" in reason and "--role admin" in reason
    with pytest.raises(guard.ServeRefused):
        guard.require_servable(app)


def test_serving_is_refused_while_a_demo_password_logs_in(app) -> None:
    seed_demo(app, customers=3, seed=1, billing=False)
    make_staff(app, StaffRole.ADMIN, login="boss")
    reason = guard.serve_refusal(app)
    assert reason is not None
    assert "демо-логины с паролями из README: admin, agent, finance, manager" in reason
    for login in ("admin", "agent", "finance", "manager"):
        assert f"python -m core staff deactivate --login {login}" in reason
    # A demo login whose password was changed or that was switched off opens nothing.
    members.change_password(app, None, members.find_staff_id(app, "admin"), "Own-admin-2026!")
    for login in ("agent", "finance"):
        members.set_active(app, None, members.find_staff_id(app, login), False)
    assert guard.working_demo_logins(app) == ["manager"]
    members.set_active(app, None, members.find_staff_id(app, "manager"), False)
    assert guard.serve_refusal(app) is None
