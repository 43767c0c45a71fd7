"""A payment's timeline events as people read them: a Russian sentence per event.

A pure function of the event and its stored ``details`` (what ``state`` writes with each
move): kopecks read as ``1 234,56 ₽``, the bank's codes by their meaning
(``bank_answers``), our own step names in words. The raw detail stays on the event.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.money import Money
from core.payments.bank_answers import bank_answer

DETAIL_LABELS: dict[str, str] = {
    "card": "карта", "saved_card": "сохранённая карта", "step": "шаг", "found_by": "найдено",
    "rrn": "RRN", "auth_code": "код авторизации", "code": "ответ банка", "reason": "причина",
    "refund_id": "возврат", "amount": "сумма",
}
_STEPS = {"authorize": "отправка карты в банк", "confirm": "подтверждение кодом"}
_FOUND_BY = {"recovery": "при проверке зависших платежей"}


def _value(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if key == "amount" and isinstance(value, int):
        return Money(value).format()
    if key == "code":
        return bank_answer(str(value))
    if key == "step":
        return _STEPS.get(value, str(value))
    if key == "found_by":
        return _FOUND_BY.get(value, str(value))
    if key == "refund_id":
        return f"№ {value}"
    return str(value)


def describe_event(details: Mapping[str, Any] | None) -> str:
    """The event's detail in words; empty when it carries none."""
    if not details:
        return ""
    d, parts, told = dict(details), [], set()
    if "refund_id" in d or "amount" in d:
        text = "Возврат"
        if "refund_id" in d:
            text += f" {_value('refund_id', d['refund_id'])}"
        if "amount" in d:
            text += f" на {_value('amount', d['amount'])}"
        if d.get("reason"):
            text += f", причина: «{d['reason']}»"
        parts.append(text)
        told |= {"refund_id", "amount", "reason"}
    if "card" in d:
        parts.append(f"Карта {d['card']}" + (" (сохранённая)" if d.get("saved_card") else ""))
        told |= {"card", "saved_card"}
    if "step" in d:
        text = f"Ответ банка не получен на шаге «{_value('step', d['step'])}»"
        if "found_by" in d:
            text += f", выяснено {_value('found_by', d['found_by'])}"
        parts.append(text)
        told |= {"step", "found_by"}
    if "code" in d:
        meaning = _value("code", d["code"])
        text = f"Ответ банка: {meaning}"
        reason = d.get("reason")
        if reason and str(reason).lower() != meaning.lower():
            text += f" ({reason})"
        parts.append(text)
        told |= {"code", "reason"}
    if d.get("rrn") or d.get("auth_code"):
        parts.append(f"RRN {_value('rrn', d.get('rrn'))}, "
                     f"код авторизации {_value('auth_code', d.get('auth_code'))}")
    told |= {"rrn", "auth_code"}
    for key, value in d.items():
        if key not in told:
            parts.append(f"{DETAIL_LABELS.get(key, key.replace('_', ' '))}: {_value(key, value)}")
    return "; ".join(parts)
