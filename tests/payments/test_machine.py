"""The payment state machine: the table, everything outside it, and random walks."""
from __future__ import annotations

import inspect
import itertools

import pytest
from hypothesis import given, strategies as st

from core.errors import DomainError
from core.payments.machine import (
    FINAL, REFUND_EVENTS, REFUNDABLE, TRANSITIONS, IllegalTransition, PaymentEvent,
    PaymentStatus, allowed_events, is_final, transition,
)

S, E = PaymentStatus, PaymentEvent
ILLEGAL = sorted(set(itertools.product(S, E)) - set(TRANSITIONS),
                 key=lambda pair: (pair[0].value, pair[1].value))


def _reachable_from(start: PaymentStatus) -> set[PaymentStatus]:
    seen, todo = {start}, [start]
    while todo:
        current = todo.pop()
        for (status, _event), target in TRANSITIONS.items():
            if status == current and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize(("status", "event", "expected"),
                         [(s, e, t) for (s, e), t in TRANSITIONS.items()],
                         ids=[f"{s.value}-{e.value}" for s, e in TRANSITIONS])
def test_every_allowed_transition_moves_to_its_target(status, event, expected):
    assert transition(status, event) is expected


@pytest.mark.parametrize(("status", "event"), ILLEGAL,
                         ids=[f"{s.value}-{e.value}" for s, e in ILLEGAL])
def test_every_pair_outside_the_table_raises(status, event):
    with pytest.raises(IllegalTransition) as caught:
        transition(status, event)
    assert caught.value.status is status and caught.value.event is event
    assert isinstance(caught.value, DomainError)


@pytest.mark.parametrize(("status", "event"), [
    (S.SUCCEEDED, E.GATEWAY_ERROR),        # succeeded -> failed
    (S.DECLINED, E.REFUND_FULL),           # refunding a declined payment
    (S.DECLINED, E.REFUND_PARTIAL),
    (S.EXPIRED, E.OTP_CONFIRMED),          # confirming an expired one
    (S.REFUNDED, E.REFUND_PARTIAL),
    (S.PENDING, E.OTP_CONFIRMED),          # unknown outcome: only the gateway can settle it
    (S.CREATED, E.REFUND_FULL),
])
def test_named_illegal_transitions_raise(status, event):
    with pytest.raises(IllegalTransition):
        transition(status, event)


def test_illegal_transition_message_is_russian_and_names_both():
    with pytest.raises(IllegalTransition) as caught:
        transition(S.SUCCEEDED, E.GATEWAY_ERROR)
    message = str(caught.value)
    assert message.startswith("Платёж:")
    assert "ошибка шлюза" in message and "Оплачен" in message
    assert "succeeded" in message and "gateway_error" in message


def test_the_lifecycles_the_issue_names():
    assert transition(S.CREATED, E.OTP_REQUIRED) is S.AWAITING_OTP
    assert transition(S.AWAITING_OTP, E.OTP_CONFIRMED) is S.SUCCEEDED
    assert transition(S.AWAITING_OTP, E.OTP_EXPIRED) is S.EXPIRED
    assert transition(S.AWAITING_OTP, E.GATEWAY_TIMEOUT) is S.PENDING
    assert transition(S.PENDING, E.STATUS_SUCCEEDED) is S.SUCCEEDED
    assert transition(S.PENDING, E.STATUS_DECLINED) is S.DECLINED
    assert transition(S.SUCCEEDED, E.REFUND_PARTIAL) is S.PARTIALLY_REFUNDED
    assert transition(S.PARTIALLY_REFUNDED, E.REFUND_FULL) is S.REFUNDED


def test_accepts_string_values_as_stored_in_the_database():
    assert transition("pending", "status_succeeded") is S.SUCCEEDED


def test_final_and_refundable_sets():
    assert FINAL == {S.DECLINED, S.FAILED, S.EXPIRED, S.REFUNDED}
    assert REFUNDABLE == {S.SUCCEEDED, S.PARTIALLY_REFUNDED}
    assert not is_final(S.SUCCEEDED) and not is_final(S.PENDING)
    assert all(is_final(s) for s in FINAL)


@pytest.mark.parametrize("status", sorted(FINAL, key=lambda s: s.value))
def test_a_final_status_accepts_no_event(status):
    assert allowed_events(status) == frozenset()


@pytest.mark.parametrize("status", sorted(REFUNDABLE, key=lambda s: s.value))
def test_a_paid_status_accepts_only_refunds(status):
    assert allowed_events(status) == REFUND_EVENTS


def test_every_status_is_reachable_from_created():
    assert _reachable_from(S.CREATED) == set(S)


def test_every_status_value_has_a_docstring():
    assert PaymentStatus.__doc__ and PaymentEvent.__doc__
    text = inspect.getsource(PaymentStatus)
    for status in S:
        after = text.split(f'= "{status.value}"', 1)[1].lstrip()
        assert after.startswith('"""'), status


@given(st.lists(st.sampled_from(list(E)), max_size=30))
def test_random_event_sequences_stay_inside_the_table(events):
    status = S.CREATED
    reachable = _reachable_from(S.CREATED)
    for event in events:
        before = status
        if (status, event) in TRANSITIONS:
            status = transition(status, event)
            assert status in reachable
            assert status is TRANSITIONS[(before, event)]
        else:
            with pytest.raises(IllegalTransition):
                transition(status, event)
            assert status is before
        if is_final(before):
            assert status is before  # a final status never moves
        if before in REFUNDABLE and status is not before:
            assert event in REFUND_EVENTS


@pytest.mark.parametrize("status", list(PaymentStatus))
def test_a_view_is_in_progress_exactly_while_only_the_bank_can_decide(status):
    from core.money import Money
    from core.payments.flow import PaymentView

    view = PaymentView(id=1, status=status, status_label="", provider_name="", account_number="",
                       invoice_id=None, amount=Money(100), commission=Money(0), masked_pan=None,
                       decline_reason=None)
    assert view.in_progress == (status in {PaymentStatus.CREATED, PaymentStatus.PENDING})
    assert view.awaiting_otp == (status is PaymentStatus.AWAITING_OTP)
