from __future__ import annotations

import pytest

from core.actors import StaffRole
from tests.factories import make_staff


@pytest.fixture
def agent(app):  # type: ignore[no-untyped-def]
    return make_staff(app, StaffRole.AGENT)


@pytest.fixture
def admin(app):  # type: ignore[no-untyped-def]
    return make_staff(app, StaffRole.ADMIN)
