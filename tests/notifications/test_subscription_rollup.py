"""The subscription counts' rollup (``subscription_rollup``): the worker's job counts
every active cabinet into six rows, «Подписки и рассылки» and «Аналитика» read them.

Before it, every read counted live: a staff member's counts moved with each change at
once, there was no table and no job."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.actors import StaffRole
from core.analytics import metrics
from core.app import App
from core.db.models import SubscriptionCountStat
from core.jobs import all_jobs
from core.notifications import subscription_rollup, subscriptions
from core.notifications.channels import Channel
from core.customers import cabinet
from tests.db.test_once_only_jobs import held_elsewhere
from tests.factories.customers import make_staff, register, register_and_activate, sms_codes
from tests.factories.dbstate import snapshot
from tests.notifications.test_subscriptions import _drop_rows, _independent_counts
from tests.payments.test_concurrency import errors_of, run_together


def _shown(app: App, role: StaffRole = StaffRole.MANAGER) -> dict[tuple[str, str], tuple[int, int]]:
    counts = subscriptions.subscription_counts(app, make_staff(app, role))
    return {(c.topic, c.channel.value): (c.subscribed, c.total) for c in counts.cells}


def _stored(app: App) -> dict[tuple[str, str], tuple[int, int, object]]:
    with app.uow(write=False) as uow:
        return {(r.topic, r.channel.value): (r.subscribed, r.total, r.computed_at)
                for r in uow.session.scalars(select(SubscriptionCountStat))}


def test_without_a_rollup_the_counts_are_live_and_reading_writes_nothing(app: App) -> None:
    register_and_activate(app)
    agent = make_staff(app, StaffRole.AGENT)
    before = snapshot(app)
    counts = subscriptions.subscription_counts(app, agent)
    assert counts.live and counts.computed_at == app.now()
    assert {(c.topic, c.channel.value): (c.subscribed, c.total)
            for c in counts.cells} == _independent_counts(app)
    assert snapshot(app) == before
    assert _stored(app) == {}


def test_the_rollup_follows_changes_blocks_and_activations_once_refreshed(
        app: App, clock) -> None:  # type: ignore[no-untyped-def]
    agent = make_staff(app, StaffRole.AGENT)
    logins = [register_and_activate(app) for _ in range(4)]
    pending = register(app)
    _drop_rows(app, logins[3].customer_id)  # the defaults without rows, as bulk-loaded
    report = subscription_rollup.refresh(app)
    assert (report.cells, report.active, report.skipped) == (6, 4, False)
    assert "ячеек 6, активных кабинетов 4" in str(report)
    first = _independent_counts(app)
    assert _shown(app) == first
    counted_at = app.now()

    clock.advance(minutes=1)
    subscriptions.set_subscription(app, logins[0].session_token, "news", "email", True)
    subscriptions.set_customer_subscription(app, agent, logins[3].customer_id,
                                            "new_invoice", "sms", False, "Просьба клиента")
    cabinet.block_own_cabinet(app, logins[1].session_token, "Уезжаю")
    cabinet.activate(app, pending, sms_codes(app)[-1])
    # Until the worker counts again, readers see the last count and say when it was made.
    stale = subscriptions.subscription_counts(app, make_staff(app, StaffRole.ADMIN))
    assert not stale.live and stale.computed_at == counted_at
    assert _shown(app) == first
    assert _independent_counts(app) != first

    subscription_rollup.refresh(app)
    now_counted = _independent_counts(app)
    assert _shown(app) == now_counted
    assert now_counted[("news", "email")] == (1, 4)  # 5 registered, 1 blocked
    assert now_counted[("new_invoice", "sms")] == (3, 4)  # its default is on, one said no
    assert subscriptions.subscription_counts(
        app, make_staff(app, StaffRole.MANAGER)).computed_at == app.now()
    analytics = metrics.subscriptions_by_channel(app, make_staff(app, StaffRole.MANAGER))
    assert {(s.topic, s.channel.value): (s.subscribed, s.active_cabinets)
            for s in analytics} == now_counted


def test_a_refresh_is_idempotent(app: App, clock) -> None:  # type: ignore[no-untyped-def]
    register_and_activate(app)
    subscription_rollup.refresh(app)
    once = _stored(app)
    clock.advance(seconds=61)
    subscription_rollup.refresh(app)
    twice = _stored(app)
    assert {k: v[:2] for k, v in twice.items()} == {k: v[:2] for k, v in once.items()}
    assert {v[2] for v in twice.values()} == {app.now()}
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(SubscriptionCountStat)) == 6


def test_an_older_count_never_replaces_a_newer_one(app: App, clock) -> None:  # type: ignore[no-untyped-def]
    register_and_activate(app)
    subscription_rollup.refresh(app)
    newer = _stored(app)
    older = {cell: (99, 99) for cell in newer}
    with app.uow() as uow:
        subscription_rollup.store(uow.session, older, app.now() - timedelta(minutes=1))
        uow.commit()
    assert _stored(app) == newer


def test_the_worker_refreshes_the_rollup_every_minute() -> None:
    job = {j.name: j for j in all_jobs()}["subscriptions.counts"]
    assert job.every == timedelta(minutes=1) and job.run is subscription_rollup.refresh
    assert subscription_rollup.REFRESH_NOTE == "обновляются каждую минуту"


def test_two_refreshes_at_once_one_skips_and_the_rollup_is_whole(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers on PostgreSQL: the second skips while the first counts (on SQLite both
    run, one after the other, and the later count stays)."""
    for _ in range(3):
        register_and_activate(app)
    real = subscription_rollup.live_cells

    def slow(session):  # type: ignore[no-untyped-def]
        cells = real(session)
        time.sleep(0.3)  # the first still counts while the second starts
        return cells

    monkeypatch.setattr(subscription_rollup, "live_cells", slow)
    outcomes = run_together([lambda: subscription_rollup.refresh(app)] * 2)
    assert not errors_of(outcomes), errors_of(outcomes)
    expected = [False, True] if app.engine.dialect.name == "postgresql" else [False, False]
    assert sorted(r.skipped for r in outcomes) == expected
    assert {k: v[:2] for k, v in _stored(app).items()} == _independent_counts(app)


def test_a_refresh_skips_while_another_process_refreshes(app: App) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises write transactions: a second run waits, it cannot overlap")
    register_and_activate(app)
    with held_elsewhere(app, "notifications.subscription_counts"):
        report = subscription_rollup.refresh(app)
        assert report.skipped and "другой процесс" in str(report)
        assert _stored(app) == {}
    assert not subscription_rollup.refresh(app).skipped
    assert {k: v[:2] for k, v in _stored(app).items()} == _independent_counts(app)


def test_a_cell_missing_from_the_rollup_means_a_live_count(app: App) -> None:
    register_and_activate(app)
    subscription_rollup.refresh(app)
    with app.uow() as uow:
        uow.session.execute(SubscriptionCountStat.__table__.delete().where(
            SubscriptionCountStat.channel == Channel.SMS,
            SubscriptionCountStat.topic == "news"))
        uow.commit()
    counts = subscriptions.subscription_counts(app, make_staff(app, StaffRole.AGENT))
    assert counts.live
    assert {(c.topic, c.channel.value): (c.subscribed, c.total)
            for c in counts.cells} == _independent_counts(app)
