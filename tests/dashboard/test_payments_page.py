"""«Платежи» and the customer card's «Платежи» and «Карты» tabs, in AppTest."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, SavedCard
from core.actors import StaffRole
from core.payments.machine import PaymentStatus
from tests.dashboard.helpers import (button, confirm, open_card_tab, open_first_card, open_row,
                                    open_tab, pick_row, record_calls, search, shown, table_with,
                                    texts)
from tests.factories.customers import register_and_activate
from tests.factories.billing import make_provider
from tests.factories.payments import make_card, make_payment, make_refund
from tests.factories.dbstate import snapshot

UTC = timezone.utc


@pytest.fixture
def payments(dash_app):  # type: ignore[no-untyped-def]
    water = make_provider(dash_app, name="ГУП «Водоканал»")
    power = make_provider(dash_app, name="ООО «Энергосбыт»", pattern=r"\d{12}")
    login = register_and_activate(dash_app, phone="+79991234567")
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    return {
        "login": login, "water": water, "power": power,
        "ok": make_payment(dash_app, provider_id=water, amount=150_000, commission=1_500,
                           customer_id=login.customer_id, created_at=at,
                           masked_pan="553691******4242", card_brand="mastercard"),
        "declined": make_payment(dash_app, provider_id=power, amount=250_000,
                                 status=PaymentStatus.DECLINED, created_at=at,
                                 account_number="400000000001"),
        "pending": make_payment(dash_app, provider_id=power, amount=77_700,
                                status=PaymentStatus.PENDING, created_at=at,
                                account_number="400000000002", check_attempts=3),
    }


def _open_payments(at):  # type: ignore[no-untyped-def]
    at.switch_page("views/payments.py").run()
    assert not at.exception, at.exception
    return at


PAY_LIST_TAB = "pay_list_tab"  # the key of the page's tabs (a page is a script: not imported)


def _open_unknown_outcome(at):  # type: ignore[no-untyped-def]
    return open_tab(at, PAY_LIST_TAB, "Неясный результат")


def _filter(at, **fields):  # type: ignore[no-untyped-def]
    for key, value in fields.items():
        at.text_input(key=key).input(value)
    return button(at, "Показать").click().run()


def test_finance_lists_filters_opens_a_payment_and_exports(dash_app, logged_in, payments):
    at, finance = logged_in(StaffRole.FINANCE)
    make_refund(dash_app, payments["ok"], 50_000, staff_id=finance.staff_id,
                reason="Двойная оплата")
    _open_payments(at)
    table = at.dataframe[0].value
    assert len(table) == 3 and "Всего: 3" in texts(at)
    assert set(table["Статус"]) == {"Частично возвращён", "Отклонён", "Результат уточняется"}
    assert "+7 999 123-45-67" in table["Плательщик"].tolist()
    assert button(at, "Выгрузить в Excel")

    _filter(at, pay_card="4242")
    table = at.dataframe[0].value
    assert table["№"].tolist() == [payments["ok"]]
    assert table["Сумма"].tolist() == ["1\u00a0500,00\u00a0₽"]

    open_row(at, "pay", "payment")
    assert not at.exception, at.exception
    assert f"Платёж № {payments['ok']}: 1\u00a0500,00\u00a0₽" in texts(at)
    timeline = table_with(at, "Событие")
    assert timeline["Событие"].tolist() == [
        "запрос авторизации", "запрос одноразового пароля", "подтверждение паролем",
        "частичный возврат"]
    assert {"Время", "Событие", "Статус", "Кто", "Подробности"} <= set(timeline.columns)
    refunds = table_with(at, "Причина")
    assert refunds["Причина"].tolist() == ["Двойная оплата"]
    assert "Можно вернуть до 1\u00a0000,00\u00a0₽" in texts(at)

    button(at, "Выгрузить в Excel").click().run()
    assert not at.exception
    assert [b for b in at.get("download_button") if b.proto.label == "Скачать файл"]
    with dash_app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "payment.export"))
    assert entry.staff_id == finance.staff_id and entry.after["rows"] == 1


def test_bad_filter_says_which_field(dash_app, logged_in, payments):
    at, _ = logged_in(StaffRole.FINANCE)
    _open_payments(at)
    _filter(at, pay_amount_from="много")
    assert "Сумма от: введите сумму в рублях" in texts(at)
    _filter(at, pay_amount_from="", pay_id="12а")
    assert "Номер платежа: введите номер цифрами" in texts(at)
    _filter(at, pay_id="")
    assert len(at.dataframe[0].value) == 3


def test_unknown_outcome_tab(dash_app, logged_in, payments):
    at, _ = logged_in(StaffRole.FINANCE)
    _open_unknown_outcome(_open_payments(at))
    [pending] = [d.value for d in at.dataframe]  # the open tab's table only
    assert pending["№"].tolist() == [payments["pending"]]
    assert pending["Запросов в банк"].tolist() == [3]
    open_row(at, "pend", "payment")
    assert "Результат платежа неизвестен" in texts(at)


def test_manager_has_no_payments_page_and_is_refused_by_the_service(dash_app, logged_in,
                                                                   payments):
    from core.actors import PermissionDenied
    from core.paging import PageRequest
    from core.payments import read_models as pv

    at, manager = logged_in(StaffRole.MANAGER)
    at.switch_page("views/payments.py").run()  # its address says so, showing nothing of it
    assert [shown(e.value) for e in at.error] == ["Нет доступа к разделу «Платежи»"]
    assert not at.dataframe
    with pytest.raises(PermissionDenied):
        pv.list_payments(dash_app, manager, pv.PaymentFilter(), PageRequest(1, 10))
    with pytest.raises(PermissionDenied):
        pv.payment_detail(dash_app, manager, payments["ok"])


def test_agent_sees_the_list_and_a_detail_without_refund_status_or_export(dash_app,
                                                                          logged_in, payments):
    at, _ = logged_in(StaffRole.AGENT)
    _open_payments(at)
    table = at.dataframe[0].value
    assert len(table) == 3 and "+7 999 123-45-67" in table["Плательщик"].tolist()
    assert "Выгрузить в Excel" not in [b.label for b in at.button]

    _filter(at, pay_id=str(payments["ok"]))
    open_row(at, "pay", "payment")
    assert not at.exception, at.exception
    assert f"Платёж № {payments['ok']}" in texts(at)
    assert len(table_with(at, "Событие"))  # the timeline
    labels = [b.label for b in at.button]
    assert "Оформить возврат" not in labels and "Выгрузить в Excel" not in labels
    assert not [t for t in at.text_input if t.key.startswith("pay_refund_amount")]

    open_row(_open_unknown_outcome(at), "pend", "payment")
    assert "Результат платежа неизвестен" in texts(at)
    assert "Запросить статус у банка" not in [b.label for b in at.button]


def _card_of(at, tab: str):  # type: ignore[no-untyped-def]
    search(at, "+7 999 123-45-67")
    return open_card_tab(open_first_card(at), tab)


def _frame_with(at, column):  # type: ignore[no-untyped-def]
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with «{column}»"
    return frames[0]


def test_customer_card_payments_and_cards_tabs(dash_app, logged_in, payments):
    cid = payments["login"].customer_id
    make_card(dash_app, cid, last4="4242", first6="553691", brand="mastercard",
              is_default=True)
    at, _ = logged_in(StaffRole.AGENT)
    _card_of(at, "Платежи")
    pays = _frame_with(at, "RRN")
    assert pays["№"].tolist() == [payments["ok"]]
    assert not [d for d in at.dataframe if "Срок" in d.value.columns]  # another tab's
    assert f"Платёж № {payments['ok']}" not in texts(at)  # until its row is clicked
    pick_row(at, "card_pay", payments["ok"])
    assert f"Платёж № {payments['ok']}" in texts(at)
    open_card_tab(at, "Карты")
    cards = _frame_with(at, "Срок")
    assert cards["Номер"].tolist() == ["553691******4242"]
    assert cards["Основная"].tolist() == ["да"]
    assert not [d for d in at.dataframe if "RRN" in d.value.columns]


def test_agent_removes_a_card_only_with_a_reason(dash_app, logged_in, payments):
    cid = payments["login"].customer_id
    first = make_card(dash_app, cid, last4="1111", is_default=True)
    make_card(dash_app, cid, last4="2222")
    at, agent = logged_in(StaffRole.AGENT)
    _card_of(at, "Карты")
    at.selectbox(key="card_card_pick").set_value(first).run()
    at.button(key="act_card_remove").click().run()
    before = snapshot(dash_app)
    confirm(at, "   ")
    assert "Причина: обязательное поле" in texts(at)
    after = snapshot(dash_app)
    # only the card view may have been journaled again; the cards are untouched
    assert after["saved_cards"] == before["saved_cards"]
    assert not [a for a in after["audit_log"] if "card.remove" in a]
    confirm(at, "Клиент сообщил о потере карты")
    assert not at.exception, at.exception
    assert "Карта удалена" in texts(at)
    with dash_app.uow(write=False) as uow:
        removed = uow.session.get(SavedCard, first)
        assert removed.removed_at is not None
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "card.remove"))
    assert entry.staff_id == agent.staff_id and entry.reason == "Клиент сообщил о потере карты"
    cards = _frame_with(at, "Срок")
    assert cards.loc[cards["Номер"] == "411111******2222", "Основная"].tolist() == ["да"]


def test_finance_sees_cards_without_remove(dash_app, logged_in, payments):
    make_card(dash_app, payments["login"].customer_id, is_default=True)
    at, _ = logged_in(StaffRole.FINANCE)
    _card_of(at, "Карты")
    assert _frame_with(at, "Срок")["Номер"].tolist() == ["411111******1111"]
    assert not [b for b in at.button if b.key == "act_card_remove"]


# --- actions wired to the lead's services: receipts and the status query ----------------

def _download_labels(at):  # type: ignore[no-untyped-def]
    return [b.proto.label for b in at.get("download_button")]


@pytest.mark.parametrize("role", [StaffRole.FINANCE, StaffRole.AGENT])
def test_receipt_of_a_final_payment_downloads(dash_app, logged_in, payments, role):
    from core.payments import receipts

    at, staff = logged_in(role)
    _open_payments(at)
    _filter(at, pay_id=str(payments["declined"]))
    open_row(at, "pay", "payment")
    button(at, "Подготовить квитанцию").click().run()
    assert not at.exception, at.exception
    assert {"Скачать квитанцию (PDF)", "Скачать квитанцию (HTML)"} <= set(_download_labels(at))
    # what the button hands out: a declined payment gets «Справка об операции»
    assert receipts.receipt_pdf(dash_app, staff, payments["declined"]).startswith(b"%PDF")


def test_receipt_not_ready_says_why(dash_app, logged_in, payments):
    at, _ = logged_in(StaffRole.FINANCE)
    _open_payments(at)
    _filter(at, pay_id=str(payments["ok"]))
    open_row(at, "pay", "payment")
    button(at, "Подготовить квитанцию").click().run()
    assert "Квитанция недоступна" in texts(at)
    assert "Скачать квитанцию (PDF)" not in _download_labels(at)


def test_finance_asks_the_bank_about_a_pending_payment(dash_app, logged_in, payments):
    at, finance = logged_in(StaffRole.FINANCE)
    _open_unknown_outcome(_open_payments(at))
    open_row(at, "pend", "payment")
    assert "Подготовить квитанцию" not in [b.label for b in at.button]  # outcome unknown
    assert button(at, "Запросить статус у банка")
    at.button(key="pay_ask").click().run()
    confirm(at)
    assert not at.exception, at.exception
    assert "Запрос в банк выполнен" in texts(at)
    with dash_app.uow(write=False) as uow:
        from core.db.models import Payment
        status = uow.session.get(Payment, payments["pending"]).status
        entry = uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "payment.ask_gateway"))
    assert status != "pending"  # the bank answered (the simulator does not know it: declined)
    assert f"Статус платежа № {payments['pending']}: " in texts(at)
    assert entry.staff_id == finance.staff_id


@pytest.fixture
def shared_gateway(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """One acquirer simulator for the test and the dashboard (before ``dash_app``)."""
    monkeypatch.setenv("GATEWAY_STATE_FILE", str(tmp_path / "gateway.json"))


def test_finance_refunds_part_of_a_real_payment(shared_gateway, dash_app, logged_in):
    from core.db.models import Payment, Refund
    from tests.factories.payment_flow import pay_invoice, payer

    p = payer(dash_app, total_due=150_000)
    view = pay_invoice(dash_app, p)
    at, finance = logged_in(StaffRole.FINANCE)
    _open_payments(at)
    _filter(at, pay_id=str(view.id))
    open_row(at, "pay", "payment")
    assert at.text_input(key=f"pay_refund_amount_{view.id}").value == "1500,00"

    at.text_input(key=f"pay_refund_amount_{view.id}").input("2000")
    at.button(key="pay_refund").click().run()
    confirm(at, "Двойная оплата")
    assert "Сумма возврата: не больше" in texts(at)
    at.text_input(key=f"pay_refund_amount_{view.id}").input("500,00")
    at.button(key="pay_refund").click().run()
    confirm(at, "   ")
    assert "Причина возврата" in texts(at)
    with dash_app.uow(write=False) as uow:
        assert uow.session.scalars(select(Refund)).all() == []  # nothing happened yet
    confirm(at, "Двойная оплата")
    assert not at.exception, at.exception
    assert "Возврат оформлен" in texts(at)
    with dash_app.uow(write=False) as uow:
        payment = uow.session.get(Payment, view.id)
        refund = uow.session.scalar(select(Refund))
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", 50_000)
    assert (refund.amount, refund.reason, refund.requested_by_staff_id) == (
        50_000, "Двойная оплата", finance.staff_id)
    refunds_table = [d.value for d in at.dataframe if "Оформил" in d.value.columns][0]
    assert refunds_table["Причина"].tolist() == ["Двойная оплата"]


def test_agent_gets_a_receipt_from_the_customer_card(dash_app, logged_in, payments):
    declined = make_payment(dash_app, provider_id=payments["power"], amount=10_000,
                            status=PaymentStatus.DECLINED,
                            customer_id=payments["login"].customer_id)
    at, _ = logged_in(StaffRole.AGENT)
    _card_of(at, "Платежи")
    pick_row(at, "card_pay", declined)
    assert "Причина отказа: Недостаточно средств" in texts(at)
    labels = [b.label for b in at.button]
    assert "Оформить возврат" not in labels and "Запросить статус у банка" not in labels
    button(at, "Подготовить квитанцию").click().run()
    assert not at.exception, at.exception
    assert "Скачать квитанцию (PDF)" in _download_labels(at)


def test_a_second_finance_user_approves_a_big_refund(shared_gateway, dash_app, logged_in):
    from core.db.models import Refund
    from core.payments import refunds
    from tests.factories.payment_flow import pay_invoice, payer

    view = pay_invoice(dash_app, payer(dash_app, total_due=3_000_000))
    at, asker = logged_in(StaffRole.FINANCE)
    asked = refunds.refund(dash_app, asker, view.id, "20000", "Ошибочная оплата")
    assert asked.awaiting_approval
    _open_payments(at)
    _filter(at, pay_id=str(view.id))
    open_row(at, "pay", "payment")
    assert "Подтвердить или отклонить его должен другой сотрудник" in texts(at)
    assert not [b for b in at.button if b.label == "Подтвердить возврат"]

    other, approver = logged_in(StaffRole.FINANCE)
    _open_payments(other)
    _filter(other, pay_id=str(view.id))
    open_row(other, "pay", "payment")
    button(other, "Подтвердить возврат").click().run()
    confirm(other)  # no comment asked for an approval
    assert not other.exception, other.exception
    assert "Возврат подтверждён и отправлен в банк" in texts(other)
    with dash_app.uow(write=False) as uow:
        row = uow.session.get(Refund, asked.refund_id)
    assert (row.status, row.approved_by_staff_id) == ("succeeded", approver.staff_id)


def test_the_open_card_is_read_before_the_lists_and_shown_under_them(dash_app, logged_in,
                                                                      payments, monkeypatch):
    """A row's click shows the card without waiting for the lists (their queries, their
    tables in the browser): the card is drawn first, into its place under them; and
    «Показать» still closes it in the same run."""
    from core.payments import read_models as pv

    at, _ = logged_in(StaffRole.FINANCE)
    _open_payments(at)
    read = record_calls(monkeypatch, (pv, "list_payments"), (pv, "pending_payments"),
                        (pv, "payment_detail"))
    open_row(at, "pay", "payment")
    assert not at.exception, at.exception
    assert read == ["payment_detail", "list_payments"]  # «Неясный результат» is closed
    order = ["table" if e.type == "dataframe" else e.value for e in _walk(at.main)
             if e.type in ("dataframe", "subheader")]
    card = next(i for i, v in enumerate(order) if str(v).startswith("Платёж №"))
    assert order.index("table") < card  # the register's table above the card
    _filter(at)
    assert "payment" not in at.query_params
    assert not [e for e in at.subheader if e.value.startswith("Платёж №")]


def test_only_the_open_list_is_read_and_the_filter_and_page_stay_across_its_tabs(
        dash_app, logged_in, payments, monkeypatch):
    """«Платежи» and «Неясный результат» are read and drawn only while open (a row's click
    sent the other list again); the register's filter and page survive a look at the other
    tab, though its form is not drawn meanwhile."""
    from core.payments import read_models as pv

    at, _ = logged_in(StaffRole.FINANCE)
    _open_payments(at)
    at.selectbox(key="pay_provider").select(payments["power"])
    _filter(at, pay_amount_from="100")
    assert sorted(at.dataframe[0].value["№"]) == sorted([payments["declined"],
                                                        payments["pending"]])
    at.selectbox(key="pay_size").select(10).run()
    read = record_calls(monkeypatch, (pv, "list_payments"), (pv, "pending_payments"))

    _open_unknown_outcome(at)
    assert read == ["pending_payments"]
    assert [list(d.value["№"]) for d in at.dataframe] == [[payments["pending"]]]
    assert not [t for t in at.text_input if t.key == "pay_amount_from"]  # not drawn

    read.clear()
    open_tab(at, PAY_LIST_TAB, "Платежи")
    assert read == ["list_payments"]
    assert at.text_input(key="pay_amount_from").value == "100"
    assert at.selectbox(key="pay_provider").value == payments["power"]
    assert at.selectbox(key="pay_size").value == 10
    assert sorted(at.dataframe[0].value["№"]) == sorted([payments["declined"],
                                                        payments["pending"]])


def _walk(node):  # type: ignore[no-untyped-def]
    """Every element under ``node``, in the page's order (AppTest keeps it by position)."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)
