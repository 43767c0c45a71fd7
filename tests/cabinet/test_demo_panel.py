"""The demo's panel «Демо: SMS и письма»: with the demo's data the registering or logged-in
person reads the SMS and e-mails sent to them (from the log-file sinks), so a visitor finishes
registration without a phone; without demo data the panel does not exist."""
from __future__ import annotations

import re

from core.actors import StaffRole
from core.demo.guard import DEMO_STAFF
from core.notifications import outbox
from core.staff import members
from tests.cabinet.conftest import cabinet, log_in
from tests.cabinet.test_registration import EMAIL, PHONE, _fill
from tests.dashboard.helpers import button, texts
from tests.factories import customers

PANEL = "Демо: SMS и письма"


def _demo_data(app) -> None:  # type: ignore[no-untyped-def]
    """What `make run` seeds: the demo's staff logins with the README's passwords."""
    login, name, role, password = DEMO_STAFF[0]
    members.add_staff(app, None, login=login, name=name, email=f"{login}@demo.example.ru",
                      role=StaffRole(role), password=password)


def _shown_texts(at) -> str:  # type: ignore[no-untyped-def]
    return texts(at) + "\n" + "\n".join(str(t.value) for t in at.text)


def test_in_demo_mode_the_registering_person_reads_the_code_and_finishes(cab_app):
    _demo_data(cab_app)
    at = _fill(cabinet().switch_page("views/register.py").run())
    assert PANEL in texts(at)
    outbox.send_pending(cab_app)  # the worker beside the demo, every 5 s
    at = button(at, "Обновить").click().run()
    found = re.search(r"Код активации личного кабинета: (\d{4})", _shown_texts(at))
    assert found, _shown_texts(at)
    at.text_input(key="cab_reg_code").input(found[1])
    at = button(at, "Активировать").click().run()
    assert "Счета к оплате" in texts(at)
    assert PANEL in texts(at)  # the logged-in person's messages too
    assert found[1] in _shown_texts(at)


def test_the_panel_shows_only_this_persons_messages(cab_app, customer):
    _demo_data(cab_app)
    other_phone, _ = customer()  # someone else's activation SMS is in the same file
    customers.register(cab_app, phone=PHONE, email=EMAIL)
    outbox.send_pending(cab_app)
    at = log_in(cabinet(), other_phone)
    shown = _shown_texts(at)
    own = re.findall(r"Код активации личного кабинета: \d{4}", shown)
    assert len(own) == 1  # the other person's code, not the newcomer's
    assert "+79215550102" not in shown and EMAIL not in shown


def test_without_demo_data_there_is_no_panel(cab_app, customer):
    at = _fill(cabinet().switch_page("views/register.py").run())
    outbox.send_pending(cab_app)
    at.run()
    assert "отправлено SMS с кодом активации" in texts(at)
    assert PANEL not in texts(at)
    assert not re.search(r"Код активации личного кабинета: \d{4}", _shown_texts(at))
    phone, _ = customer()
    at = log_in(cabinet(), phone)
    assert "Счета к оплате" in texts(at) and PANEL not in texts(at)
