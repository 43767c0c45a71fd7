"""The subscription counts as a rollup the worker keeps: one row per topic x channel.

Counting who receives what takes two aggregates over every active cabinet (about 0.4 s
of SQL at 200,000 cabinets on PostgreSQL, more on SQLite): too slow for a page view,
and a page cache per process and staff member still made every new session's first
view pay it. The worker's job ``subscriptions.counts`` (:func:`refresh`) counts every
:data:`REFRESH_EVERY` into ``subscription_count_stats``; readers (:func:`counted`) take
those rows, or count live while there are none yet (a fresh database before the
worker's first run): a reader never writes the rollup.

Several workers: the refresh takes an advisory lock (PostgreSQL) and skips while another
process holds it. The count runs in a read transaction and the rows are written in a
short one after it, so that on SQLite the single writer's lock is not held through the
aggregates (payments would queue behind them). Should two counts still overlap (SQLite
runs both), the upsert keeps the later ``computed_at``: an older count never replaces a
newer one.

A cabinet without a row for a cell counts as the default says
(``template_rules.DEFAULT_SUBSCRIPTIONS``), as in queuing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.app import App
from core.customers.lifecycle import open_block_exists
from core.db import leases
from core.db.models import Customer, Subscription, SubscriptionCountStat
from core.notifications import template_rules as rules
from core.notifications.channels import Channel

REFRESH_EVERY = timedelta(minutes=1)
REFRESH_NOTE = "обновляются каждую минуту"  # what the page says of REFRESH_EVERY
_LOCK = "notifications.subscription_counts"

# (topic, channel code) -> (subscribed active cabinets, all active cabinets)
Cells = dict[tuple[str, str], tuple[int, int]]


@dataclass(frozen=True)
class Counted:
    cells: Cells  # every cell, topics in order, then channels
    computed_at: datetime  # when they were counted
    live: bool  # counted just now: the worker has not written the rollup yet


@dataclass(frozen=True)
class RefreshReport:
    cells: int
    active: int
    skipped: bool = False  # another process was counting (PostgreSQL)

    def __str__(self) -> str:
        if self.skipped:
            return "счётчики подписок не обновлялись: их обновляет другой процесс"
        return (f"счётчики подписок обновлены: ячеек {self.cells}, "
                f"активных кабинетов {self.active}")


def all_cells() -> list[tuple[str, str]]:
    """Every (topic, channel code), topics in order, then channels."""
    return [(topic, channel) for topic in rules.TOPICS for channel in rules.CHANNELS]


def active_customer_condition():  # type: ignore[no-untyped-def]
    """SQL: the cabinet is activated and not blocked (it receives notifications)."""
    return and_(Customer.activated_at.is_not(None), ~open_block_exists(Customer.id))


def live_cells(session: Session) -> Cells:
    """The counts from the cabinets themselves: two aggregate queries, the active total
    and per cell the explicit rows (enabled, and all)."""
    active = active_customer_condition()
    total = int(session.scalar(select(func.count()).select_from(Customer).where(active)) or 0)
    explicit = {(topic, channel.value): (int(on or 0), int(rows))
                for topic, channel, on, rows in session.execute(
                    select(Subscription.topic, Subscription.channel,
                           func.sum(case((Subscription.enabled.is_(True), 1), else_=0)),
                           func.count())
                    .join(Customer, Customer.id == Subscription.customer_id)
                    .where(active)
                    .group_by(Subscription.topic, Subscription.channel))}
    cells = {}
    for topic, channel in all_cells():
        on, rows = explicit.get((topic, channel), (0, 0))
        default_on = rules.DEFAULT_SUBSCRIPTIONS[(topic, channel)]
        cells[(topic, channel)] = (on + (total - rows if default_on else 0), total)
    return cells


def counted(session: Session, now: datetime) -> Counted:
    """The rollup when it has every cell (as of its oldest row), else a live count."""
    found = {(row.topic, row.channel.value): row
             for row in session.scalars(select(SubscriptionCountStat))}
    wanted = all_cells()
    if any(cell not in found for cell in wanted):
        return Counted(live_cells(session), now, live=True)
    return Counted({cell: (found[cell].subscribed, found[cell].total) for cell in wanted},
                   min(found[cell].computed_at for cell in wanted), live=False)


def store(session: Session, cells: Cells, computed_at: datetime) -> None:
    """Write the counts as of ``computed_at``, unless a later count is there already;
    cells no longer in the rules go. The caller commits."""
    values = [dict(topic=topic, channel=Channel(channel), subscribed=on, total=total,
                   computed_at=computed_at) for (topic, channel), (on, total) in cells.items()]
    table = SubscriptionCountStat.__table__
    session.execute(delete(SubscriptionCountStat).where(or_(
        SubscriptionCountStat.topic.not_in(list(rules.TOPICS)),
        SubscriptionCountStat.channel.not_in([Channel(c) for c in rules.CHANNELS]))))
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = (sqlite if dialect == "sqlite" else postgresql).insert(table)
        session.execute(insert.on_conflict_do_update(
            index_elements=["topic", "channel"],
            set_={"subscribed": insert.excluded.subscribed, "total": insert.excluded.total,
                  "computed_at": insert.excluded.computed_at},
            where=table.c.computed_at <= insert.excluded.computed_at), values)
        return
    for row in values:  # any other database: row by row, under the same rule
        current = session.get(SubscriptionCountStat, (row["topic"], row["channel"]))
        if current is None:
            session.add(SubscriptionCountStat(**row))
        elif current.computed_at <= computed_at:
            current.subscribed, current.total = int(row["subscribed"]), int(row["total"])
            current.computed_at = computed_at


def refresh(app: App) -> RefreshReport:
    """The worker's job: count every cell and write the rollup."""
    with leases.exclusive(app.engine, _LOCK) as held:
        if not held:
            return RefreshReport(0, 0, skipped=True)
        now = app.now()
        with app.uow(write=False) as uow:
            cells = live_cells(uow.session)
        with app.uow() as uow:
            store(uow.session, cells, now)
            uow.commit()
    return RefreshReport(len(cells), next(iter(cells.values()))[1] if cells else 0)
