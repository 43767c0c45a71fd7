"""Providers, accounts, bindings and invoices written straight with the ORM,
for notification tests that must not depend on the import and binding services."""
from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy import select

from core.app import App
from tests.factories import billing
from core.db.models import Invoice, OutboxMessage, Provider, ProviderAccount
from core.billing.invoice_rules import InvoiceStatus

_seq = itertools.count(1)


def make_provider(app: App, name: str | None = None) -> int:
    n = next(_seq)
    with app.uow() as uow:
        provider = Provider(name=name or f"АО «Водоканал-{n}»", inn=f"77{n:08d}",
                            contact_phone="8 800 555-35-35", service_kind="water",
                            account_pattern=r"\d{10}", account_hint="10 цифр",
                            invoicing_enabled=True, commission_bp=0, commission_min=0,
                            ownership_proof=False, created_at=app.now())
        uow.session.add(provider)
        uow.commit()
        return provider.id


def make_account(app: App, provider_id: int, number: str | None = None) -> int:
    n = next(_seq)
    with app.uow() as uow:
        account = ProviderAccount(provider_id=provider_id, number=number or f"{n:010d}",
                                  address="г. Москва, ул. Ленина, д. 15, кв. 7",
                                  payer_masked="Ив***в И. И.", loaded_at=app.now())
        uow.session.add(account)
        uow.commit()
        return account.id


def bind(app: App, customer_id: int, account_id: int, name: str = "Квартира на Ленина",
         removed: bool = False) -> int:
    return billing.bind(app, customer_id, account_id, name=name, removed=removed)


def make_invoice(app: App, account_id: int, *, period: date = date(2026, 11, 1),
                 total_due: int = 123456, due_date: date = date(2026, 12, 25)) -> int:
    with app.uow() as uow:
        invoice = Invoice(provider_account_id=account_id, period=period, total_due=total_due,
                          due_date=due_date, status=InvoiceStatus.UNPAID, paid_amount=0,
                          created_at=app.now())
        uow.session.add(invoice)
        uow.commit()
        return invoice.id


def queued_messages(app: App, topic: str = "new_invoice") -> list[OutboxMessage]:
    with app.uow(write=False) as uow:
        return list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)
                                        .order_by(OutboxMessage.id)))
