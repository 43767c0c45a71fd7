"""Words, not internals (issue 14, point 3), and the receipt sent again (point 8), in AppTest:
the journal, the customer card's history and the payment's timeline show sentences, the
raw record is one click away, the payment card e-mails its receipt again."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from core.actors import StaffRole
from core.customers import contact_center
from core.db.models import AuditEntry, Customer, OutboxMessage
from core.payments.machine import PaymentStatus
from tests.dashboard.helpers import button, open_card_tab, shown, table_with, texts
from tests.factories.billing import make_provider
from tests.factories.customers import register_and_activate
from tests.factories.payment_flow import DECLINED_CARD, pay_invoice, payer
from tests.factories.payments import make_payment, make_refund


def _raw_records(at) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(e.proto.body) for e in at.get("json")]


def _expanders(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.label for e in at.expander]


def test_the_journal_reads_sentences_and_keeps_the_raw_record(dash_app, logged_in):
    at, agent = logged_in(StaffRole.AGENT)
    customer = register_and_activate(dash_app, phone="+79260001122")
    contact_center.block(dash_app, agent, customer.customer_id, "Утеря телефона")
    at.switch_page("views/audit.py").run()
    assert not at.exception, at.exception
    journal = table_with(at, "Что произошло")
    words = dict(zip(journal["Действие"], journal["Что произошло"]))
    assert words["Блокировка"].startswith("Кабинет заблокирован (был: активен)")
    assert words["Вход сотрудника"] == "Вход по паролю"
    assert "Было" not in journal.columns and "Стало" not in journal.columns
    cells = " ".join(str(v) for v in journal.to_numpy().ravel())
    assert "{" not in cells and "status" not in cells and "password" not in cells
    assert "+7 926 000-11-22" in " ".join(journal["Клиент"])
    assert "Исходная запись" in _expanders(at)
    raw = _raw_records(at)[0]  # the newest row: the block, as stored
    assert raw["action"] == "customer.block" and raw["after"]["status"] == "blocked"


def test_the_customer_cards_history_reads_sentences(dash_app, logged_in):
    at, agent = logged_in(StaffRole.AGENT)
    customer = register_and_activate(dash_app, phone="+79260003344")
    contact_center.block(dash_app, agent, customer.customer_id, "Просьба клиента")
    at.query_params["customer"] = str(customer.customer_id)
    at.run()
    assert not at.exception, at.exception
    history = table_with(open_card_tab(at, "История действий"), "Что произошло")
    assert any(str(v).startswith("Кабинет заблокирован") for v in history["Что произошло"])
    assert "{" not in " ".join(str(v) for v in history["Что произошло"])


def _open_payment(at, payment_id: int):  # type: ignore[no-untyped-def]
    at.switch_page("views/payments.py")
    at.query_params["payment"] = str(payment_id)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_timeline_reads_rubles_and_names_and_keeps_the_raw_details(dash_app, logged_in):
    at, agent = logged_in(StaffRole.AGENT)
    water = make_provider(dash_app, name="ГУП «Водоканал»")
    login = register_and_activate(dash_app, phone="+79991234567")
    pid = make_payment(dash_app, provider_id=water, amount=150_000, commission=1_500,
                       customer_id=login.customer_id)
    make_refund(dash_app, pid, 50_000, staff_id=agent.staff_id, reason="Двойная оплата")
    _open_payment(at, pid)
    timeline = table_with(at, "Событие")
    last = timeline.iloc[-1]
    assert last["Подробности"] == "Возврат на 500,00\u00a0₽"
    assert last["Кто"] == f"Сотрудник {agent.login}"  # the name, not the login
    cells = " ".join(str(v) for v in timeline["Подробности"])
    assert "amount" not in cells and "50000" not in cells
    assert "Исходная запись" in _expanders(at)
    picker = at.selectbox(key=f"pay_events_{pid}_raw_row")
    picker.select(picker.options[-1]).run()
    assert _raw_records(at)[-1]["details"] == {"amount": 50_000}  # kopecks, as stored


def _outbox_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def test_the_payment_card_sends_the_receipt_again(dash_app, logged_in):
    at, agent = logged_in(StaffRole.AGENT)
    p = payer(dash_app)
    view = pay_invoice(dash_app, p)
    with dash_app.uow(write=False) as uow:
        email = uow.session.scalar(select(Customer.email).where(Customer.id == p.customer_id))
    _open_payment(at, view.id)
    field = at.text_input(key=f"pay_resend_email_{view.id}")
    assert field.value == email  # the payer's e-mail by default

    before = _outbox_count(dash_app)
    field.input("не адрес")
    button(at, "Отправить квитанцию на e-mail").click().run()
    assert any(shown(e.value).startswith("E-mail: адрес должен содержать @") for e in at.error)
    assert _outbox_count(dash_app) == before  # nothing queued

    at.text_input(key=f"pay_resend_email_{view.id}").input("copy@example.ru")
    button(at, "Отправить квитанцию на e-mail").click().run()
    assert not at.exception, at.exception
    assert f"Квитанция по платежу № {view.id} поставлена в очередь отправки на copy@example.ru" \
        in texts(at)
    with dash_app.uow(write=False) as uow:
        message = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())
                                      ).first()
        entry = uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "payment.receipt_resend"))
    assert message.recipient == "copy@example.ru"
    assert message.subject == f"Квитанция по платежу № {view.id}"
    assert entry is not None and entry.staff_id == agent.staff_id


def test_a_payment_without_a_receipt_offers_no_sending(dash_app, logged_in):
    at, _ = logged_in(StaffRole.AGENT)
    view = pay_invoice(dash_app, payer(dash_app), DECLINED_CARD)
    assert view.status is PaymentStatus.DECLINED
    _open_payment(at, view.id)
    assert "Квитанции нет: платёж не оплачен, отправлять нечего" in texts(at)
    assert not [b for b in at.button if b.label == "Отправить квитанцию на e-mail"]
