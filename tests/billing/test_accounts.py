"""Binding personal accounts to a cabinet (SQLite and PostgreSQL)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from core.db.models import (AccountBinding, AuditEntry, CabinetBlock, Invoice, OwnershipCheck,
                            ProviderAccount)
from core.actors import ActorKind, PermissionDenied, StaffRole
from core.billing.invoice_rules import InvoiceStatus
from core.billing.account_rules import (MAX_ACCOUNTS_PER_CABINET, AccountAlreadyBound,
                                        AccountNotInRegister, OwnershipProofFailed,
                                        OwnershipProofLocked, OwnershipProofUnavailable,
                                        ProviderNotInvoicing, TooManyAccounts)
from core.customers.errors import CabinetBlocked, SessionInvalid
from core.errors import NotFound, ValidationError
from core.billing import accounts, providers
from core.customers import cabinet
from tests.factories.customers import make_staff, register_and_activate
from tests.factories.dbstate import count, snapshot
from tests.billing.test_providers import FORM, csv_file, load, new_provider

NUMBER = "4700340220"  # the first account of the water sample register


@pytest.fixture
def water(app):  # type: ignore[no-untyped-def]
    """A provider that invoices, with the water sample register loaded."""
    provider_id = new_provider(app, name="МУП «Пермводоканал»")
    load(app, provider_id, "accounts_vodokanal.csv")
    return provider_id


@pytest.fixture
def owner(app):  # type: ignore[no-untyped-def]
    return register_and_activate(app)


def _account_id(app, provider_id: int, number: str) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(ProviderAccount.id).where(
            ProviderAccount.provider_id == provider_id, ProviderAccount.number == number))


def _wait(app, clock, token: str, **delta: float) -> None:  # type: ignore[no-untyped-def]
    """Let time pass while the customer stays active (a session ends after 30 idle minutes)."""
    from datetime import timedelta

    left = timedelta(**delta)
    while left > timedelta(0):
        step = min(left, timedelta(minutes=20))
        clock.advance(seconds=step.total_seconds())
        cabinet.current_customer_id(app, token)
        left -= step


def _invoice(app, account_id: int, period: date, total_due: int) -> None:  # type: ignore[no-untyped-def]
    with app.uow() as uow:
        uow.session.add(Invoice(provider_account_id=account_id, period=period,
                                total_due=total_due, due_date=date(2026, 12, 25),
                                status=InvoiceStatus.UNPAID, paid_amount=0,
                                created_at=app.now()))
        uow.commit()


# --- the happy path ------------------------------------------------------------------

def test_providers_for_binding_are_only_those_that_invoice(app, water):
    new_provider(app, name="Газ без счетов", invoicing_enabled=False)
    assert [p.name for p in accounts.providers_for_binding(app)] == ["МУП «Пермводоканал»"]


def test_customer_binds_an_account_as_printed_on_the_receipt(app, water, owner, clock):
    binding_id = accounts.bind_account(app, owner.session_token, water, " 47-0034-0220 ",
                                       "  Квартира   на Монастырской ")
    [info] = accounts.list_bindings(app, owner.session_token)
    assert info == accounts.BindingInfo(
        id=binding_id, name="Квартира на Монастырской", provider_id=water,
        provider_name="МУП «Пермводоканал»", provider_account_id=_account_id(app, water, NUMBER),
        account_number=NUMBER, address="г. Пермь, ул. Монастырская, д. 114, кв. 32",
        payer_masked="Но***а Д. К.", bound_at=clock.now())
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.bind"))
    assert entry.actor_kind is ActorKind.CUSTOMER and entry.customer_id == owner.customer_id
    assert entry.after["number"] == NUMBER and entry.after["binding_id"] == binding_id


def test_bindings_are_listed_in_the_order_they_were_added(app, water, owner, clock):
    for number, name in [("4701542004", "Дача"), ("4710834547", "Квартира"),
                         ("4713160265", "Гараж")]:
        accounts.bind_account(app, owner.session_token, water, number, name)
        clock.advance(minutes=1)
    assert [b.name for b in accounts.list_bindings(app, owner.session_token)] == [
        "Дача", "Квартира", "Гараж"]


# --- bad input changes nothing -----------------------------------------------------------

@pytest.mark.parametrize("number, name, error, message", [
    pytest.param("12345", "Дом", ValidationError, "Лицевой счёт: 10 цифр, например 1234567890",
                 id="short-number"),
    pytest.param("47ab340220", "Дом", ValidationError, "Лицевой счёт: 10 цифр", id="letters"),
    pytest.param("", "Дом", ValidationError, "Лицевой счёт: обязательное поле", id="no-number"),
    pytest.param("4799999999", "Дом", AccountNotInRegister,
                 "Лицевой счёт: такого счёта нет у поставщика «МУП «Пермводоканал»»",
                 id="not-in-register"),
    pytest.param(NUMBER, "", ValidationError, "Название счёта: обязательное поле", id="no-name"),
    pytest.param(NUMBER, "к" * 101, ValidationError, "Название счёта: не длиннее 100 символов",
                 id="long-name"),
])
def test_bad_binding_is_refused_with_a_clear_message_and_changes_nothing(
        app, water, owner, number, name, error, message):
    before = snapshot(app)
    with pytest.raises(error) as raised:
        accounts.bind_account(app, owner.session_token, water, number, name)
    assert str(raised.value).startswith(message)
    assert snapshot(app) == before


def test_account_of_another_provider_is_not_in_this_register(app, water, owner):
    other = new_provider(app, name="Теплосеть")
    load(app, other, "other.csv", csv_file("1000000001;ул. Мира, 1;Иванов Иван Иванович"))
    before = snapshot(app)
    with pytest.raises(AccountNotInRegister):
        accounts.bind_account(app, owner.session_token, water, "1000000001", "Дом")
    with pytest.raises(AccountNotInRegister):
        accounts.bind_account(app, owner.session_token, other, NUMBER, "Дом")
    assert snapshot(app) == before


@pytest.mark.parametrize("provider_id", [999, None, "x"])
def test_unknown_provider_is_refused(app, owner, provider_id):
    before = snapshot(app)
    with pytest.raises(NotFound, match="^Поставщик:"):
        accounts.bind_account(app, owner.session_token, provider_id, NUMBER, "Дом")
    assert snapshot(app) == before


def test_provider_without_invoicing_is_refused(app, owner):
    provider_id = new_provider(app, name="Газ", invoicing_enabled=False)
    load(app, provider_id, "accounts_vodokanal.csv")
    before = snapshot(app)
    with pytest.raises(ProviderNotInvoicing, match="^Поставщик: «Газ» не выставляет"):
        accounts.bind_account(app, owner.session_token, provider_id, NUMBER, "Дом")
    assert snapshot(app) == before


def test_the_same_account_twice_in_one_cabinet_is_refused(app, water, owner):
    accounts.bind_account(app, owner.session_token, water, NUMBER, "Дом")
    before = snapshot(app)
    for written in (NUMBER, "47 0034 0220"):
        with pytest.raises(AccountAlreadyBound, match="^Лицевой счёт: этот счёт уже добавлен"):
            accounts.bind_account(app, owner.session_token, water, written, "Ещё раз")
    assert snapshot(app) == before


def test_family_members_bind_the_same_account_in_their_own_cabinets(app, water, owner):
    spouse = register_and_activate(app)
    mine = accounts.bind_account(app, owner.session_token, water, NUMBER, "Наша квартира")
    theirs = accounts.bind_account(app, spouse.session_token, water, NUMBER, "Квартира")
    assert mine != theirs
    assert [b.id for b in accounts.list_bindings(app, owner.session_token)] == [mine]
    assert [b.id for b in accounts.list_bindings(app, spouse.session_token)] == [theirs]


def test_a_cabinet_holds_at_most_twenty_accounts(app, owner):
    provider_id = new_provider(app)
    numbers = [f"{3000000000 + i}" for i in range(MAX_ACCOUNTS_PER_CABINET + 1)]
    load(app, provider_id, "big.csv",
         csv_file(*[f"{n};ул. Мира, д. {i};Иванов Иван Иванович" for i, n in enumerate(numbers)]))
    ids = [accounts.bind_account(app, owner.session_token, provider_id, n, f"Счёт {i}")
           for i, n in enumerate(numbers[:-1])]
    before = snapshot(app)
    with pytest.raises(TooManyAccounts) as error:
        accounts.bind_account(app, owner.session_token, provider_id, numbers[-1], "Лишний")
    assert "не больше 20 счетов" in str(error.value)
    assert snapshot(app) == before
    accounts.unbind(app, owner.session_token, ids[0])
    accounts.bind_account(app, owner.session_token, provider_id, numbers[-1], "Теперь можно")
    assert len(accounts.list_bindings(app, owner.session_token)) == MAX_ACCOUNTS_PER_CABINET


# --- rename, unbind -------------------------------------------------------------------

def test_rename_changes_the_name_and_is_journaled(app, water, owner):
    binding_id = accounts.bind_account(app, owner.session_token, water, NUMBER, "Дом")
    accounts.rename_binding(app, owner.session_token, binding_id, "  Дача  в  Кунгуре ")
    assert accounts.list_bindings(app, owner.session_token)[0].name == "Дача в Кунгуре"
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.rename"))
    assert (entry.before["name"], entry.after["name"]) == ("Дом", "Дача в Кунгуре")


@pytest.mark.parametrize("name, message", [("", "Название счёта: обязательное поле"),
                                           ("д" * 101, "Название счёта: не длиннее 100")])
def test_rename_to_a_bad_name_changes_nothing(app, water, owner, name, message):
    binding_id = accounts.bind_account(app, owner.session_token, water, NUMBER, "Дом")
    before = snapshot(app)
    with pytest.raises(ValidationError, match=f"^{message}"):
        accounts.rename_binding(app, owner.session_token, binding_id, name)
    assert snapshot(app) == before


def test_unbind_then_bind_again(app, water, owner, clock):
    first = accounts.bind_account(app, owner.session_token, water, NUMBER, "Дом")
    accounts.unbind(app, owner.session_token, first)
    assert accounts.list_bindings(app, owner.session_token) == []
    with app.uow(write=False) as uow:
        assert uow.session.get(AccountBinding, first).removed_at == clock.now()  # kept for history
    before = snapshot(app)
    with pytest.raises(NotFound):
        accounts.unbind(app, owner.session_token, first)
    with pytest.raises(NotFound):
        accounts.rename_binding(app, owner.session_token, first, "Новое")
    assert snapshot(app) == before
    clock.advance(minutes=10)
    again = accounts.bind_account(app, owner.session_token, water, NUMBER, "Снова дом")
    assert again != first
    assert [(b.id, b.name) for b in accounts.list_bindings(app, owner.session_token)] == [
        (again, "Снова дом")]


def test_another_cabinets_binding_is_simply_not_found(app, water, owner):
    stranger = register_and_activate(app)
    binding_id = accounts.bind_account(app, owner.session_token, water, NUMBER, "Дом")
    before = snapshot(app)
    for action in (lambda: accounts.rename_binding(app, stranger.session_token, binding_id, "Моё"),
                   lambda: accounts.unbind(app, stranger.session_token, binding_id)):
        with pytest.raises(NotFound) as error:
            action()
        assert str(error.value) == "Лицевой счёт не найден в вашем личном кабинете"
        assert NUMBER not in str(error.value) and "Дом" not in str(error.value)
    with pytest.raises(NotFound) as missing:
        accounts.unbind(app, stranger.session_token, 99_999)
    assert str(missing.value) == str(error.value)  # a foreign id and no id answer alike
    assert accounts.list_bindings(app, stranger.session_token) == []
    assert snapshot(app) == before


# --- who may act ------------------------------------------------------------------------

def test_bad_or_ended_session_is_refused(app, water, owner):
    before = snapshot(app)
    for token in ("", "not-a-token"):
        with pytest.raises(SessionInvalid):
            accounts.bind_account(app, token, water, NUMBER, "Дом")
        with pytest.raises(SessionInvalid):
            accounts.list_bindings(app, token)
    cabinet.logout(app, owner.session_token)
    with pytest.raises(SessionInvalid):
        accounts.bind_account(app, owner.session_token, water, NUMBER, "Дом")
    assert count(app, AccountBinding) == 0 and snapshot(app)["account_bindings"] == \
        before["account_bindings"]


def test_blocked_cabinet_cannot_bind_or_list(app, water, owner):
    binding_id = accounts.bind_account(app, owner.session_token, water, NUMBER, "Дом")
    other = register_and_activate(app)
    # A block opened under a live session (as a concurrent block would leave it).
    with app.uow() as uow:
        uow.session.add(CabinetBlock(customer_id=owner.customer_id, reason="по просьбе клиента",
                                     blocked_by_kind=ActorKind.CUSTOMER, blocked_at=app.now()))
        uow.commit()
    before = snapshot(app)
    with pytest.raises(CabinetBlocked):
        accounts.bind_account(app, owner.session_token, water, "4701542004", "Дача")
    with pytest.raises(CabinetBlocked):
        accounts.list_bindings(app, owner.session_token)
    with pytest.raises(CabinetBlocked):
        accounts.unbind(app, owner.session_token, binding_id)
    assert snapshot(app) == before
    cabinet.block_own_cabinet(app, other.session_token, "Потерял телефон")
    with pytest.raises(SessionInvalid):  # blocking ended the session
        accounts.bind_account(app, other.session_token, water, NUMBER, "Дом")


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.FINANCE, StaffRole.ADMIN])
def test_staff_see_a_customers_accounts(app, water, owner, role):
    kept = accounts.bind_account(app, owner.session_token, water, NUMBER, "Дом")
    gone = accounts.bind_account(app, owner.session_token, water, "4701542004", "Дача")
    accounts.unbind(app, owner.session_token, gone)
    actor = make_staff(app, role)
    current = accounts.customer_accounts(app, actor, owner.customer_id)
    assert [(b.id, b.account_number, b.payer_masked) for b in current] == [
        (kept, NUMBER, "Но***а Д. К.")]
    history = accounts.customer_accounts(app, actor, owner.customer_id, include_removed=True)
    assert [(b.id, b.removed_at is not None) for b in history] == [(kept, False), (gone, True)]


def test_manager_may_not_see_a_customers_accounts(app, water, owner):
    accounts.bind_account(app, owner.session_token, water, NUMBER, "Дом")
    with pytest.raises(PermissionDenied):
        accounts.customer_accounts(app, make_staff(app, StaffRole.MANAGER), owner.customer_id)


def test_staff_view_of_an_unknown_customer_is_not_found(app):
    with pytest.raises(NotFound):
        accounts.customer_accounts(app, make_staff(app, StaffRole.AGENT), 99_999)


# --- proof of ownership ------------------------------------------------------------------

@pytest.fixture
def proof(app, water):  # type: ignore[no-untyped-def]
    """The water provider now asks for the last invoice's total; NUMBER has two invoices."""
    providers.update_provider(app, None, water, replace(
        providers.get_provider(app, water).as_form(), ownership_proof=True))
    account_id = _account_id(app, water, NUMBER)
    _invoice(app, account_id, date(2026, 9, 1), 98_700)
    _invoice(app, account_id, date(2026, 10, 1), 123_456)  # the latest: 1 234,56 ₽
    return water


@pytest.mark.parametrize("answer", ["1 234,56", "1234.56", "1234,56 ₽", " 1\u00a0234,56 руб. "])
def test_the_last_invoice_total_proves_ownership(app, proof, owner, answer):
    binding_id = accounts.bind_account(app, owner.session_token, proof, NUMBER, "Дом",
                                       last_invoice_total=answer)
    assert [b.id for b in accounts.list_bindings(app, owner.session_token)] == [binding_id]


def test_an_earlier_invoice_total_is_a_wrong_answer_and_counts(app, proof, owner):
    with pytest.raises(OwnershipProofFailed) as error:
        accounts.bind_account(app, owner.session_token, proof, NUMBER, "Дом",
                              last_invoice_total="987,00")
    assert error.value.attempts_left == 4
    assert str(error.value).startswith("Сумма последнего счёта: не совпадает")
    assert "осталось попыток: 4" in str(error.value)
    assert count(app, AccountBinding) == 0
    with app.uow(write=False) as uow:
        check = uow.session.scalar(select(OwnershipCheck))
        entry = uow.session.scalar(select(AuditEntry)
                                   .where(AuditEntry.action == "account.ownership_check"))
    assert (check.customer_id, check.failures, check.locked_until) == (owner.customer_id, 1, None)
    assert entry.result == "refused" and entry.customer_id == owner.customer_id


@pytest.mark.parametrize("answer, message", [
    (None, "Сумма последнего счёта: обязательное поле"),
    ("  ", "Сумма последнего счёта: обязательное поле"),
    ("тысяча", "Сумма последнего счёта: введите сумму в рублях"),
    ("12,345", "Сумма последнего счёта: введите сумму в рублях"),
])
def test_a_missing_or_unreadable_answer_is_not_counted(app, proof, owner, answer, message):
    before = snapshot(app)
    with pytest.raises(ValidationError, match=f"^{message}"):
        accounts.bind_account(app, owner.session_token, proof, NUMBER, "Дом",
                              last_invoice_total=answer)
    assert snapshot(app) == before


def test_five_wrong_answers_lock_the_proof_for_an_hour(app, proof, owner, clock):
    def attempt(answer):  # type: ignore[no-untyped-def]
        return accounts.bind_account(app, owner.session_token, proof, NUMBER, "Дом",
                                     last_invoice_total=answer)

    left = []
    for _ in range(4):
        with pytest.raises(OwnershipProofFailed) as error:
            attempt("1,00")
        left.append(error.value.attempts_left)
    assert left == [4, 3, 2, 1]
    with pytest.raises(OwnershipProofLocked) as locked:
        attempt("2,00")
    assert "попробуйте снова после 25.11.2026 13:00 (МСК)" in str(locked.value)
    _wait(app, clock, owner.session_token, minutes=59)
    before = snapshot(app)
    with pytest.raises(OwnershipProofLocked):  # even the right answer waits out the lock
        attempt("1 234,56")
    assert snapshot(app) == before
    _wait(app, clock, owner.session_token, minutes=2)
    assert attempt("1 234,56") > 0
    with app.uow(write=False) as uow:
        check = uow.session.scalar(select(OwnershipCheck))
    assert (check.failures, check.locked_until) == (0, None)


def test_an_expired_lock_gives_five_fresh_attempts(app, proof, owner, clock):
    for _ in range(5):
        with pytest.raises((OwnershipProofFailed, OwnershipProofLocked)):
            accounts.bind_account(app, owner.session_token, proof, NUMBER, "Дом",
                                  last_invoice_total="1,00")
    _wait(app, clock, owner.session_token, hours=1, seconds=1)
    with pytest.raises(OwnershipProofFailed) as error:
        accounts.bind_account(app, owner.session_token, proof, NUMBER, "Дом",
                              last_invoice_total="1,00")
    assert error.value.attempts_left == 4


def test_one_cabinets_lock_does_not_lock_another(app, proof, owner):
    for _ in range(5):
        with pytest.raises((OwnershipProofFailed, OwnershipProofLocked)):
            accounts.bind_account(app, owner.session_token, proof, NUMBER, "Дом",
                                  last_invoice_total="1,00")
    spouse = register_and_activate(app)
    assert accounts.bind_account(app, spouse.session_token, proof, NUMBER, "Дом",
                                 last_invoice_total="1234,56") > 0


def test_an_account_without_invoices_cannot_be_proved_yet(app, proof, owner):
    before = snapshot(app)
    with pytest.raises(OwnershipProofUnavailable) as error:
        accounts.bind_account(app, owner.session_token, proof, "4701542004", "Дача",
                              last_invoice_total="100")
    assert "ещё не выставлено ни одного счёта" in str(error.value)
    assert snapshot(app) == before


def test_providers_without_proof_ignore_the_answer(app, water, owner):
    assert FORM.ownership_proof is False
    assert accounts.bind_account(app, owner.session_token, water, NUMBER, "Дом",
                                 last_invoice_total="что угодно") > 0
