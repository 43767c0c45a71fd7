"""core.demo.inbox: the demo's «phone» and mailbox read back from the log-file sinks, per
person, and nothing outside demo mode (no demo login works, or SMS not in the log file)."""
from __future__ import annotations

from datetime import datetime, timezone

from core.actors import StaffRole
from core.demo import inbox
from core.demo.guard import DEMO_STAFF
from core.notifications.channels import Channel
from core.notifications.senders import (LogFileSender, OutgoingMessage, RecordingSender,
                                        read_log_file)
from core.staff import members


def _demo_login(app) -> None:  # type: ignore[no-untyped-def]
    login, name, role, password = DEMO_STAFF[3]
    members.add_staff(app, None, login=login, name=name, email="a@demo.example.ru",
                      role=StaffRole(role), password=password)


def _sms(app, n: int, to: str, body: str) -> None:  # type: ignore[no-untyped-def]
    app.senders[Channel.SMS].send(OutgoingMessage(n, "sms", to, None, body,
                                                  datetime(2026, 11, 1, tzinfo=timezone.utc)))


def test_the_log_reads_back_one_message_per_entry_with_multiline_bodies(tmp_path):
    sender = LogFileSender(tmp_path / "email.log", lambda: datetime(2026, 11, 2, 10, 0))
    sender.send(OutgoingMessage(7, "email", "a@b.ru", "Результат платежа",
                                "Платёж выполнен.\nСумма: 100,00 ₽\n\nСпасибо"))
    sender.send(OutgoingMessage(8, "email", "c@d.ru", None, "Одна строка"))
    got = read_log_file(tmp_path / "email.log")
    assert [(m.message_id, m.recipient, m.subject) for m in got] == [
        (7, "a@b.ru", "Результат платежа"), (8, "c@d.ru", None)]
    assert got[0].body == "Платёж выполнен.\nСумма: 100,00 ₽\n\nСпасибо"
    assert read_log_file(tmp_path / "missing.log") == []


def test_in_demo_mode_a_person_gets_their_own_sms_newest_first(app, clock):
    _demo_login(app)
    _sms(app, 1, "+79211112233", "Код активации личного кабинета: 1111")
    clock.advance(minutes=1)
    _sms(app, 2, "+79214445566", "Код активации личного кабинета: 2222")
    clock.advance(minutes=1)
    _sms(app, 3, "+79211112233", "Одноразовый пароль: 3333")
    assert inbox.demo_mode(app)
    got = inbox.messages_to(app, phone="+7 (921) 111-22-33")
    assert [m.body for m in got] == ["Одноразовый пароль: 3333",
                                     "Код активации личного кабинета: 1111"]
    assert all(m.channel is Channel.SMS for m in got)
    assert inbox.messages_to(app, phone="не телефон") == []


def test_outside_demo_mode_nothing_is_read(app):
    _sms(app, 1, "+79211112233", "Код активации личного кабинета: 1111")
    assert not inbox.demo_mode(app)  # no demo login
    assert inbox.messages_to(app, phone="+79211112233") == []
    _demo_login(app)
    assert inbox.demo_mode(app)
    app.senders[Channel.SMS] = RecordingSender()  # a real SMS gateway: the codes are not ours
    assert not inbox.demo_mode(app)
    assert inbox.messages_to(app, phone="+79211112233") == []
