"""The journal's rows in words: every action's detail, as the code writes it, reads without
raw keys or raw kopecks (core.staff.journal_words)."""
from __future__ import annotations

import ast
import re
from dataclasses import fields
from functools import cache
from pathlib import Path

import pytest

from core.staff import audit
from core.staff.journal_words import FIELD_LABELS, MONEY_KEYS, Names, describe

ROOT = Path(__file__).resolve().parents[2]
# Detail a call builds out of sight of its literal (a helper's dict, a spread of values).
SPREAD_KEYS = {
    "customer.profile_update": {"surname", "first_name", "patronymic", "birth_date", "address"},
    "template.change": {"subject", "body"},
    "template.reset": {"subject", "body"},
    "provider.add": {"name", "inn", "contact_phone", "service_kind", "account_pattern",
                     "account_hint", "invoicing_enabled", "commission_bp", "commission_min",
                     "ownership_proof"},
    "provider.update": {"name", "commission_bp", "commission_min", "service_kind"},
    "staff.login_failed": {"locked"},
    "reconciliation.run": {"overlaps"},
    **{f"bank_profile.{verb}": {"columns", "payment_words", "refund_words", "amount_unit",
                                "date_format", "encoding", "fee_rate_bp", "fee_min"}
       for verb in ("add", "update", "delete", "import")},
}


def _dict_keys(node: ast.AST | None, scope: ast.AST) -> set[str]:
    if isinstance(node, ast.Dict):
        return {k.value for k in node.keys if isinstance(k, ast.Constant)}
    if isinstance(node, ast.Name):  # ``before = {...}`` earlier in the same function
        found: set[str] = set()
        for n in ast.walk(scope):
            if isinstance(n, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == node.id for t in n.targets):
                value = n.value.body if isinstance(n.value, ast.IfExp) else n.value
                found |= _dict_keys(value, scope)
        return found
    return set()


@cache
def written_details() -> dict[str, set[str]]:
    """action -> every key a call of audit.record / journaled_export writes for it."""
    found: dict[str, set[str]] = {}
    for folder in ("core", "dashboard"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
            for call in ast.walk(tree):
                if not isinstance(call, ast.Call):
                    continue
                name = getattr(call.func, "attr", getattr(call.func, "id", ""))
                if name not in ("record", "journaled_export"):
                    continue
                kw = {k.arg: k.value for k in call.keywords}
                action = kw.get("action")
                actions = ([action.value] if isinstance(action, ast.Constant) else
                           [action.body.value, action.orelse.value]
                           if isinstance(action, ast.IfExp) else [])
                scope = next((f for f in functions if f.lineno <= call.lineno <= f.end_lineno),
                             tree)
                keys = set()
                for side in ("before", "after", "details"):
                    keys |= _dict_keys(kw.get(side), scope)
                if name == "journaled_export":
                    keys |= {"rows", "format"}
                for a in actions:
                    found.setdefault(a, set()).update(keys)
    for action, keys in SPREAD_KEYS.items():
        found.setdefault(action, set()).update(keys)
    return found


SAMPLES = {"amount": 123456, "payments_total": 123456, "refunds_total": 123456, "net": 123456,
           "total_due": 123456, "released_kopecks": 123456, "commission_min": 123456,
           "login": "ivanov", "role": "finance", "provider_id": 7, "provider_ids": [7],
           "staff_id": 3, "status": "blocked", "topic": "new_invoice", "channel": "email",
           "phone": "+79991234567", "bank": "not_found", "outcome": "manual_review",
           "via": "password", "reason": "client_changed", "klass": "missing_at_bank",
           "grain": "week", "format": "xlsx", "service_kind": "water", "commission_bp": 150,
           "bank_amount": 123456, "our_amount": 123456,
           "fee_min": 123456, "fee_rate_bp": 180, "amount_unit": "kopecks", "encoding": "cp1251",
           "columns": {"amount": ["Сумма, коп."], "txn_id": ["ID"], "time": ["Дата"]},
           "payment_words": ["Оплата", "Покупка"],
           "filter": {"date_from": "2026-11-01", "provider_id": 7,
                      "overdue_only": True}}
NAMES = Names(staff_by_login={"ivanov": "Иванов Иван"}, staff_by_id={3: "Иванов Иван"},
              providers={7: "Водоканал"})


# A real status of each area's own vocabulary: it must read as its label, not as itself.
STATUS_SAMPLES = {"customer": "blocked", "outbox": "failed", "card": "confirming",
                  "payment": "partially_refunded", "invoice": "partially_paid"}


def _sample(key: str, action: str = "") -> object:
    if key == "status":
        return STATUS_SAMPLES[action.split(".")[0]]
    if key == "filter":
        return {**SAMPLES["filter"], "status": STATUS_SAMPLES[action.split(".")[0]]}
    return SAMPLES.get(key, 42 if key.endswith(("_id", "_no")) else "текст")


def test_every_action_in_the_labels_is_written_somewhere_and_has_its_keys_found():
    written = written_details()
    assert {"customer.block", "payment.refund", "staff.login"} <= set(written)
    assert written["payment.refund"] >= {"refund_id", "amount", "status", "payment_id"}
    assert written["customer.unblock"] >= {"status", "block_reason"}


def test_every_detail_key_has_a_russian_label():
    keys = set().union(*written_details().values())
    from core.billing.invoices import InvoiceFilter
    from core.payments.read_models import PaymentFilter
    keys |= {f.name for f in fields(PaymentFilter)} | {f.name for f in fields(InvoiceFilter)}
    assert sorted(keys - set(FIELD_LABELS)) == []


@pytest.mark.parametrize("action", sorted(audit.ACTION_LABELS))
def test_every_actions_detail_reads_without_raw_keys_or_kopecks(action):
    keys = written_details().get(action, set())
    for sides in ({"after": True}, {"before": True}, {"before": True, "after": True}):
        detail = {k: _sample(k, action) for k in keys}
        text = describe(action, detail if "before" in sides else None,
                        detail if "after" in sides else None, NAMES)
        if not keys:
            assert text == ""
            continue
        assert text, action
        leaked = [k for k in keys if re.search(rf"\b{re.escape(k)}\b", text, re.ASCII)]
        assert leaked == [], (action, text)
        assert "123456" not in text, (action, text)
        raw_values = [v for v in (detail.get("status"), "succeeded", "not_found", "manual_review",
                                  "password", "client_changed", "missing_at_bank", "finance")
                      if isinstance(v, str)]
        assert [v for v in raw_values if re.search(rf"\b{v}\b", text, re.ASCII)] == [], text
        if keys & MONEY_KEYS:
            assert "1\u00a0234,56\u00a0₽" in text, (action, text)
        assert "ivanov" not in text or action == "staff.add", (action, text)
        assert not re.search(r"[{}\[\]]", text), (action, text)


def test_a_block_reads_as_a_sentence():
    assert describe("customer.block", {"status": "active"},
                    {"status": "blocked", "sessions_ended": 2}) == (
        "Кабинет заблокирован (был: активен); завершено сеансов: 2")
    assert describe("customer.block", {"status": "active"}, {"status": "blocked"}) == (
        "Кабинет заблокирован (был: активен)")


def test_a_refund_reads_with_its_number_and_rubles():
    text = describe("payment.refund", {"payment_id": 12},
                    {"refund_id": 571, "amount": 50000, "status": "partially_refunded"})
    assert text.startswith("Возврат № 571 на 500,00\u00a0₽ по платежу № 12 выполнен")
    assert "50000" not in text


def test_a_login_says_how_and_a_role_change_names_the_person():
    assert describe("staff.login", None, {"via": "password"}) == "Вход по паролю"
    assert describe("staff.role_change", {"login": "ivanov", "role": "agent"},
                    {"role": "finance"}, NAMES) == (
        "Иванов Иван: роль оператор контакт-центра → финансист")


def test_a_bank_code_reads_in_russian():
    text = describe("card.hold_not_placed", {"binding_id": 5, "status": "confirming"},
                    {"status": "failed", "bank": "not_found", "card_saved": False})
    assert "банк не получал эту операцию" in text and "not_found" not in text
    assert "статус: проверяется → не выполнено" in text


def test_a_field_change_reads_was_and_became():
    text = describe("provider.update", {"provider_id": 7, "commission_min": 1000},
                    {"provider_id": 7, "commission_min": 1500}, NAMES)
    assert text == "Поставщик: Водоканал; минимальная комиссия: 10,00\u00a0₽ → 15,00\u00a0₽"


def test_the_card_check_statuses_match_the_binding_labels():
    from core.payments.card_binding import STATUS_LABELS
    from core.staff.journal_words import BINDING_STATUS_LABELS
    assert {s.value: label.lower() for s, label in STATUS_LABELS.items()} == BINDING_STATUS_LABELS


def test_a_bank_profile_change_reads_with_the_columns_and_units_in_words():
    text = describe("bank_profile.update",
                    {"name": "Сбер", "amount_unit": "rubles", "columns": {"amount": ["Сумма"]}},
                    {"name": "Сбер (копейки)", "amount_unit": "kopecks",
                     "columns": {"amount": ["Сумма, коп."]}})
    assert text == ("Профиль банка «Сбер» изменён, новое название: «Сбер (копейки)»; "
                    "единица сумм: рубли → копейки; столбцы: Сумма — «Сумма» → "
                    "Сумма — «Сумма, коп.»")
