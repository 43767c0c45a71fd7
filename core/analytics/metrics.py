"""Manager analytics: KPIs, funnel, time series, decline reasons, invoices on time,
subscriptions by channel, and the Excel report behind every chart.

Where the figures come from (never a GROUP BY over the whole payments table):
- payment volumes, outcomes, decline reasons, saved-card share and commission: the
  daily rollups (``payment_daily_stats``, see ``core.analytics.rollups``), summed in SQL;
  a payment belongs to the Moscow day it was *created* on;
- active cabinets (a successful payment created in the period) and the funnel's
  «first payment / paid again»: one indexed query over the period's (or the cohort's)
  payments, grouped in the database;
- customers, blocks, bindings, invoices and subscriptions: aggregate queries in SQL.

Rules chosen where the brief left room (the page says them in words too):
- «Платежи», «Сумма», «Комиссия», «Средний платёж» count successful payments (refunds
  later on do not undo them; the refunded sum is its own figure). «Успешность» is
  successful / all final attempts (declined, failed, expired included; pending are not
  final and not counted yet).
- New registrations and the funnel are a cohort: the cabinets registered in the period,
  followed to today. The funnel is nested: each step counts only cabinets that passed
  the one before (activated → bound an account → ≥1 successful payment → ≥2). With a
  provider filter, binding and payments count for those providers only; registrations,
  activation and blocks have no provider and ignore it.
- «Заблокированные кабинеты»: cabinets with a block open at the end of the period;
  «Новые блокировки»: blocks started in the period.
- Invoices on time vs late, per billed month (invoices of months from the month of
  «с» to «по»): «Оплачен в срок» — paid in full and the last successful payment for it
  was made on or before the due date (Moscow day); «Оплачен с опозданием» — paid in
  full, the last payment after the due date; «Не оплачен, срок прошёл» — not paid in
  full and the due date has passed; «Ожидает оплаты» — not paid in full, not yet due.
  A customer's own «отмечен как оплаченный» mark is not a payment and is ignored.
- Subscriptions by channel are today's state of active (activated, not blocked)
  cabinets; the period and providers do not apply.

Money is in kopecks here; rates are Decimal fractions (0..1) or None when there is
nothing to divide by. Formatting belongs to the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from core.actors import StaffActor, require_role
from core.app import App
from core.db.models import (AccountBinding, CabinetBlock, Customer, InvoiceMonthStat, Payment,
                            PaymentDailyStat, Provider, ProviderAccount)
from core.notifications.channels import Channel
from core.notifications import template_rules as rules
from core.errors import ValidationError
from core.payments.gateway import DECLINE_MESSAGES
from core.payments import machine
from core.files import exports
from core.staff import audit, permissions
from core.notifications.subscription_rollup import counted as counted_subscriptions
from core.timefmt import moscow_day_start

VIEWERS = permissions.ANALYTICS_READERS
# Finance may look at «Аналитика» but not export it: the report is the managers' tool.
EXPORTERS = permissions.ANALYTICS_EXPORTERS
MAX_DAYS = 731  # two years (a leap year included)
GRAINS: dict[str, str] = {"day": "по дням", "week": "по неделям", "month": "по месяцам"}
CHARGED = machine.values(machine.CHARGED)
OUTCOME_LABELS = {"declined": "Отказ банка", "failed": "Ошибка обработки",
                  "expired": "Истёк срок подтверждения"}
INVOICE_CLASSES: dict[str, str] = {
    "on_time": "Оплачен в срок", "late": "Оплачен с опозданием",
    "overdue": "Не оплачен, срок прошёл", "open": "Ожидает оплаты",
}
FUNNEL_STEPS: tuple[str, ...] = ("Зарегистрировались", "Активировали кабинет",
                                 "Привязали лицевой счёт", "Оплатили первый раз",
                                 "Оплатили повторно")


# --- the filter -----------------------------------------------------------------

@dataclass(frozen=True)
class AnalyticsFilter:
    """A period of Moscow days (both inclusive) and, optionally, some providers."""

    date_from: date
    date_to: date
    provider_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for value in (self.date_from, self.date_to):
            if value is None or isinstance(value, datetime) or not isinstance(value, date):
                raise ValidationError("Период", "укажите даты «с» и «по»", field="date_from")
        if self.date_from > self.date_to:
            raise ValidationError("Период", "дата «с» позже даты «по»", field="date_from")
        if self.days > MAX_DAYS:
            raise ValidationError("Период", "не длиннее двух лет", field="date_to")
        ids = tuple(self.provider_ids or ())
        if any(isinstance(i, bool) or not isinstance(i, int) or i <= 0 for i in ids):
            raise ValidationError("Поставщик", "выберите поставщика из списка",
                                  field="provider_ids")
        object.__setattr__(self, "provider_ids", tuple(sorted(set(ids))))

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> AnalyticsFilter:
        """The period of the same length just before this one, same providers."""
        return AnalyticsFilter(self.date_from - timedelta(days=self.days),
                               self.date_from - timedelta(days=1), self.provider_ids)

    @property
    def start(self) -> datetime:
        return moscow_day_start(self.date_from)

    @property
    def end(self) -> datetime:
        """The UTC moment after the period (exclusive)."""
        return moscow_day_start(self.date_to + timedelta(days=1))


def _check(session: Session, flt: AnalyticsFilter) -> None:
    if not isinstance(flt, AnalyticsFilter):
        raise ValidationError("Период", "укажите даты «с» и «по»", field="date_from")
    if flt.provider_ids:
        known = set(session.scalars(select(Provider.id).where(Provider.id.in_(flt.provider_ids))))
        if known != set(flt.provider_ids):
            raise ValidationError("Поставщик", "такого поставщика нет", field="provider_ids")


def ratio(part: int, whole: int) -> Decimal | None:
    return None if not whole else Decimal(part) / Decimal(whole)


def _average(amount: int, count: int) -> int | None:
    if not count:
        return None
    return int((Decimal(amount) / count).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_rate(rate: Decimal | None) -> str:
    """0.8534 -> «85,3 %»; None -> «—»."""
    if rate is None:
        return "—"
    return f"{(rate * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}".replace(
        ".", ",") + "\u00a0%"


# --- SQL helpers ------------------------------------------------------------------

def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _bucket(session: Session, day: Any, grain: str) -> Any:
    """SQL: the first day of the day's week (Monday) or month."""
    if grain == "day":
        return day
    if _dialect(session) == "sqlite":
        if grain == "week":
            return func.date(day, "-6 days", "weekday 1")
        return func.date(day, "start of month")
    return func.date(func.date_trunc(grain, day))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _rollup_where(flt: AnalyticsFilter) -> list[Any]:
    conditions = [PaymentDailyStat.day >= flt.date_from, PaymentDailyStat.day <= flt.date_to]
    if flt.provider_ids:
        conditions.append(PaymentDailyStat.provider_id.in_(flt.provider_ids))
    return conditions


def _payment_where(flt: AnalyticsFilter) -> list[Any]:
    conditions = [Payment.created_at >= flt.start, Payment.created_at < flt.end,
                  Payment.status.in_(CHARGED)]
    if flt.provider_ids:
        conditions.append(Payment.provider_id.in_(flt.provider_ids))
    return conditions


def _succeeded() -> Any:
    return PaymentDailyStat.outcome == "succeeded"


# --- KPIs ------------------------------------------------------------------------

@dataclass(frozen=True)
class KpiFigures:
    date_from: date
    date_to: date
    attempts: int  # final payments of any outcome
    payments: int  # successful ones
    amount: int  # kopecks, successful payments
    commission: int  # kopecks earned on them
    refunded: int  # kopecks returned (of payments created in the period)
    saved_card_payments: int  # successful, paid with a saved card
    active_cabinets: int  # cabinets with a successful payment created in the period
    registrations: int  # cabinets registered in the period
    activated: int  # of those, activated (by today)
    blocked_cabinets: int  # cabinets with a block open at the end of the period
    new_blocks: int  # blocks started in the period

    @property
    def success_rate(self) -> Decimal | None:
        return ratio(self.payments, self.attempts)

    @property
    def average_payment(self) -> int | None:
        return _average(self.amount, self.payments)

    @property
    def activation_rate(self) -> Decimal | None:
        return ratio(self.activated, self.registrations)

    @property
    def saved_card_share(self) -> Decimal | None:
        return ratio(self.saved_card_payments, self.payments)


# (attribute, Russian label, unit: "int" | "money" | "rate")
KPI_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("payments", "Успешных платежей", "int"),
    ("amount", "Сумма платежей", "money"),
    ("success_rate", "Успешность платежей", "rate"),
    ("average_payment", "Средний платёж", "money"),
    ("commission", "Комиссия", "money"),
    ("active_cabinets", "Активные кабинеты", "int"),
    ("registrations", "Новые регистрации", "int"),
    ("activation_rate", "Доля активированных", "rate"),
    ("blocked_cabinets", "Заблокированные кабинеты", "int"),
    ("new_blocks", "Новые блокировки", "int"),
    ("saved_card_share", "Доля оплат привязанной картой", "rate"),
    ("attempts", "Попыток оплаты", "int"),
    ("refunded", "Возвращено", "money"),
)


@dataclass(frozen=True)
class Kpis:
    current: KpiFigures
    previous: KpiFigures

    def value(self, name: str) -> Any:
        return getattr(self.current, name)

    def change(self, name: str) -> Any:
        """Current minus previous (kopecks, counts, or a Decimal fraction for rates);
        None when either side has no value."""
        now, before = getattr(self.current, name), getattr(self.previous, name)
        if now is None or before is None:
            return None
        return now - before


def _figures(session: Session, flt: AnalyticsFilter) -> KpiFigures:
    ok = _succeeded()
    row = session.execute(select(
        func.coalesce(func.sum(PaymentDailyStat.payments), 0),
        func.coalesce(func.sum(case((ok, PaymentDailyStat.payments), else_=0)), 0),
        func.coalesce(func.sum(PaymentDailyStat.amount), 0),
        func.coalesce(func.sum(PaymentDailyStat.commission), 0),
        func.coalesce(func.sum(PaymentDailyStat.refunded), 0),
        func.coalesce(func.sum(case((and_(ok, PaymentDailyStat.saved_card.is_(True)),
                                     PaymentDailyStat.payments), else_=0)), 0),
    ).where(*_rollup_where(flt))).one()
    attempts, payments, amount, commission, refunded, saved = (int(v) for v in row)
    active = int(session.scalar(select(func.count(distinct(Payment.customer_id)))
                                .where(*_payment_where(flt),
                                       Payment.customer_id.is_not(None))) or 0)
    registered = and_(Customer.registered_at >= flt.start, Customer.registered_at < flt.end)
    registrations, activated = (int(v or 0) for v in session.execute(select(
        func.count(), func.sum(case((Customer.activated_at.is_not(None), 1), else_=0)))
        .select_from(Customer).where(registered)).one())
    blocked = int(session.scalar(
        select(func.count(distinct(CabinetBlock.customer_id))).where(
            CabinetBlock.blocked_at < flt.end,
            or_(CabinetBlock.lifted_at.is_(None), CabinetBlock.lifted_at >= flt.end))) or 0)
    new_blocks = int(session.scalar(select(func.count()).select_from(CabinetBlock).where(
        CabinetBlock.blocked_at >= flt.start, CabinetBlock.blocked_at < flt.end)) or 0)
    return KpiFigures(date_from=flt.date_from, date_to=flt.date_to, attempts=attempts,
                      payments=payments, amount=amount, commission=commission,
                      refunded=refunded, saved_card_payments=saved, active_cabinets=active,
                      registrations=registrations, activated=activated,
                      blocked_cabinets=blocked, new_blocks=new_blocks)


def kpis(app: App, actor: StaffActor, flt: AnalyticsFilter) -> Kpis:
    """The KPI tiles of the period and of the period of the same length before it."""
    require_role(actor, VIEWERS, "аналитика")
    with app.uow(write=False) as uow:
        _check(uow.session, flt)
        return Kpis(current=_figures(uow.session, flt),
                    previous=_figures(uow.session, flt.previous()))


# --- funnel -----------------------------------------------------------------------

@dataclass(frozen=True)
class FunnelStep:
    label: str
    customers: int
    share_of_first: Decimal | None  # of the registered
    share_of_previous: Decimal | None  # of the step before


def _funnel_counts(session: Session, flt: AnalyticsFilter) -> list[int]:
    """Five counts in two queries. Bindings are read as one IN-list (the table has no
    index on the customer alone), payments per cabinet through ix_payments_customer
    (a correlated count per cohort cabinet: the cohort's payments only, never the whole
    table)."""
    cohort = [Customer.registered_at >= flt.start, Customer.registered_at < flt.end]
    binding = select(AccountBinding.customer_id)
    if flt.provider_ids:
        binding = binding.join(ProviderAccount,
                               ProviderAccount.id == AccountBinding.provider_account_id
                               ).where(ProviderAccount.provider_id.in_(flt.provider_ids))
    activated = Customer.activated_at.is_not(None)
    bound = and_(activated, Customer.id.in_(binding))
    registered, activated_count, bound_count = (int(v or 0) for v in session.execute(select(
        func.count(), func.sum(case((activated, 1), else_=0)),
        func.sum(case((bound, 1), else_=0)),
    ).select_from(Customer).where(*cohort)).one())
    paid_where = [Payment.customer_id == Customer.id, Payment.status.in_(CHARGED)]
    if flt.provider_ids:
        paid_where.append(Payment.provider_id.in_(flt.provider_ids))
    paid = select(func.count()).select_from(Payment).where(*paid_where).scalar_subquery()
    per_customer = select(paid.label("n")).where(*cohort, bound).subquery()
    first, again = (int(v or 0) for v in session.execute(select(
        func.sum(case((per_customer.c.n >= 1, 1), else_=0)),
        func.sum(case((per_customer.c.n >= 2, 1), else_=0)))).one())
    return [registered, activated_count, bound_count, first, again]


def funnel(app: App, actor: StaffActor, flt: AnalyticsFilter) -> list[FunnelStep]:
    """Cabinets registered in the period, step by step (see the module's rules)."""
    require_role(actor, VIEWERS, "аналитика")
    with app.uow(write=False) as uow:
        _check(uow.session, flt)
        counts = _funnel_counts(uow.session, flt)
    steps = []
    for index, (label, count) in enumerate(zip(FUNNEL_STEPS, counts)):
        steps.append(FunnelStep(label=label, customers=count,
                                share_of_first=ratio(count, counts[0]),
                                share_of_previous=ratio(count, counts[index - 1])
                                if index else ratio(count, counts[0])))
    return steps


# --- time series ---------------------------------------------------------------------

@dataclass(frozen=True)
class SeriesPoint:
    bucket: date  # the day, the Monday of the week, or the first day of the month
    provider_id: int | None  # None: all the chosen providers together
    provider_name: str | None
    attempts: int
    payments: int  # successful
    amount: int  # kopecks
    commission: int

    @property
    def success_rate(self) -> Decimal | None:
        return ratio(self.payments, self.attempts)


def _buckets(flt: AnalyticsFilter, grain: str) -> list[date]:
    """Every bucket the period touches, in order (so a quiet day shows as zero)."""
    out: list[date] = []
    day = flt.date_from
    if grain == "week":
        day -= timedelta(days=day.weekday())
    elif grain == "month":
        day = day.replace(day=1)
    while day <= flt.date_to:
        out.append(day)
        if grain == "day":
            day += timedelta(days=1)
        elif grain == "week":
            day += timedelta(days=7)
        else:
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def time_series(app: App, actor: StaffActor, flt: AnalyticsFilter, grain: str = "day",
                by_provider: bool = False) -> list[SeriesPoint]:
    """Payments per day / week (from Monday) / month, in total or per provider; every
    bucket of the period appears (zeros included) in the total series."""
    require_role(actor, VIEWERS, "аналитика")
    if grain not in GRAINS:
        raise ValidationError("Шаг", "выберите дни, недели или месяцы", field="grain")
    with app.uow(write=False) as uow:
        s = uow.session
        _check(s, flt)
        inner = select(_bucket(s, PaymentDailyStat.day, grain).label("bucket"),
                       PaymentDailyStat.provider_id.label("provider_id"),
                       PaymentDailyStat.payments.label("attempts"),
                       case((_succeeded(), PaymentDailyStat.payments), else_=0).label("ok"),
                       PaymentDailyStat.amount.label("amount"),
                       PaymentDailyStat.commission.label("commission")
                       ).where(*_rollup_where(flt)).subquery()
        keys = [inner.c.bucket] + ([inner.c.provider_id] if by_provider else [])
        rows = s.execute(select(*keys, func.sum(inner.c.attempts), func.sum(inner.c.ok),
                                func.sum(inner.c.amount), func.sum(inner.c.commission))
                         .group_by(*keys).order_by(*keys)).all()
        names = dict(s.execute(select(Provider.id, Provider.name)).all()) if by_provider \
            else {}
    if by_provider:
        points = [SeriesPoint(bucket=_as_date(r[0]), provider_id=int(r[1]),
                              provider_name=names.get(r[1], str(r[1])), attempts=int(r[2]),
                              payments=int(r[3]), amount=int(r[4]), commission=int(r[5]))
                  for r in rows]
        return sorted(points, key=lambda p: (p.bucket, p.provider_name or ""))
    found = {_as_date(r[0]): r for r in rows}
    points = []
    for bucket in _buckets(flt, grain):
        r = found.get(bucket)
        points.append(SeriesPoint(bucket=bucket, provider_id=None, provider_name=None,
                                  attempts=int(r[1]) if r else 0, payments=int(r[2]) if r else 0,
                                  amount=int(r[3]) if r else 0,
                                  commission=int(r[4]) if r else 0))
    return points


# --- decline reasons -------------------------------------------------------------------

@dataclass(frozen=True)
class DeclineReason:
    outcome: str  # declined | failed | expired
    code: str  # '' when the gateway gave none
    label: str
    payments: int
    share: Decimal | None  # of all unsuccessful payments of the period


def decline_label(outcome: str, code: str) -> str:
    if code in DECLINE_MESSAGES:
        return DECLINE_MESSAGES[code]
    if code == "otp_expired":
        return "Истёк срок действия кода подтверждения"
    base = OUTCOME_LABELS.get(outcome, outcome)
    return f"{base}: {code}" if code else base


def decline_reasons(app: App, actor: StaffActor, flt: AnalyticsFilter,
                    limit: int | None = None) -> list[DeclineReason]:
    """Unsuccessful payments by reason, most frequent first."""
    require_role(actor, VIEWERS, "аналитика")
    with app.uow(write=False) as uow:
        _check(uow.session, flt)
        total = func.sum(PaymentDailyStat.payments)
        rows = uow.session.execute(
            select(PaymentDailyStat.outcome, PaymentDailyStat.decline_code, total)
            .where(*_rollup_where(flt), ~_succeeded())
            .group_by(PaymentDailyStat.outcome, PaymentDailyStat.decline_code)).all()
    rows = [r for r in rows if int(r[2] or 0) > 0]
    whole = sum(int(r[2]) for r in rows)
    reasons = sorted((DeclineReason(outcome=r[0], code=r[1] or "",
                                    label=decline_label(r[0], r[1] or ""), payments=int(r[2]),
                                    share=ratio(int(r[2]), whole)) for r in rows),
                     key=lambda d: (-d.payments, d.label))
    return reasons[:limit] if limit else reasons


# --- invoices on time ------------------------------------------------------------------

@dataclass(frozen=True)
class InvoiceMonth:
    period: date  # the billed month (its first day)
    on_time: int
    late: int
    overdue: int
    open: int

    @property
    def total(self) -> int:
        return self.on_time + self.late + self.overdue + self.open

    @property
    def on_time_rate(self) -> Decimal | None:
        """Of the invoices paid in full, the share paid by the due date."""
        return ratio(self.on_time, self.on_time + self.late)


def invoices_on_time(app: App, actor: StaffActor, flt: AnalyticsFilter) -> list[InvoiceMonth]:
    """Invoices of the billed months the period touches, classified (module rules),
    from the snapshot ``core.analytics.invoice_snapshot`` keeps."""
    require_role(actor, VIEWERS, "аналитика")
    with app.uow(write=False) as uow:
        s = uow.session
        _check(s, flt)
        chosen = [InvoiceMonthStat.period >= flt.date_from.replace(day=1),
                  InvoiceMonthStat.period <= flt.date_to]
        if flt.provider_ids:
            chosen.append(InvoiceMonthStat.provider_id.in_(flt.provider_ids))
        rows = s.execute(select(InvoiceMonthStat.period, InvoiceMonthStat.klass,
                                func.sum(InvoiceMonthStat.invoices))
                         .where(*chosen)
                         .group_by(InvoiceMonthStat.period, InvoiceMonthStat.klass)).all()
    months: dict[date, dict[str, int]] = {}
    for period, klass_name, count in rows:
        months.setdefault(_as_date(period), dict.fromkeys(INVOICE_CLASSES, 0))[klass_name] = \
            int(count)
    return [InvoiceMonth(period=p, **months[p]) for p in sorted(months)]


# --- subscriptions ------------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelSubscriptions:
    channel: Channel
    channel_label: str
    topic: str
    topic_label: str
    subscribed: int  # active cabinets receiving this topic over this channel
    active_cabinets: int

    @property
    def share(self) -> Decimal | None:
        return ratio(self.subscribed, self.active_cabinets)


def subscriptions_by_channel(app: App, actor: StaffActor,
                             flt: AnalyticsFilter | None = None) -> list[ChannelSubscriptions]:
    """Today's subscriptions of active cabinets per channel and topic, as the worker last
    counted them (``subscription_rollup``: a live count until its first refresh)."""
    require_role(actor, VIEWERS, "аналитика")
    with app.uow(write=False) as uow:
        if flt is not None:
            _check(uow.session, flt)
        counted = counted_subscriptions(uow.session, app.now()).cells
    return [ChannelSubscriptions(
        channel=Channel(channel), channel_label=rules.CHANNELS[channel], topic=topic,
        topic_label=rules.TOPICS[topic], subscribed=counted[(topic, channel)][0],
        active_cabinets=counted[(topic, channel)][1])
        for channel in rules.CHANNELS for topic in rules.TOPICS]


# --- providers for the filter ------------------------------------------------------------

def provider_choices(app: App, actor: StaffActor) -> list[tuple[int, str]]:
    require_role(actor, VIEWERS, "аналитика")
    with app.uow(write=False) as uow:
        return [(int(i), n) for i, n in uow.session.execute(
            select(Provider.id, Provider.name).order_by(Provider.name))]


# --- the Excel report ------------------------------------------------------------------------

@dataclass(frozen=True)
class Report:
    """Everything the page draws, read once (the page caches it; the export reuses it)."""

    flt: AnalyticsFilter
    grain: str
    kpis: Kpis
    series: list[SeriesPoint]
    by_provider: list[SeriesPoint]
    funnel: list[FunnelStep]
    declines: list[DeclineReason]
    invoices: list[InvoiceMonth]
    subscriptions: list[ChannelSubscriptions] = field(default_factory=list)


def report(app: App, actor: StaffActor, flt: AnalyticsFilter, grain: str = "day") -> Report:
    return Report(flt=flt, grain=grain, kpis=kpis(app, actor, flt),
                  series=time_series(app, actor, flt, grain),
                  by_provider=time_series(app, actor, flt, grain, by_provider=True),
                  funnel=funnel(app, actor, flt),
                  declines=decline_reasons(app, actor, flt),
                  invoices=invoices_on_time(app, actor, flt),
                  subscriptions=subscriptions_by_channel(app, actor, flt))


# Sheet names, one per chart (plus the KPI tiles first).
SHEETS: tuple[str, ...] = ("Показатели", "Платежи", "По поставщикам", "Успешность",
                           "Воронка", "Причины отказов", "Счета в срок", "Подписки")
_C = exports.Column


def _kpi_cell(unit: str, value: Any) -> object:
    """A KPI as the sheet holds it: a number Excel can sum and chart, with the format of
    its unit (one column mixes counts, money and rates, so each cell says its own kind);
    «—» when there is nothing to divide by."""
    if value is None:
        return "—"
    if unit == "money":
        return exports.Typed(int(value), "money")
    if unit == "rate":
        return exports.Typed(value, "rate")
    return exports.Typed(int(value), "int")


def format_rate_change(delta: Decimal | None) -> str:
    """A change of a rate in percentage points: «+2,5 п.п.»."""
    if delta is None:
        return "—"
    points = (delta * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{points:+}".replace(".", ",") + "\u00a0п.п."


def _kpi_change(k: Kpis, name: str, unit: str) -> object:
    delta = k.change(name)
    if unit == "rate":
        return "—" if delta is None else exports.Typed(delta, "points")
    return _kpi_cell(unit, delta)


def _sheets(r: Report) -> list[exports.Sheet]:
    k = r.kpis
    now = f"{k.current.date_from:%d.%m.%Y}–{k.current.date_to:%d.%m.%Y}"
    before = f"{k.previous.date_from:%d.%m.%Y}–{k.previous.date_to:%d.%m.%Y}"
    kpi_columns = [_C("Показатель", width=34), _C(f"Период {now}", "mixed", 24),
                   _C(f"Предыдущий период {before}", "mixed", 24),
                   _C("Изменение", "mixed", 18)]
    kpi_rows = [[label, _kpi_cell(unit, getattr(k.current, name)),
                 _kpi_cell(unit, getattr(k.previous, name)), _kpi_change(k, name, unit)]
                for name, label, unit in KPI_FIELDS]
    bucket = _C({"day": "День", "week": "Неделя с", "month": "Месяц"}[r.grain], "date", 14)
    return [
        exports.Sheet(SHEETS[0], kpi_columns, kpi_rows),
        exports.Sheet(SHEETS[1], [bucket, _C("Успешных платежей", "int"),
                                  _C("Сумма", "money"), _C("Комиссия", "money")],
                      [[p.bucket, p.payments, p.amount, p.commission] for p in r.series]),
        exports.Sheet(SHEETS[2], [bucket, _C("Поставщик", width=34),
                                  _C("Успешных платежей", "int"), _C("Сумма", "money"),
                                  _C("Комиссия", "money")],
                      [[p.bucket, p.provider_name, p.payments, p.amount, p.commission]
                       for p in r.by_provider]),
        exports.Sheet(SHEETS[3], [bucket, _C("Попыток", "int"), _C("Успешных", "int"),
                                  _C("Успешность", "rate")],
                      [[p.bucket, p.attempts, p.payments, p.success_rate]
                       for p in r.series]),
        exports.Sheet(SHEETS[4], [_C("Шаг", width=28), _C("Кабинетов", "int"),
                                  _C("От зарегистрированных", "rate"),
                                  _C("От предыдущего шага", "rate")],
                      [[f.label, f.customers, f.share_of_first, f.share_of_previous]
                       for f in r.funnel]),
        exports.Sheet(SHEETS[5], [_C("Причина", width=44), _C("Код", width=24),
                                  _C("Платежей", "int"), _C("Доля", "rate")],
                      [[d.label, d.code, d.payments, d.share]
                       for d in r.declines]),
        exports.Sheet(SHEETS[6], [_C("Месяц начислений", "date", 16),
                                  *[_C(label, "int") for label in INVOICE_CLASSES.values()],
                                  _C("Всего", "int"), _C("В срок из оплаченных", "rate")],
                      [[m.period, m.on_time, m.late, m.overdue, m.open, m.total,
                        m.on_time_rate] for m in r.invoices]),
        exports.Sheet(SHEETS[7], [_C("Канал"), _C("Тема", width=24), _C("Подписано", "int"),
                                  _C("Активных кабинетов", "int"), _C("Доля", "rate")],
                      [[c.channel_label, c.topic_label, c.subscribed, c.active_cabinets,
                        c.share] for c in r.subscriptions]),
    ]


def export_report(app: App, actor: StaffActor, flt: AnalyticsFilter, grain: str = "day",
                  data: Report | None = None) -> bytes:
    """The data behind every chart, one sheet each (and the KPI tiles), as XLSX; the
    export is journaled. ``data`` lets the page pass what it already read."""
    require_role(actor, EXPORTERS, "выгрузка аналитики")
    if data is None or data.flt != flt or data.grain != grain:
        data = report(app, actor, flt, grain)
    content = exports.to_xlsx_sheets(_sheets(data))
    with app.uow() as uow:
        audit.record(uow.session, at=app.now(), action="analytics.export", actor=actor,
                     after={"date_from": flt.date_from.isoformat(),
                            "date_to": flt.date_to.isoformat(),
                            "provider_ids": list(flt.provider_ids), "grain": grain,
                            "sheets": len(SHEETS), "format": "xlsx"})
        uow.commit()
    return content

