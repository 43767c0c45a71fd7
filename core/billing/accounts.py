"""Personal accounts in a cabinet: bind, rename, unbind, list (seed section 2).

The customer acts through a session token. An account can be bound only if it
is in its provider's register; a provider may also ask for the total of the
account's last invoice as proof of ownership, with a bounded number of wrong
answers. Errors about another cabinet's binding never say that it exists.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.actors import ActorKind, StaffActor, require_role
from core.app import App
from core.db.models import AccountBinding, Invoice, OwnershipCheck, Provider, ProviderAccount
from core.billing.account_rules import (MAX_ACCOUNTS_PER_CABINET, OWNERSHIP_LOCK,
                                        OWNERSHIP_MAX_FAILURES, AccountAlreadyBound,
                                        AccountNotInRegister, OwnershipProofFailed,
                                        OwnershipProofLocked, OwnershipProofUnavailable,
                                        ProviderNotInvoicing, TooManyAccounts, clean_binding_name,
                                        normalize_account_number)
from core.errors import NotFound, ValidationError
from core.text import refuse_control_characters
from core.money import Money, MoneyFormatError
from core.staff import audit, permissions
from core.billing import providers
from core.customers.lifecycle import get_customer
from core.customers.sessions import signed_in_customer
from core.timefmt import as_utc

STAFF_VIEWERS = permissions.PERSONAL_DATA_READERS
PROOF_LABEL = "Сумма последнего счёта"


@dataclass(frozen=True)
class BindingInfo:
    """A bound account as the cabinet (and the contact center) shows it."""

    id: int  # the binding's id: what rename/unbind take
    name: str  # the customer's own name for it
    provider_id: int
    provider_name: str
    provider_account_id: int  # the register row; invoices hang off it
    account_number: str
    address: str
    payer_masked: str  # «Ив***в И. И.»
    bound_at: datetime
    removed_at: datetime | None = None  # set only in the staff view with removed ones


def providers_for_binding(app: App) -> list[providers.ProviderInfo]:
    """The first step of «Добавить лицевой счёт»: providers that invoice through the cabinet."""
    return providers.list_providers(app, invoicing_only=True)


def bind_account(app: App, token: str, provider_id: int, number: str, name: str,
                 last_invoice_total: str | None = None) -> int:
    """Add an account from the provider's register to the cabinet; returns the binding id."""
    title = clean_binding_name(name)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now)
        provider = _invoicing_provider(s, provider_id)
        account_number = normalize_account_number(number, provider.account_pattern,
                                                  provider.account_hint)
        account = s.scalar(select(ProviderAccount).where(
            ProviderAccount.provider_id == provider.id, ProviderAccount.number == account_number))
        if account is None:
            raise AccountNotInRegister(provider.name)
        if _active(s, customer.id, account.id) is not None:
            raise AccountAlreadyBound()
        bound = s.scalar(select(func.count()).select_from(AccountBinding).where(
            AccountBinding.customer_id == customer.id, AccountBinding.removed_at.is_(None)))
        if (bound or 0) >= MAX_ACCOUNTS_PER_CABINET:
            raise TooManyAccounts()
        if provider.ownership_proof:
            _prove_ownership(uow, customer.id, account, last_invoice_total, now)
        binding = AccountBinding(customer_id=customer.id, provider_account_id=account.id,
                                 name=title, created_at=now)
        s.add(binding)
        try:
            s.flush()
        except IntegrityError:  # the same account bound by a parallel request
            raise AccountAlreadyBound() from None
        audit.record(s, at=now, action="account.bind", actor_kind=ActorKind.CUSTOMER,
                     customer_id=customer.id,
                     after={"binding_id": binding.id, "provider_id": provider.id,
                            "provider": provider.name, "number": account.number,
                            "name": title})
        uow.commit()
        return binding.id


def _invoicing_provider(s: Session, provider_id: int) -> Provider:
    try:
        provider = s.get(Provider, int(provider_id))
    except (TypeError, ValueError):
        provider = None
    if provider is None:
        raise NotFound("Поставщик: выберите поставщика из списка")
    if not provider.invoicing_enabled:
        raise ProviderNotInvoicing(provider.name)
    return provider


def _active(s: Session, customer_id: int, account_id: int) -> AccountBinding | None:
    return s.scalar(select(AccountBinding).where(
        AccountBinding.customer_id == customer_id,
        AccountBinding.provider_account_id == account_id, AccountBinding.removed_at.is_(None)))


def _prove_ownership(uow, customer_id: int, account: ProviderAccount,  # type: ignore[no-untyped-def]
                     answer: str | None, now: datetime) -> None:
    """The total of the account's latest invoice must be given; wrong answers are counted.

    A wrong answer is committed before the refusal, so it counts even though
    nothing else is saved; a badly typed sum is not an answer and counts nothing.
    """
    s = uow.session
    check = s.scalar(select(OwnershipCheck).where(
        OwnershipCheck.customer_id == customer_id,
        OwnershipCheck.provider_account_id == account.id))
    if check is not None and check.locked_until is not None:
        if as_utc(check.locked_until) > now:
            raise OwnershipProofLocked(as_utc(check.locked_until))
        check.failures, check.locked_until, check.updated_at = 0, None, now  # the lock ran out
    latest = s.scalar(select(Invoice.total_due)
                      .where(Invoice.provider_account_id == account.id)
                      .order_by(Invoice.period.desc()).limit(1))
    if latest is None:
        raise OwnershipProofUnavailable()
    text = refuse_control_characters(answer, PROOF_LABEL, "last_invoice_total").strip()
    if not text:
        raise ValidationError(PROOF_LABEL, "обязательное поле: поставщик просит подтвердить, "
                              "что счёт ваш; введите сумму последнего счёта из квитанции",
                              field="last_invoice_total")
    try:
        given = Money.parse(text.replace("₽", "").replace("руб.", "").replace("руб", ""))
    except MoneyFormatError:
        raise ValidationError(PROOF_LABEL, "введите сумму в рублях, например 1 234,56",
                              field="last_invoice_total") from None
    if given.kopecks == latest:
        if check is not None and check.failures:
            check.failures, check.updated_at = 0, now
        return
    if check is None:
        check = OwnershipCheck(customer_id=customer_id, provider_account_id=account.id,
                               failures=0, updated_at=now)
        s.add(check)
    check.failures += 1
    check.updated_at = now
    left = OWNERSHIP_MAX_FAILURES - check.failures
    if left <= 0:
        check.locked_until = now + OWNERSHIP_LOCK
    audit.record(s, at=now, action="account.ownership_check", actor_kind=ActorKind.CUSTOMER,
                 customer_id=customer_id, result="refused",
                 after={"provider_id": account.provider_id, "number": account.number,
                        "failures": check.failures, "locked": left <= 0})
    uow.commit()  # the wrong answer counts even though we refuse
    if left <= 0:
        raise OwnershipProofLocked(now + OWNERSHIP_LOCK)
    raise OwnershipProofFailed(left)


def _own_binding(s: Session, customer_id: int, binding_id: int) -> AccountBinding:
    """A binding of this cabinet that is still active; anything else is «not found»."""
    try:
        binding = s.get(AccountBinding, int(binding_id))
    except (TypeError, ValueError):
        binding = None
    if binding is None or binding.customer_id != customer_id or binding.removed_at is not None:
        raise NotFound("Лицевой счёт не найден в вашем личном кабинете")
    return binding


def rename_binding(app: App, token: str, binding_id: int, name: str) -> None:
    title = clean_binding_name(name)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now)
        binding = _own_binding(s, customer.id, binding_id)
        if binding.name != title:
            audit.record(s, at=now, action="account.rename", actor_kind=ActorKind.CUSTOMER,
                         customer_id=customer.id, before={"binding_id": binding.id,
                                                          "name": binding.name},
                         after={"binding_id": binding.id, "name": title})
            binding.name = title
        uow.commit()


def unbind(app: App, token: str, binding_id: int) -> None:
    """Remove an account from the cabinet; the row stays for history, it can be bound again."""
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now)
        binding = _own_binding(s, customer.id, binding_id)
        binding.removed_at = now
        audit.record(s, at=now, action="account.unbind", actor_kind=ActorKind.CUSTOMER,
                     customer_id=customer.id,
                     before={"binding_id": binding.id, "number": binding.account.number,
                             "name": binding.name})
        uow.commit()


def _bindings_query(customer_id: int, include_removed: bool) -> Select:  # type: ignore[type-arg]
    query = (select(AccountBinding, ProviderAccount, Provider.name)
             .join(ProviderAccount, ProviderAccount.id == AccountBinding.provider_account_id)
             .join(Provider, Provider.id == ProviderAccount.provider_id)
             .where(AccountBinding.customer_id == customer_id)
             .order_by(AccountBinding.created_at, AccountBinding.id))
    if not include_removed:
        query = query.where(AccountBinding.removed_at.is_(None))
    return query


def _binding_infos(s: Session, customer_id: int, include_removed: bool) -> list[BindingInfo]:
    return [BindingInfo(id=b.id, name=b.name, provider_id=a.provider_id, provider_name=pname,
                        provider_account_id=a.id, account_number=a.number, address=a.address,
                        payer_masked=a.payer_masked, bound_at=b.created_at,
                        removed_at=b.removed_at)
            for b, a, pname in s.execute(_bindings_query(customer_id, include_removed))]


def list_bindings(app: App, token: str) -> list[BindingInfo]:
    """«Лицевые счета» of the cabinet, in the order they were added."""
    now = app.now()
    with app.uow() as uow:
        customer = signed_in_customer(uow.session, token, now, reading=True)
        infos = _binding_infos(uow.session, customer.id, False)
        uow.commit()  # the session's last_seen_at
        return infos


def customer_accounts(app: App, actor: StaffActor, customer_id: int, *,
                      include_removed: bool = False) -> list[BindingInfo]:
    """The contact center's view of a customer's accounts (the card's «Лицевые счета» tab)."""
    require_role(actor, STAFF_VIEWERS, "лицевые счета клиента")
    with app.uow(write=False) as uow:
        customer = get_customer(uow.session, customer_id)
        return _binding_infos(uow.session, customer.id, include_removed)
