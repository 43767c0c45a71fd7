"""Two registrations racing for the same phone or e-mail."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Customer, OutboxMessage
from core.customers.errors import CaptchaAlreadyUsed, EmailTaken, PhoneTaken
from core.customers import cabinet
from tests.factories.customers import registration
from tests.factories.dbstate import count


def _run_threads(app, forms):
    """Run one registration per thread, all released at once; return each outcome."""
    barrier = threading.Barrier(len(forms))
    outcomes: list[object] = [None] * len(forms)

    def run(i, form, app):
        barrier.wait(timeout=10)
        try:
            outcomes[i] = cabinet.register(app, form)
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcomes[i] = error

    threads = [threading.Thread(target=run, args=(i, f, app)) for i, f in enumerate(forms)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def _split(outcomes):
    ids = [o for o in outcomes if isinstance(o, int)]
    errors = [o for o in outcomes if isinstance(o, Exception)]
    return ids, errors


@pytest.mark.parametrize("round_", range(3))
def test_same_phone_registered_twice_at_once_creates_one_customer(app, round_):
    phone = f"+7 912 400-00-0{round_}"
    forms = [registration(phone=phone, email=f"racer{round_}a@example.ru"),
             registration(phone=f"8 912 400 00 0{round_}", email=f"racer{round_}b@example.ru")]
    ids, errors = _split(_run_threads(app, forms))
    assert len(ids) == 1, errors
    assert len(errors) == 1 and isinstance(errors[0], (PhoneTaken, EmailTaken)), errors
    with app.uow(write=False) as uow:
        phones = uow.session.scalars(select(Customer.phone)).all()
    assert phones == [f"+7912400000{round_}"]
    assert count(app, OutboxMessage) == 1 and count(app, AuditEntry) == 1


def test_same_email_registered_twice_at_once_answers_email_taken(app):
    forms = [registration(phone="+7 912 600-00-01", email="twin@example.ru"),
             registration(phone="+7 912 600-00-02", email="Twin@Example.ru")]
    ids, errors = _split(_run_threads(app, forms))
    assert len(ids) == 1 and [type(e) for e in errors] == [EmailTaken]
    assert count(app, Customer) == 1 and count(app, OutboxMessage) == 1


@pytest.fixture
def both_pass_the_uniqueness_check(app, monkeypatch):
    """Make the race certain: neither insert happens until both checks found nothing.
    Only possible on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises the writers."""
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises write transactions: the checks cannot interleave")
    barrier = threading.Barrier(2)
    original = cabinet._ensure_unique

    def checked_then_wait(session, phone, email):
        original(session, phone, email)
        barrier.wait(timeout=10)

    monkeypatch.setattr(cabinet, "_ensure_unique", checked_then_wait)


def test_interleaved_registrations_of_one_phone_answer_phone_taken(
        app, both_pass_the_uniqueness_check):
    forms = [registration(phone="+7 912 500-00-01"), registration(phone="89125000001")]
    ids, errors = _split(_run_threads(app, forms))
    assert len(ids) == 1 and [type(e) for e in errors] == [PhoneTaken]
    assert count(app, Customer) == 1 and count(app, OutboxMessage) == 1


def test_interleaved_registrations_of_one_email_answer_email_taken(
        app, both_pass_the_uniqueness_check):
    forms = [registration(email="same@example.ru"), registration(email="SAME@example.ru")]
    ids, errors = _split(_run_threads(app, forms))
    assert len(ids) == 1 and count(app, Customer) == 1
    assert [type(e) for e in errors] == [EmailTaken]


def test_one_solved_captcha_sent_twice_at_once_registers_one_cabinet(app):
    forms = [registration(captcha_token="twice"), registration(captcha_token="twice")]
    ids, errors = _split(_run_threads(app, forms))
    assert len(ids) == 1 and [type(e) for e in errors] == [CaptchaAlreadyUsed], errors
    assert count(app, Customer) == 1 and count(app, OutboxMessage) == 1


def test_interleaved_registrations_with_one_captcha_register_one_cabinet(app, monkeypatch):
    """Both find the captcha unspent before either records it: the unique key decides."""
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises write transactions: the checks cannot interleave")
    barrier = threading.Barrier(2)
    original = cabinet._captcha_spent

    def checked_then_wait(session, key):
        spent = original(session, key)
        barrier.wait(timeout=10)
        return spent

    monkeypatch.setattr(cabinet, "_captcha_spent", checked_then_wait)
    forms = [registration(captcha_token="race"), registration(captcha_token="race")]
    ids, errors = _split(_run_threads(app, forms))
    assert len(ids) == 1 and [type(e) for e in errors] == [CaptchaAlreadyUsed], errors
    assert count(app, Customer) == 1 and count(app, OutboxMessage) == 1
