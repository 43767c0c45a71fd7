"""Fixtures the finance tests share: a finance officer, and the reconciliation story
(a day of real payments and the bank's registry of it with every class planted)."""
from __future__ import annotations

import pytest

from core.actors import StaffRole
from tests.factories.customers import make_staff
from tests.finance import scenario


@pytest.fixture
def finance(app):  # type: ignore[no-untyped-def]
    return make_staff(app, StaffRole.FINANCE)


@pytest.fixture
def story(app, clock):  # type: ignore[no-untyped-def]
    return scenario.build(app, clock)
