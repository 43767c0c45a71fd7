"""Demo providers, personal accounts, bindings and 12 months of invoices.

Bulk Core inserts, deterministic for a seed and a build day. The newest invoice is
for the month before the build day's (a month is billed once it is over, due on the
25th of the next): mostly unpaid, a few partly paid (past its due day most are paid,
some overdue). Older invoices are paid in full, a few of last month's overdue (payments
themselves arrive with the payment engine).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.db.models import AccountBinding, Invoice, InvoiceLine, Provider, ProviderAccount
from core.billing.invoice_rules import InvoiceStatus, add_months
from core.timefmt import moscow_date

MONTHS = 12
# The scale data set (core.demo.scale) still bills up to this fixed month.
CURRENT_PERIOD = date(2026, 11, 1)


@dataclass(frozen=True)
class DemoProvider:
    name: str
    inn_base: str  # nine digits; the check digit is computed
    phone: str
    kind: str
    pattern: str
    hint: str
    digits: int
    commission_bp: int
    commission_min: int
    ownership_proof: bool
    lines: tuple[tuple[str, str, int, float, float], ...]  # service, unit, tariff kop, mean, seasonal


PROVIDERS = (
    DemoProvider("ГУП «Водоканал Северо-Запад»", "780102345", "8 812 305-09-09", "water",
                 r"\d{10}", "10 цифр", 10, 0, 0, False,
                 (("Холодное водоснабжение", "м³", 5270, 6.0, 0.05),
                  ("Горячее водоснабжение", "м³", 24815, 3.5, 0.05),
                  ("Водоотведение", "м³", 4390, 9.5, 0.05))),
    DemoProvider("АО «ТеплоЭнерго Сервис»", "781234567", "8 812 336-11-22", "heating",
                 r"\d{8}", "8 цифр", 8, 100, 1000, False,
                 (("Отопление", "Гкал", 305344, 1.1, 0.9),)),
    DemoProvider("ООО «Северо-Западный Энергосбыт»", "784512345", "8 800 333-49-50",
                 "electricity", r"\d{12}", "12 цифр", 12, 80, 500, False,
                 (("Электроэнергия, день", "кВт·ч", 692, 160.0, 0.25),
                  ("Электроэнергия, ночь", "кВт·ч", 301, 70.0, 0.25))),
    DemoProvider("УК «Северный дом»", "780654321", "8 812 600-70-80", "management",
                 r"\d{6}", "6 цифр, например 123456", 6, 50, 0, False,
                 (("Содержание жилого помещения", "м²", 3512, 54.0, 0.0),
                  ("Взнос на капитальный ремонт", "м²", 1070, 54.0, 0.0),
                  ("Обращение с ТКО", "чел.", 18900, 2.0, 0.0))),
    DemoProvider("ООО «Газпром межрегионгаз Север»", "783987654", "8 800 100-90-04", "gas",
                 r"\d{9}", "9 цифр", 9, 0, 0, True,
                 (("Газоснабжение", "м³", 804, 14.0, 0.3),)),
)


def inn10(base9: str) -> str:
    """An organisation INN: nine digits plus the check digit of the official algorithm."""
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(int(d) * w for d, w in zip(base9, weights)) % 11 % 10
    return base9 + str(check)


def mask_payer(surname: str, name: str, patronymic: str) -> str:
    hidden = surname[:2] + "***" + surname[-1] if len(surname) > 3 else surname[0] + "***"
    return f"{hidden} {name[0]}. {patronymic[0]}."


def _period(months_back: int, current: date = CURRENT_PERIOD) -> date:
    return add_months(current, -months_back)


def current_period(now: datetime) -> date:
    """The newest bill's month: the one before ``now``'s Moscow month."""
    today = moscow_date(now)
    return add_months(date(today.year, today.month, 1), -1)


def seed_billing(session: Session, rng: random.Random, customers: list[dict[str, object]],
                 now: datetime, numbers: set[tuple[int, str]]) -> None:
    """``customers``: dicts with id, surname, first_name, patronymic, address, activated.
    ``numbers``: (provider id, account number) pairs taken so far, across batches."""
    provider_ids = _providers(session, now)
    accounts, bindings = [], []
    for c in customers:
        if not c["activated"]:
            continue
        for spec in rng.sample(PROVIDERS, k=rng.choice((1, 2, 2, 3, 4))):
            pid = provider_ids[spec.name]
            while True:
                number = f"{rng.randrange(10 ** (spec.digits - 1), 10 ** spec.digits)}"
                if (pid, number) not in numbers:
                    numbers.add((pid, number))
                    break
            surname = str(c["surname"] or "Кузнецов")
            accounts.append(dict(provider_id=pid, number=number,
                                 address=str(c["address"] or "г. Санкт-Петербург, ул. Ленина, д. 1"),
                                 payer_masked=mask_payer(surname, str(c["first_name"] or "Иван"),
                                                         str(c["patronymic"] or "Иванович")),
                                 loaded_at=now))
            bindings.append((c["id"], pid, number, _binding_name(rng, c), spec))
    first = (session.scalar(select(ProviderAccount.id).order_by(ProviderAccount.id.desc())
                            .limit(1)) or 0) + 1
    session.execute(insert(ProviderAccount.__table__), accounts)
    ids = {(pid, num): aid for aid, pid, num in session.execute(
        select(ProviderAccount.id, ProviderAccount.provider_id, ProviderAccount.number)
        .where(ProviderAccount.id >= first))}
    session.execute(insert(AccountBinding.__table__), [
        dict(customer_id=cid, provider_account_id=ids[(pid, num)], name=name, created_at=now)
        for cid, pid, num, name, _ in bindings])
    _invoices(session, rng, [(ids[(pid, num)], spec) for _, pid, num, _, spec in bindings], now)


def _binding_name(rng: random.Random, c: dict[str, object]) -> str:
    address = str(c["address"] or "")
    flat = address.rsplit("кв.", 1)[-1].strip() if "кв." in address else str(rng.randint(1, 200))
    return rng.choice((f"Квартира {flat}", "Дом", "Мама", "Дача", f"Кв. {flat}"))


def _invoices(session: Session, rng: random.Random, accounts: list[tuple[int, DemoProvider]],
              now: datetime) -> None:
    current, today = current_period(now), moscow_date(now)
    chunk_invoices: list[dict[str, object]] = []
    chunk_lines: list[list[dict[str, object]]] = []
    for account_id, spec in accounts:
        scale = rng.uniform(0.6, 1.6)
        for back in range(MONTHS):
            period = _period(back, current)
            winter = 1.0 if period.month in (11, 12, 1, 2, 3) else -1.0
            lines, total = [], 0
            for n, (service, unit, tariff, mean, seasonal) in enumerate(spec.lines, start=1):
                volume = Decimal(str(round(max(0.0, mean * scale * (1 + seasonal * winter
                                                                    * rng.uniform(0.3, 1.0))
                                          * rng.uniform(0.85, 1.15)), 3)))
                accrued = int((volume * tariff).quantize(Decimal(1)))
                recalculation = -rng.randint(0, accrued // 10) if rng.random() < 0.05 else 0
                line_total = accrued + recalculation
                total += line_total
                lines.append(dict(line_no=n, service=service, unit=unit, volume=volume,
                                  tariff=tariff, accrued=accrued, recalculation=recalculation,
                                  debt=0, total=line_total))
            due = date(period.year + period.month // 12, period.month % 12 + 1, 25)
            if back == 0:
                roll = rng.random()
                status, paid = ((InvoiceStatus.PARTIALLY_PAID, total // 2) if roll < 0.1
                                # Past its due day: most paid it by then, the rest overdue.
                                else (InvoiceStatus.PAID, total) if due < today and roll < 0.8
                                else (InvoiceStatus.UNPAID, 0))
            else:
                status, paid = ((InvoiceStatus.UNPAID, 0) if back == 1 and rng.random() < 0.05
                                else (InvoiceStatus.PAID, total))
            chunk_invoices.append(dict(provider_account_id=account_id, period=period,
                                       total_due=total, due_date=due, status=status,
                                       paid_amount=paid, created_at=now))
            chunk_lines.append(lines)
        if len(chunk_invoices) >= 5000:
            _flush(session, chunk_invoices, chunk_lines)
            chunk_invoices, chunk_lines = [], []
    if chunk_invoices:
        _flush(session, chunk_invoices, chunk_lines)


def _flush(session: Session, invoices: list[dict[str, object]],
           lines: list[list[dict[str, object]]]) -> None:
    first = (session.scalar(select(Invoice.id).order_by(Invoice.id.desc()).limit(1)) or 0) + 1
    session.execute(insert(Invoice.__table__), invoices)
    keys = {(a, p): i for i, a, p in session.execute(
        select(Invoice.id, Invoice.provider_account_id, Invoice.period).where(Invoice.id >= first))}
    rows = []
    for invoice, invoice_lines in zip(invoices, lines):
        invoice_id = keys[(invoice["provider_account_id"], invoice["period"])]
        rows += [dict(line, invoice_id=invoice_id) for line in invoice_lines]
    session.execute(insert(InvoiceLine.__table__), rows)


def _providers(session: Session, now: datetime) -> dict[str, int]:
    existing = dict(session.execute(select(Provider.name, Provider.id)).all())
    for spec in PROVIDERS:
        if spec.name in existing:
            continue
        provider = Provider(name=spec.name, inn=inn10(spec.inn_base), contact_phone=spec.phone,
                            service_kind=spec.kind, account_pattern=spec.pattern,
                            account_hint=spec.hint, invoicing_enabled=True,
                            commission_bp=spec.commission_bp, commission_min=spec.commission_min,
                            ownership_proof=spec.ownership_proof, created_at=now)
        session.add(provider)
        session.flush()
        existing[spec.name] = provider.id
    return existing


def seed_subscriptions(session: Session, rng: random.Random, customer_ids: list[int],
                       now: datetime) -> None:
    """About a third of the customers changed their subscriptions; the rest keep defaults."""
    from core.notifications.channels import Channel
    from core.db.models import Subscription
    from core.notifications.template_rules import DEFAULT_SUBSCRIPTIONS

    rows = []
    for customer_id in customer_ids:
        if rng.random() > 0.35:
            continue
        for (topic, channel), default in DEFAULT_SUBSCRIPTIONS.items():
            enabled = (not default) if rng.random() < 0.3 else default
            rows.append(dict(customer_id=customer_id, topic=topic, channel=Channel(channel),
                             enabled=enabled, updated_at=now))
    if rows:
        session.execute(insert(Subscription.__table__), rows)
