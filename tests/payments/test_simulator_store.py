"""The file-backed simulator: two instances (or two processes) share one bank.

The protocol itself is covered by ``test_gateway_contract.py``; here: what one
instance does, another one on the same file sees.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core.clock import FrozenClock
from core.payments import gateway as g
from core.payments.cards import CardInput
from core.payments.simulator_store import FileBackedSimulator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OK_CARD = "4111 1111 1111 1111"


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    return tmp_path / "bank.pickle"


@pytest.fixture
def otps() -> dict[str, str]:
    return {}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def first(bank: Path, clock: FrozenClock, otps: dict[str, str]) -> FileBackedSimulator:
    return FileBackedSimulator(bank, clock, otps.__setitem__)


@pytest.fixture
def second(bank: Path, clock: FrozenClock, otps: dict[str, str]) -> FileBackedSimulator:
    return FileBackedSimulator(bank, clock, otps.__setitem__)


def authorize(gateway: g.AcquiringGateway, key: str, number: str = OK_CARD,
              amount: int = 10_000) -> str:
    response = gateway.tokenize_and_authorize(g.AuthorizeRequest(
        f"pay-{key}", amount, CardInput(number, 12, 2030, "123"), None, None, "Счёт", key))
    assert response.gateway_txn_id is not None
    return response.gateway_txn_id


def test_authorize_on_one_confirm_on_the_other_status_on_both(first, second, otps) -> None:
    txn_id = authorize(first, "k1")
    assert second.status(txn_id).status == "pending"
    confirmed = second.confirm(g.ConfirmRequest(txn_id, otps[txn_id]))
    assert confirmed.status == "succeeded" and confirmed.rrn
    assert first.status(txn_id).status == second.status(txn_id).status == "succeeded"
    assert first.status(txn_id).rrn == confirmed.rrn


def test_idempotency_key_is_remembered_across_instances(first, second, otps) -> None:
    txn_id = authorize(first, "same")
    assert authorize(second, "same") == txn_id and len(otps) == 1


def test_time_out_charged_is_resolved_by_status_from_the_other_instance(
        first, second, otps, clock) -> None:
    txn_id = authorize(first, "k1", "4000 0000 0000 3238")
    with pytest.raises(g.GatewayTimeout):
        first.confirm(g.ConfirmRequest(txn_id, otps[txn_id]))
    assert second.status(txn_id).status == "succeeded"
    assert [line.gateway_txn_id for line in second.settlement_registry(clock.now().date())] \
        == [txn_id]


def test_switch_set_on_one_instance_hits_the_next_call_on_the_other(first, second,
                                                                    otps) -> None:
    txn_id = authorize(first, "k1")
    first.make_next_call_time_out(charged=True)
    with pytest.raises(g.GatewayTimeout):
        second.confirm(g.ConfirmRequest(txn_id, otps[txn_id]))
    assert first.status(txn_id).status == "succeeded"  # the switch was used up
    second.make_next_call_unavailable()
    with pytest.raises(g.GatewayUnavailable):
        first.status(txn_id)
    first.make_next_payment_decline(g.INSUFFICIENT_FUNDS)
    declined = second.tokenize_and_authorize(g.AuthorizeRequest(
        "pay-k2", 100, CardInput(OK_CARD, 12, 2030, "123"), None, None, "Счёт", "k2"))
    assert declined.decline_code == g.INSUFFICIENT_FUNDS


def test_refund_is_visible_across_instances(first, second, otps, clock) -> None:
    txn_id = authorize(first, "k1")
    first.confirm(g.ConfirmRequest(txn_id, otps[txn_id]))
    assert second.refund(g.RefundRequest(txn_id, 4_000, "r1")).status == "succeeded"
    assert first.status(txn_id).refunded_kopecks == 4_000
    too_much = first.refund(g.RefundRequest(txn_id, 6_001, "r2"))
    assert too_much.decline_code == g.REFUND_EXCEEDS_AVAILABLE
    operations = [line.operation for line in first.settlement_registry(clock.now().date())]
    assert operations == ["payment", "refund"]


def test_missing_file_is_an_empty_bank_and_saves_leave_no_temporary_files(bank, first,
                                                                          otps) -> None:
    assert bank.stat().st_size == 0  # created empty (and private) where it was missing
    assert first.status("sim-00000001").status == "not_found"
    authorize(first, "k1")
    assert sorted(p.name for p in bank.parent.iterdir()) == [bank.name]


SECOND_PROCESS = """
import json, sys
from pathlib import Path
from core.clock import FrozenClock
from core.payments import gateway as g
from core.payments.simulator_store import FileBackedSimulator

bank, txn_id, otp = sys.argv[1:4]
gateway = FileBackedSimulator(Path(bank), FrozenClock())
before = gateway.status(txn_id).status
after = gateway.confirm(g.ConfirmRequest(txn_id, otp)).status
print(json.dumps([before, after]))
"""


def run_python(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", script, *args], check=False,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_real_second_process_sees_and_confirms_the_transaction(bank, first, otps) -> None:
    txn_id = authorize(first, "k1")
    seen = json.loads(run_python(SECOND_PROCESS, str(bank), txn_id, otps[txn_id]))
    assert seen == ["pending", "succeeded"]
    assert first.status(txn_id).status == "succeeded"


def test_ten_threads_over_two_instances_lose_no_payment(first, second, otps,
                                                        clock) -> None:
    txn_ids: list[str] = []
    errors: list[BaseException] = []

    def pay(gateway: FileBackedSimulator, n: int) -> None:
        try:
            txn_id = authorize(gateway, f"k{n}", amount=100 + n)
            gateway.confirm(g.ConfirmRequest(txn_id, otps[txn_id]))
            txn_ids.append(txn_id)
        except BaseException as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=pay, args=(first if n % 2 else second, n))
               for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(set(txn_ids)) == 10
    assert all(first.status(txn_id).status == "succeeded" for txn_id in txn_ids)
    lines = second.settlement_registry(clock.now().date())
    assert sorted(line.amount_kopecks for line in lines) == [100 + n for n in range(10)]


CONCURRENT_PROCESS = """
import json, sys
from pathlib import Path
from core.clock import FrozenClock
from core.payments import gateway as g
from core.payments.cards import CardInput
from core.payments.simulator_store import FileBackedSimulator

gateway = FileBackedSimulator(Path(sys.argv[1]), FrozenClock())
ids = []
for n in range(20):
    ids.append(gateway.tokenize_and_authorize(g.AuthorizeRequest(
        f"pay-child-{n}", 100, CardInput("4111111111111111", 12, 2030, "123"), None, None,
        "Счёт", f"child-{n}")).gateway_txn_id)
print(json.dumps(ids))
"""


def test_two_processes_writing_at_once_lose_nothing(bank, first) -> None:
    child = subprocess.Popen([sys.executable, "-c", CONCURRENT_PROCESS, str(bank)],
                             cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    mine = [authorize(first, f"parent-{n}") for n in range(20)]
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 0
    theirs = json.loads(out)
    assert len(set(mine) | set(theirs)) == 40
    assert all(first.status(txn_id).status == "pending" for txn_id in mine + theirs)


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_history_refunds_are_in_the_registry_of_their_day_once(kind, bank, clock, otps) -> None:
    from datetime import datetime, timedelta, timezone

    from core.payments.simulator import GatewaySimulator, HistoricRefund, HistoricTxn

    sim = (GatewaySimulator(clock, otps.__setitem__) if kind == "memory"
           else FileBackedSimulator(bank, clock, otps.__setitem__))
    paid_at = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    refunded_at = datetime(2026, 11, 22, 21, 30, tzinfo=timezone.utc)  # 23.11, 00:30 Moscow
    txn = HistoricTxn("demo-1", 10_000, "411111******1111", "visa", "123456789012", "123456",
                      paid_at, refunded_kopecks=4_000)
    refund = HistoricRefund("demo-refund-1", "demo-1", 4_000, "411111******1111",
                            "900000000001", refunded_at)
    assert sim.load_history([txn], [], [refund]) == 1
    assert sim.load_history([txn], [], [refund]) == 0  # a second load adds nothing
    day = refunded_at.date() + timedelta(days=1)
    assert [(x.operation, x.amount_kopecks, x.time) for x in sim.settlement_registry(day)] \
        == [(g.Operation.REFUND, 4_000, refunded_at)]
    assert [x.operation for x in sim.settlement_registry(paid_at.date())] \
        == [g.Operation.PAYMENT]
    # A refund the bank made itself is in its registry already: its key is not loaded again.
    live = sim.refund(g.RefundRequest("demo-1", 1_000, "live-refund-1"))
    assert live.status == "succeeded"
    sim.load_history([], [], [HistoricRefund("live-refund-1", "demo-1", 1_000,
                                             "411111******1111", "900000000002", clock.now())])
    assert [x.amount_kopecks for x in sim.settlement_registry(clock.now().date())] == [1_000]
