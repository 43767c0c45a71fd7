"""What the bank's answer codes mean, in Russian, for the people who read them.

The codes come from the gateway (``gateway``'s decline codes and transaction statuses,
which the simulators return) and from our own code where it records an answer the bank
never gave in words (a lost authorisation, an unreachable gateway, a transaction the bank
does not know). The payer's messages (``gateway.DECLINE_MESSAGES``) say what to do; these
say what happened, for the journal and the payment's timeline. Imports nothing: the
journal (``core.staff``) reads it too.
"""
from __future__ import annotations

BANK_ANSWERS: dict[str, str] = {
    # The gateway's decline codes (core.payments.gateway).
    "issuer_declined": "банк-эмитент отказал",
    "insufficient_funds": "недостаточно средств на карте",
    "incorrect_cvv": "неверный CVV",
    "expired_card": "срок действия карты истёк",
    "processing_error": "ошибка обработки в банке, деньги не списаны",
    "timed_out": "банк не ответил вовремя, деньги не списаны",
    "otp_attempts_exceeded": "исчерпаны попытки ввода кода подтверждения",
    "unknown_token": "сохранённая карта банку неизвестна",
    "unknown_transaction": "банк не знает такой операции",
    "not_refundable": "возврат возможен только по успешному платежу",
    "refund_exceeds_available": "сумма возврата больше доступной к возврату",
    "invalid_amount": "сумма должна быть больше нуля",
    "not_reversible": "отменить можно только удержание проверки карты",
    # The gateway's transaction statuses (gateway.TxnStatus), as a status query returns them.
    "pending": "ждёт кода подтверждения, деньги ещё не списаны",
    "succeeded": "деньги списаны",
    "authorized": "сумма удержана на карте, не списана",
    "reversed": "удержание снято, деньги не списаны",
    "declined": "банк отказал, деньги не списаны",
    "not_found": "банк не получал эту операцию",
    # Written by our own code for answers that never came in words.
    "otp_expired": "код подтверждения не введён вовремя",
    "authorization_lost": "авторизация не завершена, деньги не списаны",
    "gateway_unavailable": "банк недоступен, запрос не дошёл",
    "not_reversed": "банк не снял удержание",
}


def bank_answer(code: str | None) -> str:
    """The Russian meaning of a bank's code; an unknown code is shown as the bank's own."""
    if not code:
        return "—"
    return BANK_ANSWERS.get(str(code), f"ответ банка «{code}»")
