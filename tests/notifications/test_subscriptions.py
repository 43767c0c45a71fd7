"""Subscriptions: defaults on registration, the customer's and the agent's edits, counts."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from core.actors import ActorKind, PermissionDenied, StaffRole
from core.db.models import AuditEntry, CabinetBlock, Customer, Subscription
from core.notifications.channels import Channel
from core.notifications.template_rules import CHANNELS, DEFAULT_SUBSCRIPTIONS, TOPICS
from core.errors import NotFound, ValidationError
from core.customers.errors import SessionInvalid
from core.customers import contact_center, cabinet
from core.notifications import subscriptions
from tests.factories.customers import make_staff, register, register_and_activate
from tests.factories.dbstate import snapshot


def _rows(app, customer_id):
    with app.uow(write=False) as uow:
        return {(s.topic, s.channel.value): s.enabled for s in uow.session.scalars(
            select(Subscription).where(Subscription.customer_id == customer_id))}


def _audit(app, action="subscription.change"):
    with app.uow(write=False) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                        .order_by(AuditEntry.id)))


def _drop_rows(app, customer_id):
    """As the demo loader leaves a cabinet: no subscription rows at all."""
    with app.uow() as uow:
        uow.session.execute(delete(Subscription).where(Subscription.customer_id == customer_id))
        uow.commit()


def test_registration_writes_the_default_subscriptions(app):
    customer_id = register(app)
    assert _rows(app, customer_id) == DEFAULT_SUBSCRIPTIONS
    assert _rows(app, customer_id) == {
        ("new_invoice", "email"): True, ("new_invoice", "sms"): True,
        ("payment_result", "email"): True, ("payment_result", "sms"): False,
        ("news", "email"): False, ("news", "sms"): False}


def test_customer_sees_the_matrix_in_topic_and_channel_order(app):
    login = register_and_activate(app)
    matrix = subscriptions.get_subscriptions(app, login.session_token)
    assert matrix.customer_id == login.customer_id
    assert [(c.topic, c.channel) for c in matrix.cells] == [
        (t, Channel(c)) for t in TOPICS for c in CHANNELS]
    assert all(c.explicit for c in matrix.cells)
    assert matrix.as_dict() == {"new_invoice": {"email": True, "sms": True},
                                "payment_result": {"email": True, "sms": False},
                                "news": {"email": False, "sms": False}}
    assert matrix.cells[0].topic_label == "Новый счёт" and matrix.cells[1].channel_label == "SMS"


def test_cabinet_without_rows_gets_the_defaults(app, clock):
    login = register_and_activate(app)
    _drop_rows(app, login.customer_id)
    matrix = subscriptions.get_subscriptions(app, login.session_token)
    assert not any(c.explicit for c in matrix.cells)
    assert {(c.topic, c.channel.value): c.enabled for c in matrix.cells} == DEFAULT_SUBSCRIPTIONS
    clock.advance(minutes=1)
    assert subscriptions.set_subscription(app, login.session_token, "news", Channel.SMS, True)
    matrix = subscriptions.get_subscriptions(app, login.session_token)
    cell = next(c for c in matrix.cells if (c.topic, c.channel) == ("news", Channel.SMS))
    assert (cell.enabled, cell.explicit, cell.updated_at) == (True, True, clock.now())
    assert _rows(app, login.customer_id) == {("news", "sms"): True}


def test_customer_subscribes_and_unsubscribes_and_each_change_is_journaled(app, clock):
    login = register_and_activate(app)
    clock.advance(minutes=1)
    assert subscriptions.set_subscription(app, login.session_token, "news", "email", True)
    assert subscriptions.set_subscription(app, login.session_token, "new_invoice", "sms", False)
    matrix = subscriptions.get_subscriptions(app, login.session_token)
    assert matrix.is_enabled("news", "email") and not matrix.is_enabled("new_invoice", "sms")
    entries = _audit(app)
    assert [(e.actor_kind, e.customer_id, e.staff_id, e.before, e.after) for e in entries] == [
        (ActorKind.CUSTOMER, login.customer_id, None,
         {"topic": "news", "channel": "email", "enabled": False},
         {"topic": "news", "channel": "email", "enabled": True}),
        (ActorKind.CUSTOMER, login.customer_id, None,
         {"topic": "new_invoice", "channel": "sms", "enabled": True},
         {"topic": "new_invoice", "channel": "sms", "enabled": False})]
    assert entries[0].at == clock.now()


def test_setting_the_value_a_cell_already_has_changes_nothing(app):
    login = register_and_activate(app)
    before = snapshot(app)
    assert subscriptions.set_subscription(app, login.session_token, "news", "email", False) \
        is False
    after = snapshot(app)
    del before["customer_sessions"], after["customer_sessions"]  # last_seen_at moves
    assert after == before


@pytest.mark.parametrize(("topic", "channel", "enabled", "field", "message"), [
    ("invoice", "email", True, "topic", "Вид уведомления: неизвестный вид «invoice»"),
    ("", "email", True, "topic", "Вид уведомления: неизвестный вид"),
    ("news", "telegram", True, "channel", "Канал: неизвестный канал «telegram»"),
    ("news", "EMAIL", True, "channel", "Канал: неизвестный канал «EMAIL»"),
    ("news", "email", "yes", "enabled", "Подписка: укажите «да» или «нет»"),
    ("news", "email", 1, "enabled", "Подписка: укажите «да» или «нет»"),
    ("news", "email", None, "enabled", "Подписка: укажите «да» или «нет»"),
])
def test_bad_cell_or_value_is_refused_and_changes_nothing(app, topic, channel, enabled, field,
                                                          message):
    login = register_and_activate(app)
    agent = make_staff(app, StaffRole.AGENT)
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        subscriptions.set_subscription(app, login.session_token, topic, channel, enabled)
    assert str(error.value).startswith(message) and error.value.field == field
    with pytest.raises(ValidationError) as error:
        subscriptions.set_customer_subscription(app, agent, login.customer_id, topic, channel,
                                                enabled, "Просьба клиента по телефону")
    assert error.value.field == field
    assert snapshot(app) == before


def test_blocked_customer_cannot_change_subscriptions(app):
    login = register_and_activate(app)
    cabinet.block_own_cabinet(app, login.session_token, "Потерял телефон")
    before = snapshot(app)
    with pytest.raises(SessionInvalid):
        subscriptions.set_subscription(app, login.session_token, "news", "email", True)
    with pytest.raises(SessionInvalid):
        subscriptions.get_subscriptions(app, "not-a-token")
    assert snapshot(app) == before


# --- staff ------------------------------------------------------------------

def test_agent_changes_a_cell_at_the_customers_request_with_a_reason(app, clock):
    login = register_and_activate(app)
    agent = make_staff(app, StaffRole.AGENT)
    assert subscriptions.set_customer_subscription(
        app, agent, login.customer_id, "new_invoice", Channel.SMS, False,
        "  Клиент просит   не присылать SMS ")
    assert subscriptions.customer_subscriptions(app, agent, login.customer_id) \
        .is_enabled("new_invoice", "sms") is False
    [entry] = _audit(app)
    assert (entry.actor_kind, entry.staff_id, entry.customer_id, entry.reason, entry.at) == (
        ActorKind.STAFF, agent.staff_id, login.customer_id,
        "Клиент просит не присылать SMS", clock.now())
    assert (entry.before["enabled"], entry.after["enabled"]) == (True, False)
    assert entry.after == {"topic": "new_invoice", "channel": "sms", "enabled": False}


def test_agent_may_change_a_blocked_or_not_activated_cabinet(app):
    """A caller whose cabinet is blocked may still ask to stop e-mails."""
    agent = make_staff(app, StaffRole.AGENT)
    pending = register(app)
    blocked = register_and_activate(app)
    contact_center.block(app, agent, blocked.customer_id, "Подозрение на мошенничество")
    for customer_id in (pending, blocked.customer_id):
        assert subscriptions.set_customer_subscription(app, agent, customer_id, "payment_result",
                                                       "email", False, "Просьба клиента")
        assert _rows(app, customer_id)[("payment_result", "email")] is False


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 501])
def test_staff_change_needs_a_reason(app, reason):
    login = register_and_activate(app)
    agent = make_staff(app, StaffRole.AGENT)
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        subscriptions.set_customer_subscription(app, agent, login.customer_id, "news", "sms",
                                                True, reason)
    assert str(error.value).startswith("Причина изменения:") and error.value.field == "reason"
    assert snapshot(app) == before


@pytest.mark.parametrize(("role", "may_view", "may_edit", "may_count"), [
    (StaffRole.AGENT, True, True, True),
    (StaffRole.ADMIN, True, True, True),
    (StaffRole.FINANCE, True, False, False),
    (StaffRole.MANAGER, False, False, True),
])
def test_roles_for_subscriptions(app, role, may_view, may_edit, may_count):
    customer_id = register(app)
    actor = make_staff(app, role)
    before = snapshot(app)
    calls = [
        (may_view, lambda: subscriptions.customer_subscriptions(app, actor, customer_id)),
        (may_count, lambda: subscriptions.subscription_counts(app, actor)),
    ]
    for allowed, call in calls:
        if allowed:
            call()
        else:
            with pytest.raises(PermissionDenied):
                call()
    assert snapshot(app) == before
    if may_edit:
        assert subscriptions.set_customer_subscription(app, actor, customer_id, "news", "sms",
                                                       True, "Просьба клиента")
    else:
        with pytest.raises(PermissionDenied):
            subscriptions.set_customer_subscription(app, actor, customer_id, "news", "sms", True,
                                                    "Просьба клиента")
        assert snapshot(app) == before


def test_unknown_customer_is_not_found(app):
    agent = make_staff(app, StaffRole.AGENT)
    with pytest.raises(NotFound):
        subscriptions.customer_subscriptions(app, agent, 999_999)
    with pytest.raises(NotFound):
        subscriptions.set_customer_subscription(app, agent, 999_999, "news", "sms", True,
                                                "Просьба клиента")


def test_same_value_from_staff_is_not_journaled(app):
    customer_id = register(app)
    agent = make_staff(app, StaffRole.AGENT)
    before = snapshot(app)
    assert not subscriptions.set_customer_subscription(app, agent, customer_id, "news", "sms",
                                                       False, "Просьба клиента")
    assert snapshot(app) == before


# --- counts for the chart ------------------------------------------------------

def _independent_counts(app):
    """Count in Python from the raw rows: active cabinets, row or default per cell."""
    with app.uow(write=False) as uow:
        s = uow.session
        blocked = set(s.scalars(select(CabinetBlock.customer_id)
                                .where(CabinetBlock.lifted_at.is_(None))))
        active = [c.id for c in s.scalars(select(Customer))
                  if c.activated_at is not None and c.id not in blocked]
        rows = {(r.customer_id, r.topic, r.channel.value): r.enabled
                for r in s.scalars(select(Subscription))}
    return {(topic, channel): (sum(rows.get((c, topic, channel),
                                            DEFAULT_SUBSCRIPTIONS[(topic, channel)])
                                   for c in active), len(active))
            for topic in TOPICS for channel in CHANNELS}


def test_counts_match_an_independent_count_of_active_cabinets(app):
    agent = make_staff(app, StaffRole.AGENT)
    manager = make_staff(app, StaffRole.MANAGER)
    logins = [register_and_activate(app) for _ in range(5)]
    subscriptions.set_subscription(app, logins[0].session_token, "news", "email", True)
    subscriptions.set_subscription(app, logins[0].session_token, "new_invoice", "sms", False)
    subscriptions.set_subscription(app, logins[1].session_token, "news", "email", True)
    subscriptions.set_subscription(app, logins[1].session_token, "payment_result", "sms", True)
    _drop_rows(app, logins[2].customer_id)  # defaults without rows
    _drop_rows(app, logins[3].customer_id)
    subscriptions.set_subscription(app, logins[3].session_token, "new_invoice", "email", False)
    cabinet.block_own_cabinet(app, logins[4].session_token, "Уезжаю")  # not counted
    pending = register(app)  # not activated: not counted
    subscriptions.set_customer_subscription(app, agent, pending, "news", "sms", True, "Просьба")

    counts = subscriptions.subscription_counts(app, manager).cells
    expected = _independent_counts(app)
    assert {(c.topic, c.channel.value): (c.subscribed, c.total) for c in counts} == expected
    assert [(c.topic, c.channel.value) for c in counts] == list(expected)
    by_cell = {(c.topic, c.channel.value): c for c in counts}
    assert (by_cell[("news", "email")].subscribed, by_cell[("news", "email")].total) == (2, 4)
    assert by_cell[("new_invoice", "email")].subscribed == 3
    assert by_cell[("new_invoice", "sms")].subscribed == 3
    assert by_cell[("payment_result", "sms")].subscribed == 1
    assert by_cell[("news", "sms")].subscribed == 0
    assert counts[0].topic_label == "Новый счёт" and counts[0].channel_label == "E-mail"


def test_counts_with_no_active_cabinets_are_zero(app):
    register(app)
    counts = subscriptions.subscription_counts(app, make_staff(app, StaffRole.ADMIN)).cells
    assert len(counts) == 6 and all((c.subscribed, c.total) == (0, 0) for c in counts)
