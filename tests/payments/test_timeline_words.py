"""A payment's timeline and its journal rows read in words: rubles, names, the bank's
answers in Russian (core.payments.timeline_words, core.staff.journal_words), on both
databases through the real flows."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core.actors import StaffRole
from core.payments import bank_answers, gateway as g, recovery, refunds
from core.payments.read_models import payment_detail
from core.payments.timeline_words import DETAIL_LABELS, describe_event
from core.staff import audit
from core.paging import PageRequest
from tests.factories.customers import make_staff
from tests.factories.payment_flow import (TIMEOUT_CHARGED_CARD, TIMEOUT_NOT_CHARGED_CARD,
                                          pay_invoice, payer)

ROOT = Path(__file__).resolve().parents[2]


def _journal(app, action):
    page = audit.query_entries(app, audit.AuditFilter(action=action), PageRequest(1, 10))
    return page.items


def test_a_refund_reads_with_its_number_rubles_and_the_staff_members_name(app) -> None:
    finance = make_staff(app, StaffRole.FINANCE)
    view = pay_invoice(app, payer(app))
    result = refunds.refund(app, finance, view.id, "500,00", "Двойная оплата")
    event = payment_detail(app, finance, view.id).events[-1]
    assert event.sentence == (f"Возврат № {result.refund_id} на 500,00\u00a0₽, "
                              "причина: «Двойная оплата»")
    assert event.actor == f"Сотрудник {finance.login}"  # the name, not the login
    assert event.details["amount"] == 50_000  # the raw record is kept as it was
    row = _journal(app, "payment.refund")[0]
    assert row.details.startswith(
        f"Возврат № {result.refund_id} на 500,00\u00a0₽ по платежу № {view.id} выполнен")
    assert "50000" not in row.details and row.actor == f"Сотрудник {finance.login}"


def test_a_declined_status_reads_as_the_banks_meaning(app, clock) -> None:
    view = pay_invoice(app, payer(app), TIMEOUT_NOT_CHARGED_CARD)
    clock.advance(minutes=5)
    recovery.recover_due(app)
    finance = make_staff(app, StaffRole.FINANCE)
    last = payment_detail(app, finance, view.id).events[-1]
    assert last.sentence == "Ответ банка: банк не ответил вовремя, деньги не списаны"
    assert "timed_out" not in last.sentence and last.details["code"] == "timed_out"


def test_asking_the_bank_reads_the_statuses_in_russian(app) -> None:
    finance = make_staff(app, StaffRole.FINANCE)
    view = pay_invoice(app, payer(app), TIMEOUT_CHARGED_CARD)
    recovery.ask_gateway(app, finance, view.id)
    row = _journal(app, "payment.ask_gateway")[0]
    assert row.details == (f"Запрос в банк по платежу № {view.id}: статус "
                           "Результат уточняется → Оплачен")
    assert row.after["status"] == "succeeded"


@pytest.mark.parametrize("details, expected", [
    ({"code": "not_found", "reason": "Банк подтвердил: деньги не списаны"},
     "Ответ банка: банк не получал эту операцию (Банк подтвердил: деньги не списаны)"),
    ({"step": "confirm", "found_by": "recovery"},
     "Ответ банка не получен на шаге «подтверждение кодом», выяснено при проверке "
     "зависших платежей"),
    ({"card": "411111******1111", "saved_card": True}, "Карта 411111******1111 (сохранённая)"),
    ({"rrn": "123456789012", "auth_code": "654321"},
     "RRN 123456789012, код авторизации 654321"),
    ({"refund_id": 571, "amount": 50_000}, "Возврат № 571 на 500,00\u00a0₽"),
    (None, ""),
])
def test_timeline_details_in_words(details, expected) -> None:
    assert describe_event(details) == expected


def _detail_keys_written() -> set[str]:
    """Every key a payment event's details carry, read from the code that writes them."""
    keys = {"code", "reason", "rrn", "auth_code"}  # state.succeed / state.fail
    for path in (ROOT / "core" / "payments").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or getattr(node.func, "attr", "") not in (
                    "apply", "succeed", "fail", "record_creation"):
                continue
            for kw in node.keywords:
                if kw.arg == "details" and isinstance(kw.value, ast.Dict):
                    keys |= {k.value for k in kw.value.keys if isinstance(k, ast.Constant)}
    return keys


def test_every_timeline_detail_key_has_words():
    keys = _detail_keys_written()
    assert {"refund_id", "amount", "step", "card"} <= keys
    assert sorted(keys - set(DETAIL_LABELS)) == []
    for key in keys:
        text = describe_event({key: 123456 if key == "amount" else "x"})
        assert not re.search(rf"\b{key}\b", text, re.ASCII), text
        assert "123456" not in text


def _codes_in_payments() -> set[str]:
    """The bank's codes: the gateway's constants and TxnStatus values, and every code our
    own payment code writes in their place."""
    codes = {v for k, v in vars(g).items() if k.isupper() and isinstance(v, str)
             and re.fullmatch(r"[a-z_]+", v)}
    codes |= {s.value for s in g.TxnStatus}
    for path in (ROOT / "core" / "payments").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        codes |= set(re.findall(r"""\bcode=["']([a-z_]+)["']""", text))
        codes |= set(re.findall(r"""(?:decline_code|code) or ["']([a-z_]+)["']""", text))
        codes |= set(re.findall(r"""decline_code = [^\n]*["']([a-z_]+)["']""", text))
    return codes


def test_every_bank_code_has_a_russian_meaning():
    codes = _codes_in_payments()
    assert {"not_found", "insufficient_funds", "authorization_lost", "otp_expired",
            "gateway_unavailable", "not_reversed"} <= codes
    assert sorted(codes - set(bank_answers.BANK_ANSWERS)) == []
    assert bank_answers.bank_answer("nonsense") == "ответ банка «nonsense»"
