"""Providers, register accounts, bindings and invoices written straight with the ORM,
so invoice tests do not depend on the provider and binding services."""
from __future__ import annotations

import itertools
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from core.app import App
from core.db.models import AccountBinding, Invoice, InvoiceLine, Provider, ProviderAccount
from core.billing.invoice_rules import InvoiceStatus

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
VODOKANAL_FILE = SAMPLES / "registry_vodokanal_2026-10.csv"
VODOKANAL_CP1251_FILE = SAMPLES / "registry_vodokanal_2026-10_cp1251.csv"
ENERGO_FILE = SAMPLES / "registry_energo_2026-10.xlsx"
BAD_FILE = SAMPLES / "registry_bad.csv"
# Energo accounts made here (the sample register accounts_energo.xlsx holds them too).
ENERGO_ACCOUNTS = tuple(str(400000000001 + n) for n in range(8))

_seq = itertools.count(1)


def water_provider(at: datetime) -> Provider:
    """The CLI tests' provider row (1 % commission, invoicing, no proof of ownership),
    for a session to add."""
    return Provider(name="ГУП «Водоканал»", inn="7800000001", contact_phone="8 812 305-09-09",
                    service_kind="water", account_pattern=r"\d{10}", account_hint="10 цифр",
                    invoicing_enabled=True, commission_bp=100, commission_min=0,
                    ownership_proof=False, created_at=at)


def sample_account_numbers(file_name: str = "accounts_vodokanal.csv") -> list[str]:
    """The register's numbers (first column) of a sample account file, normalised."""
    lines = (SAMPLES / file_name).read_text("utf-8").splitlines()[1:]
    return [re.sub(r"\D", "", line.split(",", 1)[0]) for line in lines if line.strip()]


def make_provider(app: App, *, name: str | None = None, pattern: str = r"\d{10}",
                  hint: str = "10 цифр", invoicing: bool = True, kind: str = "water") -> int:
    n = next(_seq)
    with app.uow() as uow:
        provider = Provider(name=name or f"ГУП «Водоканал-{n}»", inn=f"78{n:08d}",
                            contact_phone="8 812 305-09-09", service_kind=kind,
                            account_pattern=pattern, account_hint=hint,
                            invoicing_enabled=invoicing, commission_bp=0, commission_min=0,
                            ownership_proof=False, created_at=app.now())
        uow.session.add(provider)
        uow.commit()
        return provider.id


def add_accounts(app: App, provider_id: int, numbers: list[str] | tuple[str, ...],
                 address: str = "г. Пермь, ул. Ленина, д. 15, кв. 7") -> dict[str, int]:
    """Register accounts; returns number -> account id."""
    with app.uow() as uow:
        rows = [ProviderAccount(provider_id=provider_id, number=number, address=address,
                                payer_masked="Ку***в Д. О.", loaded_at=app.now())
                for number in numbers]
        uow.session.add_all(rows)
        uow.commit()
        return {row.number: row.id for row in rows}


def vodokanal(app: App) -> tuple[int, dict[str, int]]:
    """The provider of the water samples with the whole sample register."""
    provider_id = make_provider(app, name="ГУП «Водоканал»")
    return provider_id, add_accounts(app, provider_id, sample_account_numbers())


def energo(app: App) -> tuple[int, dict[str, int]]:
    provider_id = make_provider(app, name="ООО «Энергосбыт»", pattern=r"\d{12}",
                                hint="12 цифр", kind="electricity")
    return provider_id, add_accounts(app, provider_id, ENERGO_ACCOUNTS)


def bind(app: App, customer_id: int, account_id: int, name: str = "Квартира",
         removed: bool = False) -> int:
    with app.uow() as uow:
        binding = AccountBinding(customer_id=customer_id, provider_account_id=account_id,
                                 name=name, created_at=app.now(),
                                 removed_at=app.now() if removed else None)
        uow.session.add(binding)
        uow.commit()
        return binding.id


def make_invoice(app: App, account_id: int, period: date, total_due: int = 150_000, *,
                 due_date: date | None = None, status: InvoiceStatus = InvoiceStatus.UNPAID,
                 paid_amount: int = 0) -> int:
    """An invoice with one charge line for the whole amount."""
    due = due_date or date(period.year + period.month // 12, period.month % 12 + 1, 25)
    with app.uow() as uow:
        invoice = Invoice(provider_account_id=account_id, period=period, total_due=total_due,
                          due_date=due, status=status, paid_amount=paid_amount,
                          created_at=app.now())
        uow.session.add(invoice)
        uow.session.flush()
        uow.session.add(InvoiceLine(invoice_id=invoice.id, line_no=1,
                                    service="Холодное водоснабжение", unit="м3",
                                    volume=Decimal("5.000"), tariff=total_due // 5,
                                    accrued=total_due, recalculation=0, debt=0,
                                    total=total_due))
        uow.commit()
        return invoice.id
