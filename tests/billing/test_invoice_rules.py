"""Invoice rules without a database: periods, dates, labels, the status transition table."""
from __future__ import annotations

from datetime import date

import pytest

from core.billing.invoice_rules import InvoiceEvent, InvoiceStatus
from core.billing import invoice_rules as rules

UNPAID, PARTIAL, PAID = InvoiceStatus.UNPAID, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID
PAY, REVERT = InvoiceEvent.PAY, InvoiceEvent.REVERT
TODAY = date(2026, 11, 25)


@pytest.mark.parametrize("text", ["11.2026", "2026-11", "ноябрь 2026", "Ноябрь 2026",
                                  "ноября 2026 г.", "НОЯБРЬ 2026 года", "01.11.2026",
                                  "30.11.2026", "2026-11-01", "01.11.2026 00:00", "11/2026",
                                  " 11.2026 ", "2026.11"])
def test_period_spellings_mean_the_first_day_of_the_month(text):
    assert rules.parse_period(text) == date(2026, 11, 1)


@pytest.mark.parametrize("text", ["", "13.2026", "00.2026", "2026-13", "ноябрьь 2026",
                                  "ноябрь", "2026", "31.02.2026", "11.26", "abc", "1.1.1"])
def test_unreadable_periods_are_refused_with_a_hint(text):
    with pytest.raises(rules.CellError, match="месяц и год"):
        rules.parse_period(text)


@pytest.mark.parametrize("period, ok", [
    (date(2026, 12, 1), True),  # next month: an advance invoice
    (date(2027, 1, 1), False),  # two months ahead
    (date(2026, 1, 1), True),
    (date(2021, 1, 1), True),
    (date(2020, 12, 1), False),  # more than five years back
])
def test_period_may_be_at_most_one_month_ahead(period, ok):
    if ok:
        rules.check_period(period, TODAY)
    else:
        with pytest.raises(rules.CellError):
            rules.check_period(period, TODAY)


def test_period_ahead_message_names_the_latest_allowed():
    with pytest.raises(rules.CellError, match="декабрь 2026"):
        rules.check_period(date(2027, 3, 1), TODAY)


@pytest.mark.parametrize("text, expected", [
    ("25.11.2026", date(2026, 11, 25)), ("2026-11-25", date(2026, 11, 25)),
    ("25.11.26", date(2026, 11, 25)), ("25.11.2026 00:00:00", date(2026, 11, 25)),
    ("2026-11-25T00:00:00", date(2026, 11, 25)), ("25/11/2026", date(2026, 11, 25)),
])
def test_due_date_spellings(text, expected):
    assert rules.parse_date(text) == expected


@pytest.mark.parametrize("text", ["31.02.2026", "25.13.2026", "завтра", "", "2026/11/25x"])
def test_bad_due_dates_are_refused(text):
    with pytest.raises(rules.CellError, match="ДД.ММ.ГГГГ"):
        rules.parse_date(text)


def test_period_label_is_russian():
    assert rules.period_label(date(2026, 11, 1)) == "ноябрь 2026"


@pytest.mark.parametrize("status, marked, label", [
    (UNPAID, False, "Не оплачен"), (PARTIAL, False, "Оплачен частично"), (PAID, False, "Оплачен"),
    (UNPAID, True, "Отмечен клиентом как оплаченный"),
    (PARTIAL, True, "Отмечен клиентом как оплаченный"),
    (PAID, True, "Оплачен"),  # a real payment wins over the customer's mark
])
def test_status_labels(status, marked, label):
    assert rules.status_label(status, marked) == label


# (status, total due, paid, event, amount) -> (status, paid) after it
LEGAL = [
    (UNPAID, 10_000, 0, PAY, 4_000, PARTIAL, 4_000),
    (UNPAID, 10_000, 0, PAY, 10_000, PAID, 10_000),
    (PARTIAL, 10_000, 4_000, PAY, 1_000, PARTIAL, 5_000),
    (PARTIAL, 10_000, 4_000, PAY, 6_000, PAID, 10_000),
    (PARTIAL, 10_000, 4_000, REVERT, 1_000, PARTIAL, 3_000),
    (PARTIAL, 10_000, 4_000, REVERT, 4_000, UNPAID, 0),
    (PAID, 10_000, 10_000, REVERT, 3_000, PARTIAL, 7_000),
    (PAID, 10_000, 10_000, REVERT, 10_000, UNPAID, 0),
]


@pytest.mark.parametrize("status, total, paid, event, amount, after, paid_after", LEGAL)
def test_legal_transitions(status, total, paid, event, amount, after, paid_after):
    assert rules.settle(status, total, paid, event, amount) == rules.Settlement(after, paid_after)


ILLEGAL = [
    (UNPAID, 10_000, 0, PAY, 0, rules.InvalidPaymentAmount),
    (UNPAID, 10_000, 0, PAY, -100, rules.InvalidPaymentAmount),
    (UNPAID, 10_000, 0, REVERT, 0, rules.InvalidPaymentAmount),
    (UNPAID, 10_000, 0, PAY, 10_001, rules.Overpayment),
    (PARTIAL, 10_000, 4_000, PAY, 6_001, rules.Overpayment),
    (PAID, 10_000, 10_000, PAY, 1, rules.InvoiceAlreadyPaid),
    (UNPAID, 10_000, 0, REVERT, 1, rules.NothingToRevert),
    (PARTIAL, 10_000, 4_000, REVERT, 4_001, rules.RevertExceedsPaid),
    (PAID, 10_000, 10_000, REVERT, 10_001, rules.RevertExceedsPaid),
    (PAID, 0, 0, PAY, 1, rules.InvoiceAlreadyPaid),  # a prepayment covered it: nothing to pay
    (PAID, -500, 0, REVERT, 1, rules.RevertExceedsPaid),
]


@pytest.mark.parametrize("status, total, paid, event, amount, error", ILLEGAL)
def test_illegal_transitions_are_refused(status, total, paid, event, amount, error):
    with pytest.raises(error):
        rules.settle(status, total, paid, event, amount)


def test_overpayment_says_how_much_is_left():
    with pytest.raises(rules.Overpayment, match="60,00") as caught:
        rules.settle(PARTIAL, 10_000, 4_000, PAY, 7_000)
    assert caught.value.remaining == 6_000


def test_amount_must_be_integer_kopecks():
    with pytest.raises(rules.InvalidPaymentAmount):
        rules.settle(UNPAID, 10_000, 0, PAY, 10.0)  # type: ignore[arg-type]


def test_every_transition_lands_on_the_status_its_coverage_means():
    for (status, event, cover), after in rules.TRANSITIONS.items():
        assert after is rules._STATUS_OF_COVERAGE[cover], (status, event)


@pytest.mark.parametrize("total, status", [(10_000, UNPAID), (0, PAID), (-300, PAID)])
def test_initial_status(total, status):
    assert rules.initial_status(total) is status
