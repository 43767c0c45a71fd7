"""Scale demo, the payment plan of one chunk: exactly ``quota`` payments, as arrays.

The quota is split like the rich demo's mix (``core.demo.payments``): about 1 % declined
attempts nobody retried on this month's invoices, 4 % arbitrary payments without a
cabinet, 1 % advances from cabinets, 9 % failed attempts (declined, failed, expired)
shortly before a success, and the rest succeeded invoice payments — 7 % of the paid
invoices in two parts, this month's in part. Which invoices get paid follows a
propensity per account (regular payers pay most months), so accounts look like
people. When the chunk runs out of invoices the remainder become advances, so the
count is always exact.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.demo.payments import _HOURS, _STEPS
from core.demo.scale.billing import CURRENT, Invoices, windows
from core.demo.scale.people import DAY, HOUR, MINUTE, People
from core.demo.scale.writer import us

FLOWS = list(_STEPS)  # succeeded, declined, otp_rejected, failed, expired, pending_auth, pending_otp
F_SUCCEEDED, F_DECLINED, F_OTP_REJECTED, F_FAILED, F_EXPIRED, F_PENDING_AUTH, F_PENDING_OTP = \
    range(len(FLOWS))
HOURS = np.array(_HOURS, dtype=np.int64)
LOCAL = 3 * HOUR  # Moscow
ABANDONED, ANONYMOUS, ADVANCES, FAILED_BEFORE, TWO_PARTS = 0.012, 0.04, 0.01, 0.09, 0.07
ANON_AMOUNTS = np.array([300, 500, 1000, 1500, 2000, 2500, 3000, 5000], dtype=np.int64) * 100
ADVANCE_AMOUNTS = np.array([500, 1000, 2000, 3000], dtype=np.int64) * 100
MAIL = np.array(["mail.ru", "yandex.ru", "gmail.com"], dtype=object)


@dataclass
class Plan:
    account: np.ndarray  # position in the chunk
    invoice: np.ndarray  # position in the chunk's invoices, -1: none
    amount: np.ndarray
    start: np.ndarray  # µs
    flow: np.ndarray  # index into FLOWS
    cabinet: np.ndarray  # paid through the cabinet when it existed by then
    email: np.ndarray  # object: the receipt e-mail of a payment without a cabinet, or None
    review: np.ndarray  # pending and handed to a person


def moment(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Moments in [start, end] at hours people pay (08-23 Moscow) when that fits."""
    start, end = np.broadcast_arrays(np.asarray(start, np.int64), np.asarray(end, np.int64))
    out = start.copy()
    todo = np.flatnonzero(end > start)
    for _ in range(4):
        if not len(todo):
            return out
        s, e = start[todo], end[todo]
        local = s + (rng.random(len(todo)) * (e - s)).astype(np.int64) + LOCAL
        t = (local // DAY * DAY + HOURS[rng.integers(0, len(HOURS), len(todo))] * HOUR
             + rng.integers(0, 7200, len(todo)) * us(1) - LOCAL)
        ok = (t >= s) & (t <= e)
        out[todo[ok]] = t[ok]
        todo = todo[~ok]
    out[todo] = start[todo] + (rng.random(len(todo)) * (end[todo] - start[todo])).astype(np.int64)
    return out


def _failed_flows(rng: np.random.Generator, n: int) -> np.ndarray:
    roll, code = rng.random(n), rng.random(n)
    return np.where(roll < 0.8, np.where(code < 0.12, F_OTP_REJECTED, F_DECLINED),
                    np.where(roll < 0.9, F_FAILED, F_EXPIRED))


class _Builder:
    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, account: np.ndarray, invoice: np.ndarray, amount: np.ndarray,
            start: np.ndarray, flow: np.ndarray | int, cabinet: bool,
            email: np.ndarray | None = None, review: np.ndarray | None = None) -> None:
        n = len(account)
        self.parts.append({
            "account": account, "invoice": invoice, "amount": amount, "start": start,
            "flow": np.broadcast_to(np.asarray(flow), (n,)).astype(np.int64),
            "cabinet": np.full(n, cabinet),
            "email": email if email is not None else np.full(n, None, dtype=object),
            "review": review if review is not None else np.zeros(n, bool)})

    def plan(self) -> Plan:
        return Plan(**{k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]})


def make_plan(rng: np.random.Generator, people: People, inv: Invoices, quota: int,
              pending: int, now: int) -> Plan:
    issued, on_time, end = windows(now)
    n_acc = len(people.acc_ids)
    b = _Builder()
    abandoned = round(quota * ABANDONED)
    anonymous, advances = round(quota * ANONYMOUS), round(quota * ADVANCES)
    failed_before = round(quota * FAILED_BEFORE)
    pending = min(pending, quota // 10)
    rest = quota - pending - abandoned - anonymous - advances - failed_before

    # Invoices paid: a propensity per account, this month's invoices less often (in part).
    propensity = rng.random(n_acc)
    score = propensity[inv.account] * 0.85 + rng.random(len(inv.ids)) * 0.15
    score[inv.period == CURRENT] *= 0.3
    score[inv.total <= 0] = -1.0
    eligible = int((inv.total > 0).sum())
    n_paid = min(round(rest / (1 + TWO_PARTS)), eligible)
    chosen = np.sort(np.argpartition(-score, n_paid - 1)[:n_paid]) if n_paid else \
        np.zeros(0, np.int64)
    period = inv.period[chosen]
    total = inv.total[chosen]
    paid = np.where((period == CURRENT) & (total >= 200), total // 2, total)
    late = rng.random(n_paid) >= 0.85
    first = np.where(late, moment(rng, on_time[period], end[period]),
                     moment(rng, issued[period], on_time[period]))
    can_split = np.flatnonzero((paid >= 200) & (period < CURRENT - 1)
                               & (first + DAY < end[period]))
    n_two = min(rest - n_paid, len(can_split))
    split = np.sort(rng.choice(can_split, n_two, replace=False)) if n_two else can_split[:0]
    part = paid.copy()
    whole = paid[split]
    part[split] = np.maximum(100, np.minimum(
        whole - 100, (whole * rng.uniform(0.3, 0.7, n_two)).astype(np.int64) // 100 * 100))
    accounts = inv.account[chosen]
    b.add(accounts, chosen, part, first, F_SUCCEEDED, True)
    b.add(accounts[split], chosen[split], whole - part[split],
          moment(rng, first[split] + DAY, end[period[split]]), F_SUCCEEDED, True)
    advances += rest - n_paid - n_two

    # This month's unpaid invoices: attempts nobody retried, and the pending ones.
    taken = np.zeros(len(inv.ids), bool)
    taken[chosen] = True
    open_now = np.flatnonzero(~taken & (inv.period == CURRENT) & (inv.total > 0))
    picked = rng.permutation(open_now)[:abandoned + pending]
    gave_up, waiting = picked[:abandoned], picked[abandoned:]
    anonymous += abandoned + pending - len(picked)
    b.add(inv.account[gave_up], gave_up, inv.total[gave_up],
          moment(rng, np.full(len(gave_up), now - 12 * DAY), now - 3 * HOUR),
          _failed_flows(rng, len(gave_up)), True)
    if len(waiting):
        review = np.arange(len(waiting)) == 0  # the checks gave up on one: a person looks
        start = np.where(review, now - 2 * DAY - (rng.random(len(waiting)) * 600 * MINUTE)
                         .astype(np.int64),
                         now - (rng.uniform(2, 50, len(waiting)) * MINUTE).astype(np.int64))
        b.add(inv.account[waiting], waiting, inv.total[waiting], start,
              np.where(rng.random(len(waiting)) < 0.5, F_PENDING_AUTH, F_PENDING_OTP), True,
              review=review)

    # Arbitrary payments: without a cabinet (anyone with the number), and advances.
    year_ago = np.full(anonymous, now - 365 * DAY)
    emails = np.array([f"payer{k:06d}@{d}" for k, d in zip(
        rng.integers(0, 10**6, anonymous).tolist(),
        MAIL[rng.integers(0, len(MAIL), anonymous)].tolist())], dtype=object)
    b.add(rng.integers(0, n_acc, anonymous), np.full(anonymous, -1),
          ANON_AMOUNTS[rng.integers(0, len(ANON_AMOUNTS), anonymous)],
          moment(rng, year_ago, now - 2 * HOUR), F_SUCCEEDED, False, email=emails)
    b.add(rng.integers(0, n_acc, advances), np.full(advances, -1),
          ADVANCE_AMOUNTS[rng.integers(0, len(ADVANCE_AMOUNTS), advances)],
          moment(rng, np.full(advances, now - 365 * DAY), now - 2 * HOUR), F_SUCCEEDED, True)

    # Failed attempts a few minutes to an hour and a half before some successes.
    plan = b.plan()
    successes = np.flatnonzero(plan.flow == F_SUCCEEDED)
    before = np.sort(rng.choice(successes, min(failed_before, len(successes)), replace=False))
    b.add(plan.account[before], plan.invoice[before], plan.amount[before],
          plan.start[before] - (rng.uniform(3, 90, len(before)) * MINUTE).astype(np.int64),
          _failed_flows(rng, len(before)), False, email=plan.email[before])
    b.parts[-1]["cabinet"] = plan.cabinet[before]
    plan = b.plan()
    assert len(plan.amount) == quota, (len(plan.amount), quota)
    return plan
