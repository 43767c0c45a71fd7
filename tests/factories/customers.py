"""Helpers that build customers and staff through the real services."""
from __future__ import annotations

import itertools
import re

from core.actors import StaffActor, StaffRole
from core.app import App
from core.customers import cabinet
from core.notifications import outbox
from core.staff import members

_seq = itertools.count(1)
CODE_WORD = "Ромашка"
PASSWORD = "Zx9kq3vb"
STAFF_PASSWORD = "Staff-pass-2026"


def registration(**overrides: object) -> cabinet.Registration:
    n = next(_seq)
    data: dict[str, object] = dict(
        phone=f"+7 (9{n % 100:02d}) {n % 1000:03d}-{(n // 10) % 100:02d}-{n % 100:02d}",
        email=f"user{n}@example.ru", password=PASSWORD, code_word=CODE_WORD,
        agreement_accepted=True, captcha_token=f"static-{n}", captcha_answer="ok")
    data.update(overrides)
    return cabinet.Registration(**data)  # type: ignore[arg-type]


def sms_codes(app: App) -> list[str]:
    """Drain the outbox and read the codes from the SMS sink (the 'phone')."""
    outbox.send_pending(app)
    log = app.settings.notify_log_dir / "sms.log"
    if not log.exists():
        return []
    return re.findall(r"Код активации личного кабинета: (\d{4})", log.read_text("utf-8"))


def register(app: App, **overrides: object) -> int:
    return cabinet.register(app, registration(**overrides))


def register_and_activate(app: App, **overrides: object) -> cabinet.CustomerLogin:
    customer_id = register(app, **overrides)
    code = sms_codes(app)[-1]
    return cabinet.activate(app, customer_id, code)


def make_staff(app: App, role: StaffRole = StaffRole.AGENT, login: str | None = None) -> StaffActor:
    name = login or f"{role.value}{next(_seq)}"
    staff_id = members.add_staff(app, None, login=name, name=f"Сотрудник {name}",
                                 email=f"{name}@office.example.ru", role=role,
                                 password=STAFF_PASSWORD)
    return StaffActor(staff_id, name, role)


def cabinet_view_token(app: App, actor: StaffActor, customer_id: int) -> str:
    """«Смотреть как клиент» opened and its link redeemed, as the cabinet does: the token."""
    from core.customers import cabinet_view

    link = cabinet_view.open_cabinet_view(app, actor, customer_id)
    return cabinet_view.enter_cabinet_view(app, link.ticket).session_token
