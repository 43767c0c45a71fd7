"""Payment read models: the register, its filters and paging, a payment's card,
unknown outcomes, the export, a cabinet's history, and the customer's own history."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Payment
from core.actors import PermissionDenied, StaffRole
from core.errors import NotFound, ValidationError
from core.customers.errors import SessionInvalid
from core.paging import PageRequest
from core.payments.machine import PaymentStatus
from core.customers import cabinet
from core.payments.read_models import (PaymentFilter, customer_payments, export_payments,
                                       list_payments, operations_history, payment_detail,
                                       pending_payments)
from tests.factories.customers import make_staff, register_and_activate
from tests.factories.billing import add_accounts, make_invoice, make_provider
from tests.factories.payments import add_event, make_payment, make_refund
from tests.factories.dbstate import snapshot

P = PageRequest(1, 25)
UTC = timezone.utc


@pytest.fixture
def finance(app):  # type: ignore[no-untyped-def]
    return make_staff(app, StaffRole.FINANCE)


@pytest.fixture
def world(app):  # type: ignore[no-untyped-def]
    """Two providers, one customer, six payments over three Moscow days."""
    water = make_provider(app, name="ГУП «Водоканал»")
    power = make_provider(app, name="ООО «Энергосбыт»", pattern=r"\d{12}")
    login = register_and_activate(app, phone="+79991234567")
    day1 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 23.11 12:00 МСК
    day2 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    late = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)  # 25.11 00:30 МСК
    ids = {
        "ok_small": make_payment(app, provider_id=water, amount=10_000, commission=100,
                                 customer_id=login.customer_id, created_at=day1,
                                 masked_pan="411111******1111"),
        "ok_big": make_payment(app, provider_id=water, amount=500_000, commission=5_000,
                               customer_id=login.customer_id, created_at=day2,
                               masked_pan="553691******4242", card_brand="mastercard",
                               account_number="1000000002"),
        "declined": make_payment(app, provider_id=power, amount=250_000,
                                 status=PaymentStatus.DECLINED, created_at=day2,
                                 account_number="400000000001",
                                 masked_pan="220220******7777", card_brand="mir"),
        "pending": make_payment(app, provider_id=power, amount=77_700,
                                status=PaymentStatus.PENDING, created_at=late,
                                account_number="400000000001", check_attempts=2),
        "review": make_payment(app, provider_id=water, amount=12_345,
                               status=PaymentStatus.PENDING, created_at=day1,
                               manual_review=True, check_attempts=10),
        "otp_fresh": make_payment(app, provider_id=water, amount=9_900,
                                  status=PaymentStatus.AWAITING_OTP,
                                  created_at=app.now() - timedelta(minutes=3)),
    }
    return {"water": water, "power": power, "login": login, "ids": ids}


def _ids(page) -> list[int]:  # type: ignore[no-untyped-def]
    return [row.id for row in page.items]


# --- roles ------------------------------------------------------------------------

def test_agent_views_the_register_with_payers_but_cannot_export(app, world):
    agent = make_staff(app, StaffRole.AGENT)
    flt = PaymentFilter(payment_id=str(world["ids"]["ok_big"]))
    seen = list_payments(app, agent, flt, P).items[0]
    assert seen.customer_phone == "+7 999 123-45-67" and seen.payer == "+7 999 123-45-67"
    assert seen.amount == 500_000 and seen.total == 505_000
    detail = payment_detail(app, agent, world["ids"]["declined"])
    assert detail.payment.receipt_email and detail.events and not detail.can_refund
    assert _ids(pending_payments(app, agent, P)) == [world["ids"]["review"],
                                                    world["ids"]["pending"]]
    before = snapshot(app)
    with pytest.raises(PermissionDenied, match="Недостаточно прав"):
        export_payments(app, agent, PaymentFilter())
    assert snapshot(app) == before  # a refused export is not journaled


def test_manager_is_refused_everywhere(app, world):
    manager = make_staff(app, StaffRole.MANAGER)
    with pytest.raises(PermissionDenied, match="Недостаточно прав"):
        list_payments(app, manager, PaymentFilter(), P)
    with pytest.raises(PermissionDenied):
        payment_detail(app, manager, world["ids"]["declined"])
    with pytest.raises(PermissionDenied):
        pending_payments(app, manager, P)
    with pytest.raises(PermissionDenied):
        export_payments(app, manager, PaymentFilter())
    with pytest.raises(PermissionDenied):
        customer_payments(app, manager, world["login"].customer_id, P)


def test_finance_sees_phones_and_receipt_emails(app, world, finance):
    seen = list_payments(app, finance, PaymentFilter(payment_id=str(world["ids"]["ok_big"])),
                         P).items[0]
    assert seen.customer_phone == "+7 999 123-45-67"
    assert seen.payer == "+7 999 123-45-67"
    declined = payment_detail(app, finance, world["ids"]["declined"]).payment
    assert declined.customer_phone is None and declined.payer == declined.receipt_email
    assert declined.receipt_email.endswith("@example.ru")


def test_list_newest_first_with_labels_and_amounts(app, world, finance):
    page = list_payments(app, finance, PaymentFilter(), P)
    assert page.total == 6 and not page.total_capped
    assert [r.created_at for r in page.items] == sorted((r.created_at for r in page.items),
                                                        reverse=True)
    declined = next(r for r in page.items if r.id == world["ids"]["declined"])
    assert declined.status == "declined" and declined.status_label == "Отклонён"
    assert declined.provider_name == "ООО «Энергосбыт»"
    assert declined.account_number == "400000000001"
    assert declined.customer_id is None and declined.receipt_email.endswith("@example.ru")
    ok = next(r for r in page.items if r.id == world["ids"]["ok_small"])
    assert (ok.amount, ok.commission, ok.refunded_amount, ok.masked_pan) == (
        10_000, 100, 0, "411111******1111")
    assert ok.rrn and ok.status_label == "Оплачен"


# --- filters --------------------------------------------------------------------------

def test_each_filter_narrows(app, world, finance):
    ids = world["ids"]

    def found(**kw):  # type: ignore[no-untyped-def]
        return set(_ids(list_payments(app, finance, PaymentFilter(**kw), P)))

    assert found(date_from=date(2026, 11, 24), date_to=date(2026, 11, 24)) == {
        ids["ok_big"], ids["declined"]}
    assert found(date_from=date(2026, 11, 25)) == {ids["pending"], ids["otp_fresh"]}
    assert found(date_to=date(2026, 11, 23)) == {ids["ok_small"], ids["review"]}
    assert found(status=PaymentStatus.PENDING) == {ids["pending"], ids["review"]}
    assert found(status="declined") == {ids["declined"]}
    assert found(provider_id=world["power"]) == {ids["declined"], ids["pending"]}
    assert found(amount_from="1 000", amount_to="2 500,00") == {ids["declined"]}
    assert found(amount_from="5000") == {ids["ok_big"]}
    assert found(amount_to="123,45") == {ids["ok_small"], ids["review"], ids["otp_fresh"]}
    assert found(card="4242") == {ids["ok_big"]}
    assert found(card="220220") == {ids["declined"]}
    assert found(card="5536 91** **** 4242") == {ids["ok_big"]}
    assert found(card="411111******1111") == {ids["ok_small"], ids["pending"], ids["review"],
                                              ids["otp_fresh"]}
    assert found(payment_id=f" № {ids['pending']} ") == {ids["pending"]}
    assert found(payment_id=ids["review"]) == {ids["review"]}
    assert found(customer_id=world["login"].customer_id) == {ids["ok_small"], ids["ok_big"]}
    assert found(provider_id=world["water"], status="succeeded", card="1111") == {
        ids["ok_small"]}
    assert found(payment_id="999999") == set()


@pytest.mark.parametrize("kw, message", [
    (dict(amount_from="сто"), "Сумма от: введите сумму в рублях"),
    (dict(amount_to="1,2,3"), "Сумма до: введите сумму в рублях"),
    (dict(amount_to="-5"), "Сумма до: сумма не может быть отрицательной"),
    (dict(amount_from="10,555"), "Сумма от: не больше двух знаков"),
    (dict(amount_from="500", amount_to="100"), "Сумма от: больше, чем «Сумма до»"),
    (dict(payment_id="12a"), "Номер платежа: введите номер цифрами"),
    (dict(payment_id="0"), "Номер платежа"),
    (dict(payment_id="2147483648"), "Номер платежа: такого номера не бывает"),
    (dict(card="12"), "Карта: введите последние 4 цифры"),
    (dict(card="4111111111111111"), "Карта: введите последние 4 цифры"),
    (dict(status="paid"), "Статус: неизвестный статус"),
    (dict(date_from=date(2026, 11, 25), date_to=date(2026, 11, 1)), "Период"),
])
def test_bad_filter_input_names_the_field_and_changes_nothing(app, world, finance, kw,
                                                               message):
    before = snapshot(app)
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        list_payments(app, finance, PaymentFilter(**kw), P)
    with pytest.raises(ValidationError):
        export_payments(app, finance, PaymentFilter(**kw))
    assert snapshot(app) == before  # not even the export was journaled


def test_paging_splits_and_counts(app, finance):
    provider = make_provider(app)
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    made = [make_payment(app, provider_id=provider, amount=1_000 + n,
                         created_at=start + timedelta(hours=n), events=False)
            for n in range(23)]
    first = list_payments(app, finance, PaymentFilter(), PageRequest(1, 10))
    third = list_payments(app, finance, PaymentFilter(), PageRequest(3, 10))
    assert first.total == 23 and first.pages == 3 and len(first.items) == 10
    assert _ids(first) == list(reversed(made))[:10]
    assert _ids(third) == list(reversed(made))[20:]
    assert first.total_text == "23"


# --- detail -----------------------------------------------------------------------------

def test_detail_has_timeline_refunds_invoice_and_refund_flags(app, world, finance):
    account_id = add_accounts(app, world["water"], ["1000000009"])["1000000009"]
    invoice_id = make_invoice(app, account_id, date(2026, 10, 1), 150_000)
    pid = make_payment(app, provider_id=world["water"], amount=150_000, commission=1_500,
                       customer_id=world["login"].customer_id, invoice_id=invoice_id,
                       provider_account_id=account_id, account_number="1000000009")
    make_refund(app, pid, 50_000, staff_id=finance.staff_id, reason="Двойная оплата")
    make_refund(app, pid, 30_000, staff_id=finance.staff_id, status="requested",
                reason="Вторая часть")
    detail = payment_detail(app, finance, pid)
    assert detail.payment.status == "partially_refunded"
    assert detail.payment.status_label == "Частично возвращён"
    assert detail.payment.refunded_amount == 50_000
    assert [e.label for e in detail.events] == [
        "запрос авторизации", "запрос одноразового пароля", "подтверждение паролем",
        "частичный возврат"]
    assert detail.events[0].actor.startswith("Клиент")
    # People by their names, not their logins («Кто: finance» read as nobody).
    assert detail.events[-1].actor == f"Сотрудник {finance.login}"
    assert detail.events[-1].to_label == "Частично возвращён"
    assert [(r.amount, r.status_label, r.requested_by) for r in detail.refunds] == [
        (50_000, "Выполнен", f"Сотрудник {finance.login}"),
        (30_000, "Отправлен в банк", f"Сотрудник {finance.login}")]
    assert detail.invoice is not None and detail.invoice.id == invoice_id
    assert detail.invoice.period_label.lower().startswith("октябрь 2026")
    assert detail.can_refund and detail.refundable_amount == 70_000  # 150 000 − 50 000 − 30 000
    assert not detail.is_unknown_outcome


def test_detail_refund_flags_by_status_and_role(app, world, finance):
    ids = world["ids"]
    agent = make_staff(app, StaffRole.AGENT)
    admin = make_staff(app, StaffRole.ADMIN)
    assert payment_detail(app, finance, ids["ok_big"]).refundable_amount == 500_000
    assert payment_detail(app, admin, ids["ok_big"]).can_refund
    assert not payment_detail(app, agent, ids["ok_big"]).can_refund
    declined = payment_detail(app, finance, ids["declined"])
    assert not declined.can_refund and declined.refundable_amount == 0
    assert declined.decline_reason == "Недостаточно средств"
    full = make_payment(app, provider_id=world["water"], amount=1_000)
    make_refund(app, full, 1_000, staff_id=finance.staff_id)
    refunded = payment_detail(app, finance, full)
    assert refunded.payment.status == "refunded" and not refunded.can_refund
    assert refunded.events[-1].label == "полный возврат"


def test_unknown_outcome_flags(app, world, finance, clock):
    ids = world["ids"]
    assert payment_detail(app, finance, ids["pending"]).is_unknown_outcome
    assert payment_detail(app, finance, ids["pending"]).is_pending
    assert not payment_detail(app, finance, ids["otp_fresh"]).is_unknown_outcome
    clock.advance(minutes=13)  # 16 minutes waiting for the one-time password
    assert payment_detail(app, finance, ids["otp_fresh"]).is_unknown_outcome
    assert not payment_detail(app, finance, ids["ok_small"]).is_unknown_outcome


def test_detail_of_unknown_payment(app, finance):
    with pytest.raises(NotFound, match="Платёж не найден"):
        payment_detail(app, finance, 424242)


def test_staff_event_shows_the_staff_members_name(app, world, finance):
    pid = world["ids"]["pending"]
    add_event(app, pid, "status_succeeded", "pending", "succeeded",
              staff_id=finance.staff_id, details={"asked": "manual"})
    event = payment_detail(app, finance, pid).events[-1]
    assert (event.actor, event.label, event.from_label, event.to_label) == (
        f"Сотрудник {finance.login}", "уточнение статуса: оплачен", "Результат уточняется",
        "Оплачен")
    assert event.details == {"asked": "manual"}


# --- unknown outcome list -------------------------------------------------------------------

def test_pending_list_puts_manual_review_first(app, world, finance, clock):
    ids = world["ids"]
    page = pending_payments(app, finance, P)
    assert _ids(page) == [ids["review"], ids["pending"]]
    assert page.items[0].manual_review and page.items[0].check_attempts == 10
    assert page.items[1].check_attempts == 2
    clock.advance(minutes=20)  # the one-time password was never entered: stale
    assert _ids(pending_payments(app, finance, P)) == [ids["review"], ids["pending"],
                                                       ids["otp_fresh"]]


# --- export --------------------------------------------------------------------------------------

def test_export_is_filtered_neutralised_and_journaled(app, world, finance):
    make_payment(app, provider_id=world["water"], amount=3_000, account_number="=1+1",
                 created_at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    flt = PaymentFilter(date_from=date(2026, 11, 24), date_to=date(2026, 11, 24))
    data = export_payments(app, finance, flt)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Номер", "Создан", "Статус")
    assert len(rows) == 1 + 3
    by_id = {r[0]: r for r in rows[1:]}
    big = by_id[world["ids"]["ok_big"]]
    assert big[2] == "Оплачен" and big[5] == 5000 and big[7] == 5050
    assert big[9] == "Mastercard 553691******4242" and big[12] == "+7 999 123-45-67"
    # The acquirer's transaction id and RRN, to find the payment in the bank's registry.
    assert rows[0][10:12] == ("ID транзакции эквайера", "RRN")
    with app.uow(write=False) as uow:
        payment = uow.session.get(Payment, world["ids"]["ok_big"])
        txn, rrn = payment.gateway_txn_id, payment.rrn
    assert txn and rrn and big[10:12] == (txn, rrn)
    formula_cell = [r for r in rows[1:] if r[4] == "=1+1"]
    assert formula_cell  # kept as text, not turned into a formula
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "payment.export"))
    assert entry.staff_id == finance.staff_id
    assert entry.after["rows"] == 3
    assert entry.after["filter"] == {"date_from": "2026-11-24", "date_to": "2026-11-24"}


# --- a cabinet's payments ---------------------------------------------------------------------

def test_customer_payments_for_staff(app, world):
    agent = make_staff(app, StaffRole.AGENT)
    cid = world["login"].customer_id
    page = customer_payments(app, agent, cid, P)
    assert _ids(page) == [world["ids"]["ok_big"], world["ids"]["ok_small"]]
    assert page.items[0].customer_phone == "+7 999 123-45-67"
    only = customer_payments(app, agent, cid, P, date_from=date(2026, 11, 23),
                             date_to=date(2026, 11, 23))
    assert _ids(only) == [world["ids"]["ok_small"]]
    with pytest.raises(NotFound, match="Клиент не найден"):
        customer_payments(app, agent, 98765, P)


def test_customer_payments_by_account(app, world):
    agent = make_staff(app, StaffRole.AGENT)
    cid = world["login"].customer_id
    account_id = add_accounts(app, world["water"], ["1000000077"])["1000000077"]
    pid = make_payment(app, provider_id=world["water"], customer_id=cid,
                       provider_account_id=account_id, account_number="1000000077")
    assert _ids(customer_payments(app, agent, cid, P, provider_account_id=account_id)) == [pid]


def test_operations_history_for_the_customer(app, world):
    token = world["login"].session_token
    other = register_and_activate(app, phone="+79990000001")
    theirs = make_payment(app, provider_id=world["water"], customer_id=other.customer_id)
    ops = operations_history(app, token)
    assert [o.id for o in ops] == [world["ids"]["ok_big"], world["ids"]["ok_small"]]
    assert theirs not in [o.id for o in ops]
    assert ops[0].total == 505_000 and ops[0].status_label == "Оплачен"
    assert [o.id for o in operations_history(app, token, account_number="10000-00002")] == [
        world["ids"]["ok_big"]]
    assert [o.id for o in operations_history(app, token, date_to=date(2026, 11, 23))] == [
        world["ids"]["ok_small"]]
    with pytest.raises(ValidationError, match="Лицевой счёт"):
        operations_history(app, token, account_number="---")
    with pytest.raises(SessionInvalid):
        operations_history(app, "not-a-token")
    cabinet.logout(app, token)
    with pytest.raises(SessionInvalid):
        operations_history(app, token)


def test_operations_history_is_capped(app, monkeypatch):
    from core.payments import read_models

    provider = make_provider(app)
    login = register_and_activate(app)
    for n in range(4):
        make_payment(app, provider_id=provider, customer_id=login.customer_id, events=False,
                     created_at=app.now() - timedelta(hours=n))
    monkeypatch.setattr(read_models, "HISTORY_LIMIT", 3)
    assert len(operations_history(app, login.session_token)) == 3
