"""«Заблокированные кабинеты»: who blocked each cabinet, when and why, newest first, paged."""
from __future__ import annotations

import pytest

from core.actors import PermissionDenied, StaffRole
from core.customers import blocked_cabinets, cabinet, contact_center
from core.paging import PageRequest
from tests.factories.customers import make_staff, register, register_and_activate
from tests.factories.dbstate import snapshot


def _blocked(app, actor, page=PageRequest(1, 10)):
    return blocked_cabinets.list_blocked_cabinets(app, actor, page)


@pytest.fixture
def blocks(app, clock, agent, admin):
    """A self-block, an agent's block, a lifted block and a cabinet never blocked."""
    selfish = register_and_activate(app, phone="+7 916 100-00-01", email="self@example.ru")
    cabinet.block_own_cabinet(app, selfish.session_token, "Потерял телефон")
    clock.advance(hours=1)
    by_agent = register_and_activate(app, phone="+7 916 100-00-02",
                                     email="agent@example.ru").customer_id
    contact_center.block(app, agent, by_agent, "Звонок клиента: подозрение на мошенничество")
    clock.advance(hours=1)
    lifted = register_and_activate(app, phone="+7 916 100-00-03",
                                   email="lifted@example.ru").customer_id
    contact_center.block(app, agent, lifted, "По просьбе клиента")
    contact_center.admin_unblock(app, admin, lifted, "Клиент нашёлся")
    register(app, phone="+7 916 100-00-04", email="never@example.ru")
    return {"self": selfish.customer_id, "agent": by_agent, "lifted": lifted}


def test_lists_open_blocks_newest_first_with_who_when_and_why(app, clock, agent, blocks):
    page = _blocked(app, agent)
    assert page.total == 2
    newest, oldest = page.items
    assert (newest.customer_id, newest.blocked_by, newest.by_customer, newest.reason) == (
        blocks["agent"], agent_name(agent), False,
        "Звонок клиента: подозрение на мошенничество")
    assert (oldest.customer_id, oldest.blocked_by, oldest.by_customer, oldest.reason) == (
        blocks["self"], "клиент", True, "Потерял телефон")
    assert newest.blocked_at > oldest.blocked_at
    assert (newest.phone, newest.email) == ("+7 916 100-00-02", "agent@example.ru")


def agent_name(actor):
    return f"Сотрудник {actor.login}"


def test_an_unblocked_cabinet_leaves_the_list_and_a_new_block_heads_it(
        app, clock, agent, admin, blocks):
    contact_center.admin_unblock(app, admin, blocks["agent"], "Проверено")
    assert [r.customer_id for r in _blocked(app, agent).items] == [blocks["self"]]
    clock.advance(hours=1)
    contact_center.block(app, admin, blocks["lifted"], "Повторная жалоба")
    rows = _blocked(app, agent).items
    assert [r.customer_id for r in rows] == [blocks["lifted"], blocks["self"]]
    assert rows[0].blocked_by == agent_name(admin)


def test_pages_through_the_blocked_cabinets(app, clock, agent):
    ids = []
    for n in range(12):
        customer = register(app, phone=f"+7 917 200-00-{n:02d}", email=f"b{n}@example.ru")
        contact_center.block(app, agent, customer, f"Причина {n}")
        ids.append(customer)
        clock.advance(minutes=5)
    first = _blocked(app, agent, PageRequest(1, 10))
    second = _blocked(app, agent, PageRequest(2, 10))
    assert (first.total, first.pages, len(first.items), len(second.items)) == (12, 2, 10, 2)
    assert [r.customer_id for r in first.items + second.items] == ids[::-1]
    assert [r.reason for r in second.items] == ["Причина 1", "Причина 0"]
    assert _blocked(app, agent, PageRequest(3, 10)).items == []


def test_reading_the_list_changes_nothing(app, agent, blocks):
    before = snapshot(app)
    _blocked(app, agent)
    assert snapshot(app) == before


@pytest.mark.parametrize("role, allowed", [(StaffRole.AGENT, True), (StaffRole.FINANCE, True),
                                           (StaffRole.ADMIN, True), (StaffRole.MANAGER, False)])
def test_who_may_read_the_list(app, blocks, role, allowed):
    actor = make_staff(app, role)
    if allowed:
        assert _blocked(app, actor).total == 2
    else:
        with pytest.raises(PermissionDenied):
            _blocked(app, actor)
