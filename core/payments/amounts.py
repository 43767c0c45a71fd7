"""Amounts a customer types for an arbitrary payment, and the provider's commission.

The customer's text is checked here, once, with a message that says what is wrong
(«Сумма: не больше двух знаков после запятой»); everything after works with
:class:`Money` (integer kopecks) only.
"""
from __future__ import annotations


from core.errors import ValidationError
from core.money import Money, MoneyFormatError, parse_rubles

AMOUNT_LABEL = "Сумма"
MIN_PAYMENT = Money(100)  # 1 ₽: below it acquiring costs more than the payment



def parse_payment_amount(text: str, *, maximum: Money, minimum: Money = MIN_PAYMENT,
                         label: str = AMOUNT_LABEL) -> Money:
    """«1 234,56», «1234.56», «100» -> Money; anything else -> ValidationError(label, ...)."""
    try:
        amount = parse_rubles(text, signed=False)
    except MoneyFormatError as error:
        problem = {"empty": "введите сумму",
                   "too_precise": "не больше двух знаков после запятой",
                   "negative": "должна быть больше нуля",
                   "too_long": f"не больше {maximum.format()}"}.get(
                       error.reason, "введите число, например 1 234,56")
        raise ValidationError(label, problem, field="amount") from None
    if amount.kopecks == 0:
        raise ValidationError(label, "должна быть больше нуля", field="amount")
    if amount < minimum:
        raise ValidationError(label, f"не меньше {minimum.format()}", field="amount")
    if amount > maximum:
        raise ValidationError(label, f"не больше {maximum.format()}", field="amount")
    return amount


def commission(amount: Money, basis_points: int, minimum_kopecks: int) -> Money:
    """The provider's commission: ``basis_points``/10,000 of the amount (150 = 1,5 %),
    rounded half up to the kopeck, but not less than ``minimum_kopecks``."""
    if basis_points < 0 or minimum_kopecks < 0:
        raise ValueError("commission rule must not be negative")
    if amount.kopecks < 0:
        raise ValueError("commission of a negative amount")
    return max(amount.percent(basis_points), Money(minimum_kopecks))


def total_with_commission(amount: Money, basis_points: int, minimum_kopecks: int) -> Money:
    """What the card is charged: the amount plus the commission."""
    return amount + commission(amount, basis_points, minimum_kopecks)
