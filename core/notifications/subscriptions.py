"""Subscriptions: which topics a cabinet receives over which channel.

A cabinet has one row per topic x channel cell. Registration writes all six
with the defaults (``core.notifications.template_rules.DEFAULT_SUBSCRIPTIONS``); a cell
without a row means the default, so cabinets created in bulk without rows (the
demo loader) behave exactly like registered ones. Counting and queuing follow
the same rule in SQL: ``coalesce(enabled, default)``. The counts of every cell over all
active cabinets are a rollup the worker keeps (``subscription_rollup``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.actors import ActorKind, StaffActor, require_role
from core.app import App
from core.notifications.channels import Channel
from core.db.models import Subscription
from core.notifications import subscription_rollup, template_rules as rules
from core.customers.rules import clean_reason
from core.errors import ValidationError
from core.staff import audit, permissions
from core.customers import sessions
from core.customers.lifecycle import get_customer

VIEWERS = permissions.PERSONAL_DATA_READERS
EDITORS = permissions.CABINET_ACTORS
COUNT_VIEWERS = permissions.SUBSCRIPTION_COUNT_READERS


class _CellLabels:
    """Russian labels of a (topic, channel) cell, for tables and charts."""

    topic: str
    channel: Channel

    @property
    def topic_label(self) -> str:
        return rules.TOPICS[self.topic]

    @property
    def channel_label(self) -> str:
        return rules.CHANNELS[self.channel.value]


@dataclass(frozen=True)
class SubscriptionCell(_CellLabels):
    topic: str
    channel: Channel
    enabled: bool
    explicit: bool  # False: no row, the default applies
    updated_at: datetime | None


@dataclass(frozen=True)
class SubscriptionMatrix:
    """A cabinet's topic x channel grid, cells in the order of TOPICS then CHANNELS."""

    customer_id: int
    cells: tuple[SubscriptionCell, ...]

    def is_enabled(self, topic: str, channel: Channel | str) -> bool:
        topic, code = rules.check_topic(topic), rules.check_channel(channel)
        return next(c.enabled for c in self.cells
                    if c.topic == topic and c.channel.value == code)

    def as_dict(self) -> dict[str, dict[str, bool]]:
        """{topic: {channel code: enabled}}, e.g. for a table with topics as rows."""
        grid: dict[str, dict[str, bool]] = {}
        for c in self.cells:
            grid.setdefault(c.topic, {})[c.channel.value] = c.enabled
        return grid


@dataclass(frozen=True)
class SubscriptionCount(_CellLabels):
    """Active cabinets subscribed to one cell, out of all active cabinets."""

    topic: str
    channel: Channel
    subscribed: int
    total: int


@dataclass(frozen=True)
class SubscriptionCounts:
    """Every cell's count, topics in order, then channels, as of ``computed_at``."""

    cells: tuple[SubscriptionCount, ...]
    computed_at: datetime
    live: bool  # counted for this call: the worker has not written its rollup yet
    refresh_note: str = subscription_rollup.REFRESH_NOTE


def create_default_subscriptions(session: Session, customer_id: int, now: datetime) -> None:
    """Called by registration inside its transaction."""
    session.add_all(Subscription(customer_id=customer_id, topic=topic, channel=Channel(channel),
                                 enabled=enabled, updated_at=now)
                    for (topic, channel), enabled in rules.DEFAULT_SUBSCRIPTIONS.items())


def _matrix(session: Session, customer_id: int) -> SubscriptionMatrix:
    rows = {(r.topic, r.channel.value): r for r in session.scalars(
        select(Subscription).where(Subscription.customer_id == customer_id))}
    cells = []
    for topic in rules.TOPICS:
        for channel in rules.CHANNELS:
            row = rows.get((topic, channel))
            cells.append(SubscriptionCell(
                topic=topic, channel=Channel(channel),
                enabled=row.enabled if row else rules.DEFAULT_SUBSCRIPTIONS[(topic, channel)],
                explicit=row is not None, updated_at=row.updated_at if row else None))
    return SubscriptionMatrix(customer_id=customer_id, cells=tuple(cells))


def _checked(topic: str, channel: Channel | str, enabled: bool) -> tuple[str, str]:
    topic, code = rules.check_topic(topic), rules.check_channel(channel)
    if not isinstance(enabled, bool):
        raise ValidationError("Подписка", "укажите «да» или «нет»", field="enabled")
    return topic, code


def _write(session: Session, customer_id: int, topic: str, channel: str, enabled: bool,
           now: datetime) -> bool:
    """Set one cell; False when it already had this value. One upsert, race-free."""
    current = _matrix(session, customer_id).is_enabled(topic, channel)
    if current == enabled:
        return False
    values = dict(customer_id=customer_id, topic=topic, channel=Channel(channel),
                  enabled=enabled, updated_at=now)
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = (sqlite if dialect == "sqlite" else postgresql).insert(Subscription)
        session.execute(insert.values(**values).on_conflict_do_update(
            index_elements=["customer_id", "topic", "channel"],
            set_={"enabled": enabled, "updated_at": now}))
    else:
        row = session.scalar(select(Subscription).where(
            Subscription.customer_id == customer_id, Subscription.topic == topic,
            Subscription.channel == Channel(channel)))
        if row is None:
            session.add(Subscription(**values))
        else:
            row.enabled, row.updated_at = enabled, now
    return True


# --- the customer, in the cabinet's «Настройки» ------------------------------

def get_subscriptions(app: App, token: str) -> SubscriptionMatrix:
    with app.uow() as uow:
        customer = sessions.signed_in_customer(uow.session, token, app.now(), reading=True)
        matrix = _matrix(uow.session, customer.id)
        uow.commit()  # the session's last_seen_at
        return matrix


def set_subscription(app: App, token: str, topic: str, channel: Channel | str,
                     enabled: bool) -> bool:
    """Subscribe or unsubscribe one cell; False when nothing changed."""
    topic, code = _checked(topic, channel, enabled)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = sessions.signed_in_customer(s, token, now)
        changed = _write(s, customer.id, topic, code, enabled, now)
        if changed:
            audit.record(s, at=now, action="subscription.change", actor_kind=ActorKind.CUSTOMER,
                         customer_id=customer.id,
                         before={"topic": topic, "channel": code, "enabled": not enabled},
                         after={"topic": topic, "channel": code, "enabled": enabled})
        uow.commit()
        return changed


# --- staff ------------------------------------------------------------------

def customer_subscriptions(app: App, actor: StaffActor, customer_id: int) -> SubscriptionMatrix:
    require_role(actor, VIEWERS, "подписки клиента")
    with app.uow(write=False) as uow:
        customer = get_customer(uow.session, customer_id)
        return _matrix(uow.session, customer.id)


def set_customer_subscription(app: App, actor: StaffActor, customer_id: int, topic: str,
                              channel: Channel | str, enabled: bool, reason: str) -> bool:
    """An agent changes a cell at the customer's request; the reason is journaled."""
    require_role(actor, EDITORS, "изменение подписок клиента")
    topic, code = _checked(topic, channel, enabled)
    why = clean_reason(reason, "Причина изменения")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = get_customer(s, customer_id)
        changed = _write(s, customer.id, topic, code, enabled, now)
        if changed:
            audit.record(s, at=now, action="subscription.change", actor=actor,
                         customer_id=customer.id, reason=why,
                         before={"topic": topic, "channel": code, "enabled": not enabled},
                         after={"topic": topic, "channel": code, "enabled": enabled})
        uow.commit()
        return changed


def subscription_counts(app: App, actor: StaffActor) -> SubscriptionCounts:
    """For «Подписки по темам и каналам»: active cabinets only, as the worker last
    counted them (``subscription_rollup``; counted live while it has not yet)."""
    require_role(actor, COUNT_VIEWERS, "статистика подписок")
    with app.uow(write=False) as uow:
        found = subscription_rollup.counted(uow.session, app.now())
    return SubscriptionCounts(
        cells=tuple(SubscriptionCount(topic=topic, channel=Channel(channel), subscribed=on,
                                      total=total)
                    for (topic, channel), (on, total) in found.cells.items()),
        computed_at=found.computed_at, live=found.live)
