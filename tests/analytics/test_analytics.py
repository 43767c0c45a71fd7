"""Manager analytics: every figure equals an independent recomputation from the raw
rows (payments, customers, blocks, bindings, invoices, subscriptions) done here in
plain Python; the service reads the rollups and aggregates in SQL."""
from __future__ import annotations

import io
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import insert, select

from core.db.models import (AccountBinding, AuditEntry, CabinetBlock, Customer, Invoice, Payment,
                            PaymentDailyStat, ProviderAccount, Subscription)
from core.billing.invoice_rules import InvoiceStatus
from core.actors import PermissionDenied, StaffRole
from core.notifications import subscriptions, template_rules as rules
from core.errors import ValidationError
from core.analytics import invoice_snapshot, metrics, rollups
from core.payments import flow
from core.customers import contact_center
from core.analytics.metrics import AnalyticsFilter
from core.timefmt import moscow_date
from tests.factories import customers
from tests.factories.billing import make_invoice
from tests.factories.payment_flow import (DECLINED_CARD, ERROR_CARD, INSUFFICIENT_CARD, last_otp,
                                          new_key, pay_invoice, payer)
from tests.factories.dbstate import snapshot

CHARGED = {"succeeded", "partially_refunded", "refunded"}
FINAL = CHARGED | {"declined", "failed", "expired"}
CURRENT = AnalyticsFilter(date(2026, 11, 20), date(2026, 11, 25))
PREVIOUS = AnalyticsFilter(date(2026, 11, 14), date(2026, 11, 19))


def _at(clock, moment: datetime) -> None:  # type: ignore[no-untyped-def]
    clock.advance(seconds=(moment - clock.now()).total_seconds())


def _pay_saved(app, p, invoice_id: int) -> None:  # type: ignore[no-untyped-def]
    """Pay an invoice with the payer's saved card (only the CVV typed again)."""
    with app.uow(write=False) as uow:
        from core.db.models import SavedCard
        card_id = uow.session.scalar(select(SavedCard.id).where(
            SavedCard.customer_id == p.customer_id, SavedCard.removed_at.is_(None)))
    view = flow.start_invoice_payment(app, p.token, invoice_id, new_key())
    view = flow.pay_with_saved_card(app, p.token, view.id, card_id, "123")
    if view.awaiting_otp:
        flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)


@pytest.fixture
def world(app, clock):  # type: ignore[no-untyped-def]
    """Payments, registrations and blocks across the previous and the current period."""
    admin = customers.make_staff(app, StaffRole.ADMIN)
    # --- previous period (16.11) ---
    _at(clock, datetime(2026, 11, 16, 10, 0, tzinfo=UTC))
    a = payer(app)  # provider A
    pay_invoice(app, a)  # succeeded (new card)
    a2 = payer(app, provider_id=a.provider_id)
    pay_invoice(app, a2, DECLINED_CARD)  # declined: issuer
    customers.register(app)  # never activated
    contact_center.block(app, admin, a2.customer_id, "Просьба клиента")
    # --- current period (22.11) ---
    _at(clock, datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    b = payer(app)  # provider B
    pay_invoice(app, b, save=True)  # succeeded, card saved
    second = make_invoice(app, b.account_id, date(2026, 11, 1), 80_000,
                          due_date=date(2026, 11, 21))
    _pay_saved(app, b, second)  # succeeded with the saved card: paid again, and late
    c = payer(app, provider_id=a.provider_id)
    pay_invoice(app, c, INSUFFICIENT_CARD)  # declined: insufficient funds
    pay_invoice(app, c, ERROR_CARD)  # failed
    pay_invoice(app, c)  # succeeded
    d = payer(app, provider_id=a.provider_id)
    pay_invoice(app, d, confirm=False)  # awaiting the password: not final, not counted
    make_invoice(app, d.account_id, date(2026, 11, 1), 10_000,
                 due_date=date(2026, 11, 20))  # overdue
    make_invoice(app, c.account_id, date(2026, 11, 1), 20_000,
                 due_date=date(2026, 12, 10))  # not yet due
    customers.register(app)  # never activated
    # one customer unsubscribes from new-invoice SMS
    subscriptions.set_subscription(app, b.token, "new_invoice", "sms", False)
    # a block opened in the current period and one from before that was lifted in it
    contact_center.block(app, admin, c.customer_id, "Утерян телефон")
    _at(clock, datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    return {"a": a, "b": b, "c": c, "d": d, "admin": admin,
            "manager": customers.make_staff(app, StaffRole.MANAGER),
            "finance": customers.make_staff(app, StaffRole.FINANCE),
            "agent": customers.make_staff(app, StaffRole.AGENT)}


# --- independent recomputation from the raw rows ---------------------------------------

def _raw(app):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        s = uow.session
        return {
            "payments": s.execute(select(
                Payment.customer_id, Payment.provider_id, Payment.status, Payment.amount,
                Payment.commission, Payment.saved_card_id, Payment.decline_code,
                Payment.created_at, Payment.refunded_amount, Payment.invoice_id,
                Payment.finalized_at)).all(),
            "customers": s.execute(select(Customer.id, Customer.registered_at,
                                          Customer.activated_at)).all(),
            "blocks": s.execute(select(CabinetBlock.customer_id, CabinetBlock.blocked_at,
                                       CabinetBlock.lifted_at)).all(),
            "bindings": s.execute(select(AccountBinding.customer_id, ProviderAccount.provider_id)
                                  .join(ProviderAccount, ProviderAccount.id
                                        == AccountBinding.provider_account_id)).all(),
            "invoices": s.execute(select(Invoice.id, Invoice.period, Invoice.due_date,
                                         Invoice.status, ProviderAccount.provider_id)
                                  .join(ProviderAccount, ProviderAccount.id
                                        == Invoice.provider_account_id)).all(),
            "subscriptions": s.execute(select(Subscription.customer_id, Subscription.topic,
                                              Subscription.channel, Subscription.enabled)).all(),
        }


def _in(moment: datetime | None, flt: AnalyticsFilter) -> bool:
    return moment is not None and flt.date_from <= moscow_date(moment) <= flt.date_to


def _provider_ok(provider_id: int, flt: AnalyticsFilter) -> bool:
    return not flt.provider_ids or provider_id in flt.provider_ids


def _expected_kpis(raw, flt: AnalyticsFilter) -> dict[str, object]:  # type: ignore[no-untyped-def]
    pays = [p for p in raw["payments"] if _in(p.created_at, flt)
            and _provider_ok(p.provider_id, flt) and p.status in FINAL]
    ok = [p for p in pays if p.status in CHARGED]
    end = datetime.combine(flt.date_to + timedelta(days=1), datetime.min.time(),
                           tzinfo=UTC) - timedelta(hours=3)
    registered = [c for c in raw["customers"] if _in(c.registered_at, flt)]
    return dict(
        attempts=len(pays), payments=len(ok), amount=sum(p.amount for p in ok),
        commission=sum(p.commission for p in ok), refunded=sum(p.refunded_amount for p in pays),
        saved_card_payments=sum(1 for p in ok if p.saved_card_id is not None),
        active_cabinets=len({p.customer_id for p in ok if p.customer_id is not None}),
        registrations=len(registered),
        activated=sum(1 for c in registered if c.activated_at is not None),
        blocked_cabinets=len({b.customer_id for b in raw["blocks"] if b.blocked_at < end
                              and (b.lifted_at is None or b.lifted_at >= end)}),
        new_blocks=sum(1 for b in raw["blocks"] if _in(b.blocked_at, flt)))


def _ratio(a: int, b: int) -> Decimal | None:
    return Decimal(a) / Decimal(b) if b else None


def _check_kpis(raw, got: metrics.KpiFigures, flt: AnalyticsFilter) -> None:  # type: ignore[no-untyped-def]
    want = _expected_kpis(raw, flt)
    for name, value in want.items():
        assert getattr(got, name) == value, name
    assert got.success_rate == _ratio(want["payments"], want["attempts"])
    assert got.activation_rate == _ratio(want["activated"], want["registrations"])
    assert got.saved_card_share == _ratio(want["saved_card_payments"], want["payments"])
    if want["payments"]:
        assert got.average_payment == round(Decimal(want["amount"]) / want["payments"])


# --- KPIs ----------------------------------------------------------------------------------

def test_kpis_equal_a_recomputation_from_raw_rows_with_the_previous_period(app, world):
    raw = _raw(app)
    result = metrics.kpis(app, world["manager"], CURRENT)
    assert result.previous.date_from == PREVIOUS.date_from
    assert result.previous.date_to == PREVIOUS.date_to
    _check_kpis(raw, result.current, CURRENT)
    _check_kpis(raw, result.previous, PREVIOUS)
    # The scenario is what it says: the numbers are not trivially zero.
    assert (result.current.payments, result.current.attempts) == (3, 5)
    assert (result.previous.payments, result.previous.attempts) == (1, 2)
    # the card saved while paying is linked to that payment too (as the rollups count it)
    assert result.current.saved_card_payments == 2
    assert result.current.active_cabinets == 2
    assert result.current.registrations == 4 and result.current.activated == 3
    assert result.current.blocked_cabinets == 2 and result.current.new_blocks == 1
    assert result.previous.blocked_cabinets == 1
    for name in ("payments", "amount", "commission", "active_cabinets", "registrations"):
        assert result.change(name) == getattr(result.current, name) - getattr(
            result.previous, name)
    assert result.change("success_rate") == Decimal(3) / 5 - Decimal(1) / 2


def test_kpis_by_provider_and_empty_period(app, world):
    raw = _raw(app)
    a_only = AnalyticsFilter(CURRENT.date_from, CURRENT.date_to, (world["a"].provider_id,))
    got = metrics.kpis(app, world["finance"], a_only)
    _check_kpis(raw, got.current, a_only)
    assert got.current.payments == 1 and got.current.attempts == 3
    empty = metrics.kpis(app, world["admin"], AnalyticsFilter(date(2025, 1, 1),
                                                              date(2025, 1, 31)))
    assert empty.current.payments == 0 and empty.current.success_rate is None
    assert empty.current.average_payment is None and empty.change("success_rate") is None


def test_kpis_read_the_rollups_which_rebuild_restores(app, world):
    """Rows written around the rollups are not seen until the rollups are rebuilt; after a
    rebuild the figures are the same as those kept up to date by the payments."""
    before = metrics.kpis(app, world["manager"], CURRENT)
    with app.uow() as uow:
        uow.session.execute(PaymentDailyStat.__table__.delete())
        uow.commit()
    assert metrics.kpis(app, world["manager"], CURRENT).current.payments == 0
    with app.uow() as uow:
        assert rollups.rebuild(uow.session) > 0
        uow.commit()
    assert metrics.kpis(app, world["manager"], CURRENT) == before


# --- funnel, series, declines, invoices, subscriptions -----------------------------------------

def _expected_funnel(raw, flt: AnalyticsFilter) -> list[int]:  # type: ignore[no-untyped-def]
    cohort = [c for c in raw["customers"] if _in(c.registered_at, flt)]
    activated = [c for c in cohort if c.activated_at is not None]
    bound_ids = {b.customer_id for b in raw["bindings"] if _provider_ok(b.provider_id, flt)}
    bound = [c for c in activated if c.id in bound_ids]
    paid = Counter(p.customer_id for p in raw["payments"] if p.status in CHARGED
                   and _provider_ok(p.provider_id, flt))
    return [len(cohort), len(activated), len(bound),
            sum(1 for c in bound if paid[c.id] >= 1), sum(1 for c in bound if paid[c.id] >= 2)]


def test_funnel_equals_recomputation(app, world):
    raw = _raw(app)
    for flt in (CURRENT, PREVIOUS, replace(CURRENT, provider_ids=(world["b"].provider_id,))):
        steps = metrics.funnel(app, world["manager"], flt)
        assert [s.customers for s in steps] == _expected_funnel(raw, flt)
    steps = metrics.funnel(app, world["manager"], CURRENT)
    assert [s.customers for s in steps] == [4, 3, 3, 2, 1]
    assert [s.label for s in steps] == list(metrics.FUNNEL_STEPS)
    assert steps[3].share_of_previous == Decimal(2) / 3


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_time_series_equals_recomputation(app, world, grain):
    raw = _raw(app)
    flt = AnalyticsFilter(date(2026, 10, 28), date(2026, 11, 25))

    def bucket(day: date) -> date:
        if grain == "week":
            return day - timedelta(days=day.weekday())
        return day.replace(day=1) if grain == "month" else day

    total: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    per_provider: dict[tuple[date, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for p in raw["payments"]:
        if not _in(p.created_at, flt) or p.status not in FINAL:
            continue
        charged = p.status in CHARGED
        for row in (total[bucket(moscow_date(p.created_at))],
                    per_provider[(bucket(moscow_date(p.created_at)), p.provider_id)]):
            row[0] += 1
            row[1] += charged
            row[2] += p.amount if charged else 0
            row[3] += p.commission if charged else 0
    series = metrics.time_series(app, world["manager"], flt, grain)
    assert {p.bucket: [p.attempts, p.payments, p.amount, p.commission]
            for p in series if p.attempts} == dict(total)
    assert series[0].bucket == bucket(flt.date_from) and series[-1].bucket == bucket(flt.date_to)
    assert len({p.bucket for p in series}) == len(series)  # every bucket once, zeros too
    by = metrics.time_series(app, world["manager"], flt, grain, by_provider=True)
    assert {(p.bucket, p.provider_id): [p.attempts, p.payments, p.amount, p.commission]
            for p in by} == dict(per_provider)
    assert all(p.provider_name for p in by)


def test_decline_reasons_equal_recomputation(app, world):
    raw = _raw(app)
    for flt in (CURRENT, PREVIOUS, AnalyticsFilter(date(2026, 11, 1), date(2026, 11, 25))):
        want = Counter((p.status, p.decline_code or "") for p in raw["payments"]
                       if _in(p.created_at, flt) and p.status in FINAL - CHARGED)
        got = metrics.decline_reasons(app, world["manager"], flt)
        assert {(d.outcome, d.code): d.payments for d in got} == dict(want)
        assert [d.payments for d in got] == sorted((d.payments for d in got), reverse=True)
    got = metrics.decline_reasons(app, world["manager"], CURRENT)
    assert {d.label for d in got} == {"Недостаточно средств",
                                      "Ошибка обработки платежа, попробуйте позже"}
    assert sum(d.share for d in got) == 1


def test_invoices_on_time_equal_recomputation(app, world, clock):
    raw = _raw(app)
    today = moscow_date(clock.now())
    flt = AnalyticsFilter(date(2026, 10, 15), date(2026, 11, 25))
    last_paid: dict[int, datetime] = {}
    for p in raw["payments"]:
        if p.invoice_id and p.status in CHARGED:
            last_paid[p.invoice_id] = max(p.finalized_at, last_paid.get(p.invoice_id,
                                                                         p.finalized_at))
    want: dict[date, Counter[str]] = defaultdict(Counter)
    for inv in raw["invoices"]:
        if not (date(2026, 10, 1) <= inv.period <= flt.date_to):
            continue
        if inv.status is InvoiceStatus.PAID:
            paid = last_paid.get(inv.id)
            klass = "on_time" if paid is None or moscow_date(paid) <= inv.due_date else "late"
        else:
            klass = "overdue" if inv.due_date < today else "open"
        want[inv.period][klass] += 1
    assert metrics.invoices_on_time(app, world["manager"], flt) == []  # not refreshed yet
    report = invoice_snapshot.refresh_all(app)
    assert report.rows > 0 and "за все месяцы" in str(report)
    got = metrics.invoices_on_time(app, world["manager"], flt)
    assert {m.period: {k: getattr(m, k) for k in metrics.INVOICE_CLASSES if getattr(m, k)}
            for m in got} == {p: dict(c) for p, c in want.items()}
    november = next(m for m in got if m.period == date(2026, 11, 1))
    assert (november.late, november.overdue, november.open) == (1, 1, 1)
    october = next(m for m in got if m.period == date(2026, 10, 1))
    assert october.on_time == 3 and october.open == 2  # a, b, c paid; a2 and d await
    # A provider filter keeps only that provider's invoices.
    only_b = metrics.invoices_on_time(app, world["manager"],
                                      replace(flt, provider_ids=(world["b"].provider_id,)))
    assert sum(m.total for m in only_b) == 2


def test_subscriptions_by_channel_equal_recomputation(app, world):
    raw = _raw(app)
    blocked = {b.customer_id for b in raw["blocks"] if b.lifted_at is None}
    active = {c.id for c in raw["customers"] if c.activated_at is not None
              and c.id not in blocked}
    rows = {(s.customer_id, s.topic, s.channel.value): s.enabled for s in raw["subscriptions"]}
    got = metrics.subscriptions_by_channel(app, world["manager"], CURRENT)
    assert len(got) == len(rules.TOPICS) * len(rules.CHANNELS)
    for cell in got:
        want = sum(1 for cid in active if rows.get(
            (cid, cell.topic, cell.channel.value),
            rules.DEFAULT_SUBSCRIPTIONS[(cell.topic, cell.channel.value)]))
        assert (cell.subscribed, cell.active_cabinets) == (want, len(active)), cell
    sms_invoices = next(c for c in got if c.topic == "new_invoice" and c.channel.value == "sms")
    assert sms_invoices.subscribed == len(active) - 1


# --- validation and roles ---------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, field", [
    (dict(date_from=date(2026, 11, 25), date_to=date(2026, 11, 1)), "Период"),
    (dict(date_from=None, date_to=date(2026, 11, 1)), "Период"),
    (dict(date_from=date(2020, 1, 1), date_to=date(2026, 11, 1)), "Период"),
    (dict(date_from=datetime(2026, 11, 1, tzinfo=UTC), date_to=date(2026, 11, 2)), "Период"),
    (dict(date_from=date(2026, 11, 1), date_to=date(2026, 11, 2), provider_ids=(0,)),
     "Поставщик"),
    (dict(date_from=date(2026, 11, 1), date_to=date(2026, 11, 2), provider_ids=("1",)),
     "Поставщик"),
])
def test_bad_filters_are_refused_in_russian(kwargs, field):
    with pytest.raises(ValidationError) as error:
        AnalyticsFilter(**kwargs)
    assert str(error.value).startswith(f"{field}: ")


def test_unknown_provider_and_grain_refused_and_nothing_changes(app, world):
    before = snapshot(app)
    flt = AnalyticsFilter(CURRENT.date_from, CURRENT.date_to, (999_999,))
    for call in (metrics.kpis, metrics.funnel, metrics.decline_reasons,
                 metrics.invoices_on_time, metrics.export_report):
        with pytest.raises(ValidationError, match="^Поставщик: "):
            call(app, world["manager"], flt)
    with pytest.raises(ValidationError, match="^Шаг: "):
        metrics.time_series(app, world["manager"], CURRENT, "year")
    with pytest.raises(ValidationError, match="^Шаг: "):
        metrics.export_report(app, world["manager"], CURRENT, "year")
    assert snapshot(app) == before


def test_roles(app, world):
    before = snapshot(app)
    agent = world["agent"]
    for call in (metrics.kpis, metrics.funnel, metrics.time_series,
                 metrics.decline_reasons, metrics.invoices_on_time,
                 metrics.subscriptions_by_channel, metrics.export_report):
        with pytest.raises(PermissionDenied):
            call(app, agent, CURRENT)
    with pytest.raises(PermissionDenied):
        metrics.export_report(app, world["finance"], CURRENT)  # finance looks, no export
    assert snapshot(app) == before
    for role in ("manager", "admin", "finance"):
        assert metrics.kpis(app, world[role], CURRENT).current.payments == 3


# --- the Excel report -----------------------------------------------------------------------

def _sheet(book, name):  # type: ignore[no-untyped-def]
    rows = list(book[name].iter_rows(values_only=True))
    return rows[0], rows[1:]


def test_export_has_one_sheet_per_chart_with_the_same_numbers_and_is_journaled(app, world):
    flt = AnalyticsFilter(date(2026, 10, 28), date(2026, 11, 25))
    data = metrics.report(app, world["manager"], flt, "week")
    content = metrics.export_report(app, world["manager"], flt, "week")
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == list(metrics.SHEETS)

    _, rows = _sheet(book, "Показатели")
    by_label = {r[0]: r[1:] for r in rows}
    k = data.kpis
    assert by_label["Успешных платежей"] == (k.current.payments, k.previous.payments,
                                             k.change("payments"))
    assert by_label["Сумма платежей"][0] == pytest.approx(k.current.amount / 100)
    assert by_label["Успешность платежей"][0] == pytest.approx(float(k.current.success_rate))

    _, rows = _sheet(book, "Платежи")
    assert [(r[0].date(), r[1], round(Decimal(str(r[2])) * 100)) for r in rows] == [
        (p.bucket, p.payments, p.amount) for p in data.series]
    _, rows = _sheet(book, "По поставщикам")
    assert [(r[0].date(), r[1], r[2], round(Decimal(str(r[3])) * 100)) for r in rows] == [
        (p.bucket, p.provider_name, p.payments, p.amount) for p in data.by_provider]
    _, rows = _sheet(book, "Успешность")
    assert [(r[1], r[2]) for r in rows] == [(p.attempts, p.payments) for p in data.series]
    _, rows = _sheet(book, "Воронка")
    assert [(r[0], r[1]) for r in rows] == [(f.label, f.customers) for f in data.funnel]
    _, rows = _sheet(book, "Причины отказов")
    assert [(r[0], r[2]) for r in rows] == [(d.label, d.payments) for d in data.declines]
    _, rows = _sheet(book, "Счета в срок")
    assert [(r[0].date(), *r[1:6]) for r in rows] == [
        (m.period, m.on_time, m.late, m.overdue, m.open, m.total) for m in data.invoices]
    _, rows = _sheet(book, "Причины отказов")
    assert [r[3] for r in rows] == [pytest.approx(float(d.share)) for d in data.declines]
    _, rows = _sheet(book, "Подписки")
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (c.channel_label, c.topic_label, c.subscribed, c.active_cabinets)
        for c in data.subscriptions]

    with app.uow(write=False) as uow:
        entry = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "analytics.export")).one()
    assert entry.staff_id == world["manager"].staff_id
    assert entry.after["date_from"] == "2026-10-28" and entry.after["grain"] == "week"


def test_kpi_sheet_holds_numbers_with_the_format_of_their_unit(app, world):
    """Money and rates were written as the page's text («4 000,50 ₽», «66,7 %»): Excel
    could neither sum nor chart them. Each is now a number with its unit's format."""
    flt = CURRENT  # both it and the period before have payments
    k = metrics.report(app, world["manager"], flt).kpis
    book = openpyxl.load_workbook(io.BytesIO(metrics.export_report(app, world["manager"], flt)))
    cells = {row[0].value: row[1:] for row in book["Показатели"].iter_rows(min_row=2)}
    amount, before, change = cells["Сумма платежей"]
    assert amount.data_type == "n" and amount.value == pytest.approx(k.current.amount / 100)
    assert amount.number_format == before.number_format == change.number_format \
        == '#,##0.00 "₽"'
    assert change.value == pytest.approx(k.change("amount") / 100)
    count = cells["Успешных платежей"][0]
    assert (count.value, count.number_format) == (k.current.payments, "0")
    assert k.change("success_rate") is not None
    rate, _, points = cells["Успешность платежей"]
    assert rate.value == pytest.approx(float(k.current.success_rate))
    assert rate.number_format == "0.0%"
    assert points.value == pytest.approx(float(k.change("success_rate")) * 100)
    assert points.number_format.startswith('+0.0" п.п."')
    assert all(c.data_type == "n" or c.value == "—" for row in cells.values() for c in row)


def test_rollups_rebuild_after_a_bulk_load(app, world):
    """The demo loader writes payments around the rollups and rebuilds at the end: rows
    inserted in bulk count only after the rebuild (what ``seed_demo`` does)."""
    with app.uow() as uow:
        template = uow.session.execute(select(Payment.__table__).where(
            Payment.status == "succeeded")).mappings().first()
        row = dict(template)
        row.pop("id")
        row.pop("pan_last4")  # computed by the database
        row.update(idempotency_key="bulk-1", gateway_txn_id="bulk-txn-1",
                   created_at=datetime(2026, 11, 23, 8, 0, tzinfo=UTC), amount=12_345)
        uow.session.execute(insert(Payment), [row])
        uow.commit()
    assert metrics.kpis(app, world["manager"], CURRENT).current.payments == 3
    with app.uow() as uow:
        rollups.rebuild(uow.session)
        uow.commit()
    got = metrics.kpis(app, world["manager"], CURRENT).current
    assert got.payments == 4
    _check_kpis(_raw(app), got, CURRENT)
