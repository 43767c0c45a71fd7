"""«Лицевые счета», «Счета», «Подписки и рассылки» and the card's new tabs, in AppTest."""
from __future__ import annotations

from sqlalchemy import func, select

from core.db.models import Invoice, OutboxMessage, Subscription
from core.notifications.channels import MessageStatus
from core.actors import StaffRole
from core.notifications import outbox
from tests.dashboard.helpers import (button, confirm, open_card_tab, open_first_card, open_row,
                                     search, texts)
from tests.factories.customers import register_and_activate
from tests.factories.billing import (BAD_FILE, SAMPLES, VODOKANAL_CP1251_FILE, VODOKANAL_FILE, bind,
                                     vodokanal)


def _invoices(app) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Invoice)) or 0)


def _upload(at, path, key="invreg"):  # type: ignore[no-untyped-def]
    at.file_uploader(key=f"{key}_file").set_value((path.name, path.read_bytes(), "text/csv"))
    return button(at, "Загрузить").click().run()


def test_finance_loads_a_billing_registry_and_finds_the_invoices(dash_app, logged_in):
    vodokanal(dash_app)
    at, _ = logged_in(StaffRole.FINANCE)
    at.switch_page("views/invoices.py").run()
    assert "Счетов по этим условиям нет" in texts(at)
    _upload(at, BAD_FILE)
    assert "не загружен" in texts(at) and _invoices(dash_app) == 0
    report = at.dataframe[-1].value
    assert {"Строка", "Колонка", "Причина"} <= set(report.columns) and len(report) >= 3
    _upload(at, VODOKANAL_FILE)
    assert "загружен: счетов" in texts(at)
    created = _invoices(dash_app)
    assert created > 0
    _upload(at, VODOKANAL_FILE)
    assert "уже загружен" in texts(at) and _invoices(dash_app) == created
    at.run()
    table = at.dataframe[0].value
    assert len(table) == min(created, 25) and set(table["Статус"]) == {"Не оплачен"}
    open_row(at, "inv", "invoice")
    assert at.subheader[-1].value.startswith("Счёт за октябрь 2026")
    assert "Итого" in at.table[-1].value.columns


def test_invoice_filters_and_bad_filter_input(dash_app, logged_in):
    from core.billing import invoices

    vodokanal(dash_app)
    invoices.import_billing_registry(dash_app, None, 1, VODOKANAL_CP1251_FILE.name,
                                     VODOKANAL_CP1251_FILE.read_bytes())
    at, _ = logged_in(StaffRole.AGENT)
    at.switch_page("views/invoices.py").run()
    assert len(at.tabs) == 1  # agents view, no upload tab
    first = at.dataframe[0].value["Лицевой счёт"].iloc[0]
    at.text_input(key="inv_account").input(first)
    button(at, "Показать").click().run()
    assert set(at.dataframe[0].value["Лицевой счёт"]) == {first}
    at.text_input(key="inv_account").input("нет-такого")
    button(at, "Показать").click().run()
    assert "Счетов по этим условиям нет" in texts(at) or at.error


def test_admin_sees_providers_and_loads_a_register(dash_app, logged_in):
    at, _ = logged_in(StaffRole.ADMIN)
    at.switch_page("views/accounts.py").run()
    assert "Поставщиков пока нет" in texts(at)
    vodokanal(dash_app)
    at.run()
    providers_table = at.dataframe[0].value
    assert providers_table["Поставщик"].tolist() == ["ГУП «Водоканал»"]
    path = SAMPLES / "accounts_vodokanal.csv"
    at.file_uploader(key="acc_file").set_value((path.name, path.read_bytes(), "text/csv"))
    button(at, "Загрузить").click().run()
    assert "Реестр загружен" in texts(at) or "уже был загружен" in texts(at)


def test_card_shows_accounts_invoices_and_lets_the_agent_change_subscriptions(dash_app,
                                                                             logged_in):
    from core.billing import invoices

    _, accounts = vodokanal(dash_app)
    login = register_and_activate(dash_app, phone="+79215550011")
    bind(dash_app, login.customer_id, next(iter(accounts.values())), name="Квартира на Ленина")
    invoices.import_billing_registry(dash_app, None, 1, VODOKANAL_FILE.name,
                                     VODOKANAL_FILE.read_bytes())
    at, agent = logged_in(StaffRole.AGENT)
    search(at, "+7 921 555-00-11")
    open_first_card(at)
    open_card_tab(at, "Лицевые счета")
    frames = [d.value for d in at.dataframe]
    assert any("Название" in f.columns and "Квартира на Ленина" in f["Название"].tolist()
               for f in frames)
    open_card_tab(at, "Счета")
    assert any("Период" in f.columns and len(f) >= 1 for f in (d.value for d in at.dataframe))

    open_card_tab(at, "Подписки")
    sms_key = f"card_sub_{login.customer_id}_new_invoice_sms"
    at.checkbox(key=sms_key).uncheck()
    button(at, "Сохранить подписки").click().run()
    assert "Причина изменения: обязательное поле" in texts(at)  # nothing saved without it
    at.checkbox(key=sms_key).uncheck()
    at.text_input(key="card_subs_reason").input("Клиент просит не присылать SMS о счетах")
    button(at, "Сохранить подписки").click().run()
    assert "Подписки изменены: 1" in texts(at)
    with dash_app.uow(write=False) as uow:
        row = uow.session.scalar(select(Subscription).where(
            Subscription.customer_id == login.customer_id, Subscription.topic == "new_invoice",
            Subscription.channel == "sms"))
    assert row.enabled is False


def test_outbox_and_templates_tab(dash_app, logged_in, ):
    login = register_and_activate(dash_app, phone="+79215550022")
    with dash_app.uow() as uow:
        message = outbox.enqueue(uow.session, now=dash_app.now(),
                                 customer_id=login.customer_id,
                                        channel=outbox.Channel.EMAIL, topic="news",
                                        recipient="x@example.ru", body="Новости")
        uow.session.flush()
        message.status = MessageStatus.FAILED
        message.last_error = "smtp down"
        uow.commit()
        failed_id = message.id
    at, _ = logged_in(StaffRole.ADMIN)
    at.switch_page("views/subscriptions.py").run()
    assert not at.exception
    assert [t.label for t in at.tabs] == ["Подписки", "Исходящие сообщения", "Шаблоны"]
    assert not [b for b in at.button if b.key == "out_retry"]  # only the open tab is drawn
    at.session_state["subs_tab"] = "Исходящие сообщения"
    at.run()
    at.selectbox(key="out_channel").select(outbox.Channel.EMAIL)
    button(at, "Показать").click().run()
    outbox_table = at.dataframe[0].value
    assert failed_id in outbox_table["№"].tolist()
    at.button(key="out_retry").click().run()
    confirm(at)
    assert "Сообщение поставлено в очередь" in texts(at)
    with dash_app.uow(write=False) as uow:
        assert uow.session.get(OutboxMessage, failed_id).status is MessageStatus.QUEUED
    at.session_state["subs_tab"] = "Шаблоны"
    at.run()
    assert not at.dataframe  # the outbox's table is not drawn behind the templates
    at.session_state["subs_tab"] = "Исходящие сообщения"
    at.run()
    assert at.selectbox(key="out_channel").value is outbox.Channel.EMAIL  # its filter kept
    at.session_state["subs_tab"] = "Шаблоны"
    at.run()
    at.text_area(key=[t.key for t in at.text_area][0]).input("Счёт {sum}")
    button(at, "Предпросмотр").click().run()
    assert "неизвестная подстановка" in texts(at)


def test_manager_sees_only_the_subscription_chart(logged_in):
    at, _ = logged_in(StaffRole.MANAGER)
    at.switch_page("views/subscriptions.py").run()
    assert not at.exception
    assert len(at.tabs) == 1


def test_accounts_page_shows_a_customers_bound_accounts_by_phone(dash_app, logged_in):
    _, accounts = vodokanal(dash_app)
    login = register_and_activate(dash_app, phone="+79215550033")
    bind(dash_app, login.customer_id, next(iter(accounts.values())), name="Дача")
    at, _ = logged_in(StaffRole.FINANCE)
    at.switch_page("views/accounts.py").run()
    at.text_input(key="acc_customer_phone").input("8 921 555-00-33")
    button(at, "Показать счета").click().run()
    assert at.dataframe[-1].value["Название"].tolist() == ["Дача"]
    at.text_input(key="acc_customer_phone").input("921")
    button(at, "Показать счета").click().run()
    assert "Введите полный номер телефона одного клиента" in texts(at)


def test_admin_adds_a_provider_and_a_bad_inn_is_explained(dash_app, logged_in):
    at, _ = logged_in(StaffRole.ADMIN)
    at.switch_page("views/accounts.py").run()
    form_inputs = {t.label: t for t in at.text_input}
    form_inputs["Название"].input("МУП «Водоканал Пушкина»")
    form_inputs["ИНН"].input("7707083894")  # wrong check digit
    form_inputs["Телефон поставщика"].input("8 812 300-00-00")
    button(at, "Добавить поставщика").click().run()
    assert "ИНН:" in texts(at)
    assert "Поставщиков пока нет" in texts(at)
    {t.label: t for t in at.text_input}["ИНН"].input("7707083893")
    button(at, "Добавить поставщика").click().run()
    assert "Поставщик «МУП «Водоканал Пушкина»» добавлен" in texts(at)
    assert at.dataframe[0].value["Поставщик"].tolist() == ["МУП «Водоканал Пушкина»"]
