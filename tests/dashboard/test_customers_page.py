"""«Клиенты» in AppTest: the contact-center flows end to end through the real login."""
from __future__ import annotations

from sqlalchemy import select

from core.customers.captcha import StaticCaptcha
from core.app import build_app
from core.config import load_settings
from core.db.models import AuditEntry, CabinetBlock
from core.actors import StaffRole
from core.customers.rules import CabinetStatus
from core.customers import contact_center
from dashboard.components.customer_card import CARD_TABS
from tests.dashboard.helpers import (button, confirm, open_card_tab, open_first_card, record_calls,
                                     search, texts)
from tests.factories.customers import make_staff, register_and_activate


def _blocked_customer(app, phone="+79991234567"):  # type: ignore[no-untyped-def]
    login = register_and_activate(app, phone=phone)
    admin = make_staff(app, StaffRole.ADMIN)
    contact_center.block(app, admin, login.customer_id, "Утерян телефон")
    return login.customer_id


def test_agent_finds_blocked_customer_verifies_code_word_and_unblocks(dash_app, logged_in):
    customer_id = _blocked_customer(dash_app)
    at, agent = logged_in(StaffRole.AGENT)
    search(at, "8 (999) 123-45-67")
    assert at.dataframe[0].value["Статус"].tolist() == ["Заблокирован"]
    open_first_card(at)
    assert "Утерян телефон" in texts(at)
    assert at.button(key="act_unblock").disabled  # not before the code word

    at.text_input(key="code_word_answer").input("лютик")
    button(at, "Проверить кодовое слово").click().run()
    assert "Неверно. Осталось попыток: 2" in texts(at)

    at.text_input(key="code_word_answer").input("  РОМАШКА ")
    button(at, "Проверить кодовое слово").click().run()
    assert "Верно" in [s.value for s in at.success]
    assert not at.button(key="act_unblock").disabled

    at.button(key="act_unblock").click().run()
    confirm(at, "Клиент назвал кодовое слово")
    assert not at.exception
    assert "Кабинет разблокирован" in texts(at)
    with dash_app.uow(write=False) as uow:
        block = uow.session.scalar(select(CabinetBlock).where(
            CabinetBlock.customer_id == customer_id))
        assert block.lifted_by_staff_id == agent.staff_id and block.lift_method == "code_word"
        actions = uow.session.scalars(select(AuditEntry.action).where(
            AuditEntry.staff_id == agent.staff_id)).all()
    assert {"staff.login", "customer.card_view", "customer.code_word_check",
            "customer.unblock"} <= set(actions)
    card = contact_center.open_customer_card(dash_app, agent, customer_id)
    assert card.status is CabinetStatus.ACTIVE


def test_block_needs_a_reason_and_then_blocks(dash_app, logged_in):
    login = register_and_activate(dash_app, phone="+79991110000")
    at, agent = logged_in(StaffRole.AGENT)
    search(at, "+7 999 111-00-00")
    open_first_card(at)
    at.button(key="act_block").click().run()
    confirm(at, "   ")
    assert "Причина блокировки: обязательное поле" in texts(at)
    card = contact_center.open_customer_card(dash_app, agent, login.customer_id)
    assert card.status is CabinetStatus.ACTIVE  # nothing changed
    confirm(at, "Просьба клиента: утерян телефон")
    assert "Кабинет заблокирован" in texts(at)
    card = contact_center.open_customer_card(dash_app, agent, login.customer_id)
    assert card.status is CabinetStatus.BLOCKED
    assert card.current_block.reason == "Просьба клиента: утерян телефон"


def test_admin_unblocks_without_code_word_only_with_a_reason(dash_app, logged_in):
    customer_id = _blocked_customer(dash_app, phone="+79161234567")
    at, admin = logged_in(StaffRole.ADMIN)
    search(at, "79161234567")
    open_first_card(at)
    assert not at.button(key="act_unblock").disabled
    at.button(key="act_unblock").click().run()
    confirm(at, "")
    assert "Причина разблокировки: обязательное поле" in texts(at)
    confirm(at, "Клиент подтвердил личность паспортом в офисе")
    assert "Кабинет разблокирован" in texts(at)
    card = contact_center.open_customer_card(dash_app, admin, customer_id)
    assert card.status is CabinetStatus.ACTIVE
    assert card.blocks[0].lift_method == "admin_override"


def test_the_card_reads_and_draws_its_open_tab_only_and_a_new_card_opens_at_the_profile(
        dash_app, logged_in, monkeypatch):
    from core.billing import accounts, invoices
    from core.payments import read_models, saved_cards

    register_and_activate(dash_app, phone="+79267770021")
    other = register_and_activate(dash_app, phone="+79267770022")
    calls = record_calls(monkeypatch, (accounts, "customer_accounts"),
                         (invoices, "customer_invoices"), (read_models, "customer_payments"),
                         (saved_cards, "customer_cards"), (contact_center, "customer_history"))
    at, _ = logged_in(StaffRole.AGENT)
    search(at, "+7 926 777-00-21")
    open_first_card(at)
    assert [t.label for t in at.tabs if t.label in CARD_TABS] == list(CARD_TABS)
    assert [t.value["Поле"][0] for t in at.table] == ["Фамилия"]  # «Профиль» is open
    assert calls == []  # nothing of the other eight tabs is read
    # but «Заметки», whose form keeps a note being typed only while it is on the page
    assert [t.key for t in at.text_area] == ["card_note_text"]
    open_card_tab(at, "Платежи")
    assert calls == ["customer_payments"]
    assert "Платежей из этого кабинета не было" in texts(at)
    assert not at.table  # the profile is not drawn behind it
    assert [t.key for t in at.text_area] == ["card_note_text"]
    at.query_params["customer"] = str(other.customer_id)
    at.run()
    assert not at.exception, at.exception
    assert [t.value["Поле"][0] for t in at.table] == ["Фамилия"]
    assert calls == ["customer_payments"]
    assert "Платежей из этого кабинета не было" not in texts(at)


def test_finance_sees_the_card_but_no_actions(dash_app, logged_in):
    _blocked_customer(dash_app)
    at, _ = logged_in(StaffRole.FINANCE)
    search(at, "+79991234567")
    open_first_card(at)
    assert "Просмотр без права действий" in texts(at)
    keys = {b.key for b in at.button}
    assert not keys & {"act_unblock", "act_block", "act_resend"}


def test_hostile_search_strings_are_shown_as_text_and_find_nothing(dash_app, logged_in):
    register_and_activate(dash_app)
    at, _ = logged_in(StaffRole.AGENT)
    for query in ("' OR 1=1 --", "<script>alert(1)</script>"):
        search(at, query)
        assert not at.exception
        assert "Клиенты не найдены" in texts(at)
    search(at, "x" * 10_000)
    assert "Поиск: не длиннее 100 символов" in texts(at)


def test_resend_activation_code_from_the_card(dash_app, logged_in):
    from datetime import datetime, timedelta, timezone

    from core.clock import FrozenClock
    from core.db.models import OutboxMessage
    from tests.factories.customers import register

    # Registered two minutes ago (a second App on the same database with its own clock),
    # so the 60-second pause between codes has passed.
    earlier = build_app(load_settings(), clock=FrozenClock(
        datetime.now(timezone.utc) - timedelta(minutes=2)), captcha=StaticCaptcha("ok"))
    customer_id = register(earlier, phone="+79035556677")
    recent_id = register(dash_app, phone="+79035550000")
    at, agent = logged_in(StaffRole.AGENT)
    search(at, "+7 903 555-66-77")
    assert at.dataframe[0].value["Статус"].tolist() == ["Ожидает активации"]
    open_first_card(at)
    at.button(key="act_resend").click().run()
    confirm(at)
    assert "Код активации отправлен" in texts(at)
    with dash_app.uow(write=False) as uow:
        sms = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.customer_id == customer_id)).all()
        audited = uow.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "customer.activation_resend"))
    assert len(sms) == 2 and all("****" in m.display_body for m in sms)
    assert (audited.staff_id, audited.customer_id) == (agent.staff_id, customer_id)

    # Within 60 s of the last code the rule refuses, and says so.
    search(at, "+7 903 555-00-00")
    open_first_card(at)
    at.button(key="act_resend").click().run()
    confirm(at)
    assert "новый код можно запросить через" in texts(at)
    with dash_app.uow(write=False) as uow:
        assert len(uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.customer_id == recent_id)).all()) == 1
