"""New-invoice messages per subscriptions, and the outbox as staff see it."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import delete, event, select

from core.db.models import AuditEntry, Customer, OutboxMessage, Subscription
from core.notifications.channels import Channel, MessageStatus
from core.actors import PermissionDenied, StaffRole
from core.errors import NotFound, ValidationError
from core.money import Money
from core.paging import PageRequest
from core.customers import contact_center, cabinet
from core.notifications import outbox, subscriptions, templates
from core.notifications.outbox import (MAX_SEND_ATTEMPTS, OutboxFilter, RetryRefused,
                                       queue_new_invoice_messages)
from tests.factories.customers import make_staff, register, register_and_activate
from tests.factories.notifications import (bind, make_account, make_invoice, make_provider,
                                           queued_messages)
from tests.factories.dbstate import snapshot

AMOUNT = "1\u00a0234,56\u00a0₽"  # 123456 kopecks as Money formats it


def _queue(app, invoice_ids):
    with app.uow() as uow:
        queued = queue_new_invoice_messages(uow.session, invoice_ids, app.now())
        uow.commit()
        return queued


def _contacts(app, customer_id):
    with app.uow(write=False) as uow:
        c = uow.session.get(Customer, customer_id)
        return c.phone, c.email


@pytest.fixture
def account(app):
    provider_id = make_provider(app, "АО «Мосводоканал»")
    return make_account(app, provider_id, "7712345678")


# --- queue_new_invoice_messages ---------------------------------------------------------

def test_two_cabinets_on_one_account_get_messages_per_their_channels(app, account, clock):
    first = register_and_activate(app)
    second = register_and_activate(app)
    subscriptions.set_subscription(app, second.session_token, "new_invoice", "sms", False)
    bind(app, first.customer_id, account, "Квартира на Ленина")
    bind(app, second.customer_id, account, "Мамина квартира")
    invoice = make_invoice(app, account, total_due=123456, due_date=date(2026, 12, 25))
    clock.advance(minutes=3)

    assert _queue(app, [invoice]) == 3
    messages = queued_messages(app)
    phone1, email1 = _contacts(app, first.customer_id)
    _, email2 = _contacts(app, second.customer_id)
    assert sorted((m.customer_id, m.channel, m.recipient) for m in messages) == sorted([
        (first.customer_id, Channel.EMAIL, email1), (first.customer_id, Channel.SMS, phone1),
        (second.customer_id, Channel.EMAIL, email2)])
    assert all((m.status, m.attempts, m.created_at, m.next_attempt_at)
               == (MessageStatus.QUEUED, 0, clock.now(), clock.now()) for m in messages)
    sms = next(m for m in messages if m.channel is Channel.SMS)
    assert sms.subject is None
    assert sms.body == (f"Счёт за ноябрь 2026, АО «Мосводоканал», л/с 7712345678: {AMOUNT}, "
                        "оплатить до 25.12.2026.")
    email = next(m for m in messages if m.customer_id == second.customer_id)
    assert email.subject == "Новый счёт: АО «Мосводоканал» за ноябрь 2026"
    assert "по лицевому счёту 7712345678 (Мамина квартира)" in email.body
    assert f"Сумма к оплате: {AMOUNT}" in email.body and "Оплатить до: 25.12.2026" in email.body


def _blocked_cabinet(app, account):
    login = register_and_activate(app)
    bind(app, login.customer_id, account)
    cabinet.block_own_cabinet(app, login.session_token, "Уезжаю надолго")


def _blocked_by_staff(app, account):
    login = register_and_activate(app)
    bind(app, login.customer_id, account)
    contact_center.block(app, make_staff(app), login.customer_id, "Подозрение на мошенничество")


def _unsubscribed_cabinet(app, account):
    login = register_and_activate(app)
    bind(app, login.customer_id, account)
    subscriptions.set_subscription(app, login.session_token, "new_invoice", "email", False)
    subscriptions.set_subscription(app, login.session_token, "new_invoice", "sms", False)


def _not_activated_cabinet(app, account):
    bind(app, register(app), account)


def _unbound_cabinet(app, account):
    login = register_and_activate(app)
    bind(app, login.customer_id, account, removed=True)


def _other_account_only(app, account):
    login = register_and_activate(app)
    bind(app, login.customer_id, make_account(app, make_provider(app)))


@pytest.mark.parametrize("make_cabinet", [
    pytest.param(_blocked_cabinet, id="blocked-by-customer"),
    pytest.param(_blocked_by_staff, id="blocked-by-staff"),
    pytest.param(_unsubscribed_cabinet, id="unsubscribed"),
    pytest.param(_not_activated_cabinet, id="not-activated"),
    pytest.param(_unbound_cabinet, id="unbound"),
    pytest.param(_other_account_only, id="other-account"),
])
def test_cabinets_that_must_not_hear_of_the_invoice_get_nothing(app, account, make_cabinet):
    make_cabinet(app, account)
    invoice = make_invoice(app, account)
    before = snapshot(app)
    assert _queue(app, [invoice]) == 0
    assert snapshot(app) == before


def test_only_the_active_subscribed_cabinet_among_others_gets_messages(app, account):
    for make_cabinet in (_blocked_cabinet, _unsubscribed_cabinet, _not_activated_cabinet,
                         _unbound_cabinet):
        make_cabinet(app, account)
    good = register_and_activate(app)
    bind(app, good.customer_id, account)
    assert _queue(app, [make_invoice(app, account)]) == 2
    assert {m.customer_id for m in queued_messages(app)} == {good.customer_id}


def test_unblocked_or_rebound_cabinet_hears_of_later_invoices(app, account):
    login = register_and_activate(app)
    bind(app, login.customer_id, account, removed=True)
    bind(app, login.customer_id, account)  # bound again: the active binding counts
    assert _queue(app, [make_invoice(app, account)]) == 2


def test_cabinet_without_subscription_rows_gets_the_defaults(app, account):
    """Cabinets made in bulk (the demo loader) have no rows: e-mail and SMS by default."""
    login = register_and_activate(app)
    with app.uow() as uow:
        uow.session.execute(delete(Subscription))
        uow.commit()
    bind(app, login.customer_id, account)
    assert _queue(app, [make_invoice(app, account)]) == 2
    assert {m.channel for m in queued_messages(app)} == {Channel.EMAIL, Channel.SMS}


def test_explicit_email_only_choice_is_respected(app, account):
    login = register_and_activate(app)
    subscriptions.set_subscription(app, login.session_token, "new_invoice", "sms", False)
    bind(app, login.customer_id, account)
    assert _queue(app, [make_invoice(app, account)]) == 1
    assert [m.channel for m in queued_messages(app)] == [Channel.EMAIL]


def test_many_invoices_in_chunks_each_announced_once(app, monkeypatch):
    monkeypatch.setattr(outbox, "QUEUE_CHUNK", 2)
    login = register_and_activate(app)
    subscriptions.set_subscription(app, login.session_token, "new_invoice", "email", False)
    provider = make_provider(app)
    accounts = [make_account(app, provider) for _ in range(5)]
    for account_id in accounts:
        bind(app, login.customer_id, account_id, f"Счёт {account_id}")
    invoices = [make_invoice(app, a, total_due=10_000 * (i + 1)) for i, a in enumerate(accounts)]
    assert _queue(app, invoices + invoices[:2]) == 5  # duplicates in the list count once
    bodies = [m.body for m in queued_messages(app)]
    assert [b.split(": ")[1].split(",")[0] for b in bodies] == [
        Money(10_000 * (i + 1)).format().split(",")[0] for i in range(5)]
    assert _queue(app, []) == 0


def test_queries_do_not_grow_with_the_number_of_invoices(app):
    """Set-based: the same statements for 3 invoices as for 60 (one chunk)."""
    provider = make_provider(app)
    logins = [register_and_activate(app) for _ in range(2)]

    def statements_for(n):
        accounts = [make_account(app, provider) for _ in range(n)]
        for a in accounts:
            for login in logins:
                bind(app, login.customer_id, a)
        invoices = [make_invoice(app, a) for a in accounts]
        seen = []
        listener = lambda *args: seen.append(args[2])
        event.listen(app.engine, "before_cursor_execute", listener)
        try:
            assert _queue(app, invoices) == 4 * n
        finally:
            event.remove(app.engine, "before_cursor_execute", listener)
        return len(seen)

    assert statements_for(60) == statements_for(3) <= 6


def test_queued_invoice_messages_use_the_admins_template_and_reach_the_sender(
        app, account, email_sender):
    admin = make_staff(app, StaffRole.ADMIN)
    templates.save_template(app, admin, "new_invoice", "email", "Счёт «{account_name}»",
                            "К оплате {amount} до {due_date}, {provider}.")
    login = register_and_activate(app)
    bind(app, login.customer_id, account, "Дача")
    _queue(app, [make_invoice(app, account)])
    outbox.send_pending(app)
    [sent] = email_sender.sent
    assert (sent.subject, sent.body) == (
        "Счёт «Дача»", f"К оплате {AMOUNT} до 25.12.2026, АО «Мосводоканал».")
    assert "оплатить до 25.12.2026" in (app.settings.notify_log_dir / "sms.log").read_text("utf-8")


# --- the staff outbox ----------------------------------------------------------

def _email(app, customer_id=None, recipient="ivan@example.ru", topic="news"):
    with app.uow() as uow:
        message = outbox.enqueue(
            uow.session, now=app.now(), customer_id=customer_id, channel=Channel.EMAIL,
            topic=topic, recipient=recipient, subject="Новости", body="Текст новости")
        uow.commit()
        return message.id


def _fail_for_good(app, clock, email_sender):
    """Drive every queued e-mail through MAX_SEND_ATTEMPTS failures."""
    email_sender.fail_with = "SMTP-сервер недоступен"
    for _ in range(MAX_SEND_ATTEMPTS):
        outbox.send_pending(app)
        clock.advance(hours=2)
    email_sender.fail_with = None


def _status(app, message_id):
    with app.uow(write=False) as uow:
        m = uow.session.get(OutboxMessage, message_id)
        return m.status, m.attempts, m.next_attempt_at, m.last_error


def test_outbox_lists_newest_first_with_redacted_bodies(app, clock):
    agent = make_staff(app, StaffRole.AGENT)
    customer_id = register(app)  # queues the activation SMS
    clock.advance(minutes=1)
    email_id = _email(app, customer_id)
    page = outbox.list_outbox(app, agent, OutboxFilter(), PageRequest())
    assert [r.id for r in page.items] == [email_id, email_id - 1] and page.total == 2
    activation = page.items[1]
    assert (activation.topic, activation.topic_label, activation.channel,
            activation.status, activation.status_label) == (
        "activation", "Код активации", Channel.SMS, MessageStatus.QUEUED, "В очереди")
    assert "****" in activation.body and not any(ch.isdigit() for ch in activation.body)
    assert activation.customer_phone.startswith("+7 9")
    assert page.items[0].topic_label == "Новости сервиса"


def test_outbox_filters(app, clock, email_sender):
    finance = make_staff(app, StaffRole.FINANCE)
    first = register(app)
    clock.advance(days=2)
    second = register(app)
    failed = _email(app, second, recipient="petr@example.ru")
    _fail_for_good(app, clock, email_sender)  # also sends both activation SMS; 10 h pass
    clock.advance(hours=3)  # 22:00 UTC on the 27th: the 28th in Moscow
    late = _email(app, second, topic="new_invoice")
    phone, _ = _contacts(app, first)

    def ids(**kw):
        return [r.id for r in outbox.list_outbox(
            app, finance, OutboxFilter(**kw), PageRequest()).items]

    assert ids(status=MessageStatus.FAILED) == [failed]
    assert ids(channel=Channel.EMAIL) == [late, failed]
    assert ids(topic="new_invoice") == [late]
    assert len(ids(topic="activation", status=MessageStatus.SENT)) == 2
    assert len(ids(customer_phone=phone[1:])) == 1  # «7 9..» without the plus
    assert ids(customer_id=second, channel=Channel.EMAIL) == [late, failed]
    assert len(ids(date_to=date(2026, 11, 25))) == 1  # the first registration, Moscow day
    assert ids(date_from=date(2026, 11, 27), channel=Channel.EMAIL) == [late, failed]
    assert ids(date_from=date(2026, 11, 28)) == [late]
    assert ids(topic="nothing") == []


@pytest.mark.parametrize(("flt", "field"), [
    (OutboxFilter(customer_phone="12345"), "phone"),
    (OutboxFilter(date_from=date(2026, 11, 26), date_to=date(2026, 11, 25)), "date_from"),
    (OutboxFilter(topic="x" * 31), "topic"),
])
def test_bad_outbox_filter_names_the_field(app, flt, field):
    agent = make_staff(app, StaffRole.AGENT)
    with pytest.raises(ValidationError) as error:
        outbox.list_outbox(app, agent, flt, PageRequest())
    assert error.value.field == field


def test_outbox_counts_per_status(app, clock, email_sender):
    admin = make_staff(app, StaffRole.ADMIN)
    register(app)
    register(app)
    _email(app)
    _fail_for_good(app, clock, email_sender)
    _email(app)
    email_sender.fail_with = "SMTP-сервер недоступен"
    retrying = _email(app)
    outbox.send_pending(app)
    assert _status(app, retrying)[0] is MessageStatus.QUEUED
    counts = outbox.outbox_counts(app, admin)
    assert (counts.queued, counts.retrying, counts.sent, counts.failed, counts.total) == (
        2, 2, 2, 1, 5)
    assert outbox.outbox_counts(
        app, admin, OutboxFilter(channel=Channel.SMS, status=MessageStatus.FAILED)) \
        == outbox.OutboxCounts(queued=0, retrying=0, sent=2, failed=0)


def test_retry_puts_a_failed_message_back_due_now_and_is_journaled(app, clock, email_sender):
    agent = make_staff(app, StaffRole.AGENT)
    message_id = _email(app)
    _fail_for_good(app, clock, email_sender)
    assert _status(app, message_id)[:2] == (MessageStatus.FAILED, MAX_SEND_ATTEMPTS)
    outbox.retry_message(app, agent, message_id)
    assert _status(app, message_id) == (MessageStatus.QUEUED, 0, clock.now(),
                                        "SMTP-сервер недоступен")
    with app.uow(write=False) as uow:
        entry = uow.session.scalars(select(AuditEntry)
                                    .where(AuditEntry.action == "outbox.retry")).one()
    assert (entry.staff_id, entry.before, entry.after) == (
        agent.staff_id,
        {"status": "failed", "attempts": MAX_SEND_ATTEMPTS, "last_error": "SMTP-сервер недоступен"},
        {"status": "queued", "attempts": 0, "message_id": message_id})
    assert outbox.send_pending(app).sent == 1
    assert _status(app, message_id)[:2] == (MessageStatus.SENT, 1)
    assert [m.message_id for m in email_sender.sent] == [message_id]


def test_retry_after_failing_again_backs_off_from_the_start(app, clock, email_sender):
    agent = make_staff(app, StaffRole.AGENT)
    message_id = _email(app)
    _fail_for_good(app, clock, email_sender)
    outbox.retry_message(app, agent, message_id)
    email_sender.fail_with = "SMTP-сервер недоступен"
    assert outbox.send_pending(app).retrying == 1
    assert _status(app, message_id)[:3] == (MessageStatus.QUEUED, 1,
                                            clock.now() + outbox.RETRY_BACKOFF[0])


def _sent(app, clock, email_sender):
    message_id = _email(app)
    outbox.send_pending(app)
    return message_id


def _queued(app, clock, email_sender):
    return _email(app)


def _activation_given_up(app, clock, email_sender):
    customer_id = register(app)
    contact_center.block(app, make_staff(app), customer_id, "Подозрение на мошенничество")
    outbox.send_pending(app)  # a blocked cabinet's SMS fails with its code redacted
    with app.uow(write=False) as uow:
        return uow.session.scalars(select(OutboxMessage.id)).one()


def _blocked_cabinet_message(app, clock, email_sender):
    login = register_and_activate(app)
    message_id = _email(app, login.customer_id)
    _fail_for_good(app, clock, email_sender)
    contact_center.block(app, make_staff(app), login.customer_id, "Клиент уехал")
    return message_id


@pytest.mark.parametrize(("make_message", "message"), [
    (_sent, "Повторная отправка: сообщение уже отправлено"),
    (_queued, "Повторная отправка: сообщение уже в очереди"),
    (_activation_given_up, "Повторная отправка: сообщение с одноразовым кодом не повторяется"),
    (_blocked_cabinet_message, "Повторная отправка: кабинет клиента заблокирован"),
])
def test_retry_is_refused_where_it_makes_no_sense(app, clock, email_sender, make_message,
                                                  message):
    agent = make_staff(app, StaffRole.AGENT)
    message_id = make_message(app, clock, email_sender)
    before = snapshot(app)
    with pytest.raises(RetryRefused) as error:
        outbox.retry_message(app, agent, message_id)
    assert str(error.value).startswith(message)
    assert snapshot(app) == before


def test_retry_of_an_unknown_message_is_not_found(app):
    with pytest.raises(NotFound):
        outbox.retry_message(app, make_staff(app, StaffRole.ADMIN), 424242)


@pytest.mark.parametrize(("role", "may_view", "may_retry"), [
    (StaffRole.AGENT, True, True), (StaffRole.ADMIN, True, True),
    (StaffRole.FINANCE, True, False), (StaffRole.MANAGER, False, False),
])
def test_outbox_roles(app, clock, email_sender, role, may_view, may_retry):
    actor = make_staff(app, role)
    message_id = _email(app)
    _fail_for_good(app, clock, email_sender)
    before = snapshot(app)
    for allowed, call in (
            (may_view, lambda: outbox.list_outbox(app, actor, OutboxFilter(),
                                                  PageRequest())),
            (may_view, lambda: outbox.outbox_counts(app, actor)),
            (may_retry, lambda: outbox.retry_message(app, actor, message_id))):
        if allowed:
            call()
        else:
            with pytest.raises(PermissionDenied):
                call()
    if not may_retry:
        assert snapshot(app) == before


def test_moscow_day_bounds_of_the_date_filter(app, clock):
    """21:30 UTC is already the next day in Moscow."""
    agent = make_staff(app, StaffRole.AGENT)
    clock.advance(hours=12, minutes=30)
    assert clock.now() == datetime(2026, 11, 25, 21, 30, tzinfo=timezone.utc)
    message_id = _email(app)
    assert [r.id for r in outbox.list_outbox(
        app, agent, OutboxFilter(date_from=date(2026, 11, 26), date_to=date(2026, 11, 26)),
        PageRequest()).items] == [message_id]
    assert outbox.list_outbox(app, agent, OutboxFilter(date_to=date(2026, 11, 25)),
                              PageRequest()).items == []
