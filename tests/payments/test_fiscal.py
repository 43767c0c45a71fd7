"""The fiscal register port through its simulator: idempotency, numbering, failures."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from core.clock import FrozenClock
from core.payments.fiscal import (
    FiscalDocument,
    FiscalOperation,
    FiscalRegister,
    FiscalRequest,
    FiscalRequestConflict,
    FiscalSimulator,
    FiscalUnavailable,
)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc))


@pytest.fixture
def sim(clock) -> FiscalSimulator:
    return FiscalSimulator(clock)


def request(number: int = 1001, **changes) -> FiscalRequest:
    base = FiscalRequest(
        receipt_number=number,
        payment_id=number + 50_000,
        operation=FiscalOperation.INCOME,
        amount_kopecks=125_308,
        commission_kopecks=1_852,
        provider_name="ПАО «Пермэнергосбыт»",
        provider_inn="5904123456",
        customer_contact="ivan@example.ru",
        at=datetime(2026, 11, 25, 9, 29, tzinfo=timezone.utc),
    )
    return replace(base, **changes)


def test_simulator_satisfies_the_port(sim) -> None:
    register: FiscalRegister = sim
    doc = register.register(request())
    assert isinstance(doc, FiscalDocument)


def test_document_has_plausible_requisites(sim, clock) -> None:
    doc = sim.register(request())
    assert len(doc.fiscal_drive_number) == 16 and doc.fiscal_drive_number.isdigit()
    assert len(doc.kkt_registration_number) == 16 and doc.kkt_registration_number.isdigit()
    assert len(doc.fiscal_sign) == 10 and doc.fiscal_sign.isdigit()
    assert doc.fiscal_document_number == 1
    assert doc.shift_number == 1
    assert doc.registered_at == clock.now()
    assert doc.registered_at.tzinfo is not None


def test_same_request_again_returns_the_same_document(sim, clock) -> None:
    first = sim.register(request())
    clock.advance(minutes=5)  # a retry later must not re-sign with a new time
    again = sim.register(request())
    assert again == first
    assert len(sim.documents) == 1


def test_document_numbers_increment_and_signs_differ(sim) -> None:
    docs = [sim.register(request(n)) for n in (1, 2, 3)]
    assert [d.fiscal_document_number for d in docs] == [1, 2, 3]
    assert len({d.fiscal_sign for d in docs}) == 3
    assert {d.fiscal_drive_number for d in docs} == {docs[0].fiscal_drive_number}


def test_fiscal_sign_is_deterministic(clock) -> None:
    one = FiscalSimulator(clock).register(request())
    two = FiscalSimulator(clock).register(request())
    assert one.fiscal_sign == two.fiscal_sign


def test_same_number_with_a_different_request_is_refused(sim) -> None:
    first = sim.register(request())
    with pytest.raises(FiscalRequestConflict):
        sim.register(request(amount_kopecks=999_999))
    with pytest.raises(ValueError):  # it is a ValueError, as the port promises
        sim.register(request(operation=FiscalOperation.INCOME_RETURN))
    assert sim.register(request()) == first
    assert sim.documents == [first]


def test_unavailable_switch_affects_one_call_and_registers_nothing(sim) -> None:
    sim.make_next_call_unavailable()
    with pytest.raises(FiscalUnavailable):
        sim.register(request())
    assert sim.documents == []
    doc = sim.register(request())  # the caller's retry with the same request succeeds
    assert doc.fiscal_document_number == 1  # no number was burnt by the failure


def test_refund_is_registered_as_income_return(sim) -> None:
    income = sim.register(request(1))
    refund = sim.register(request(2, operation="income_return"))  # plain strings accepted
    assert refund.fiscal_document_number == income.fiscal_document_number + 1
    assert FiscalOperation("income_return").label == "Возврат прихода"
    assert FiscalOperation.INCOME.label == "Приход"


@pytest.mark.parametrize("changes", [
    {"amount_kopecks": 0},
    {"commission_kopecks": -1},
    {"commission_kopecks": 200_000},
    {"at": datetime(2026, 11, 25, 9, 29)},  # naive
    {"operation": "sale"},
    {"customer_contact": " "},
])
def test_bad_requests_are_refused_at_construction(changes) -> None:
    with pytest.raises(ValueError):
        request(**changes)


def test_concurrent_registrations_get_distinct_sequential_numbers(sim) -> None:
    start = threading.Barrier(20)
    results: dict[int, FiscalDocument] = {}
    errors: list[Exception] = []

    def worker(number: int) -> None:
        try:
            start.wait()
            results[number] = sim.register(request(number))
        except Exception as exc:  # noqa: BLE001 - surfaced below; a thread's failure is silent
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert errors == []
    numbers = sorted(doc.fiscal_document_number for doc in results.values())
    assert numbers == list(range(1, 21))
    assert len(results) == 20
