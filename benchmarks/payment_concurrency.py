"""Payments under concurrency, on PostgreSQL: 1, 2, 4 and 8 payers at once.

Every payer is a process of its own (threads would take turns on CPython's GIL) with
its own App and engine (``bench_app``). Released together, each pays its own invoices
through the customer's use cases, one after another, as a customer does:
- «start»: ``customer_api.start_invoice_payment`` (the invoice locked, the payment
  written);
- «card»: ``customer_api.pay_with_new_card`` (the simulated acquirer asks for a password,
  the SMS is queued);
- «otp»: the password read from the payer's SMS in the outbox (the stand-in for the
  phone: one indexed SELECT);
- «confirm»: ``customer_api.confirm_payment`` (the bank charges, the invoice is paid, the
  receipt is written and fiscalised).

Baseline, from the same processes at the same level right after: bare psycopg
transactions of the flow's shape, one INSERT and one UPDATE each, as many per step as
the step commits (counted on the flow's own connections); a step that only reads (the
SMS) is one SELECT by primary key. The ratio is what the flow's statements, locks and
Python cost above a database committing as often.

Then the race the flow must settle: 2 payers (two sessions of one cabinet) start the
same invoice at the same moment; exactly one payment may be charged, the other payer
gets the domain's refusal («Счёт уже оплачивается…»), never a database error.

It runs on a database of its own (``own_database``), created on the suite's server and
dropped afterwards.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import queue as queue_module
import statistics
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, bench_app, figure, own_database, start_spawned

LEVELS = (1, 2, 4, 8)
STEPS = ("start", "card", "otp", "confirm")
PAYMENTS = 50  # per payer and level
CONTESTED = 10  # invoices two payers start at once
_banks = itertools.count(1)  # each payer process's own range of acquirer ids
RELEASE_TIMEOUT = 300  # seconds a process waits at a barrier before the run is called hung


@dataclass(frozen=True)
class PayerJob:
    token: str
    customer_id: int
    invoice_id: int


@dataclass
class PayerResult:
    """What one process measured: per step, the flow's seconds and the baseline's."""

    started: float = 0.0
    ended: float = 0.0
    raw_started: float = 0.0
    raw_ended: float = 0.0
    steps: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    raw_steps: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    commits: dict[str, int] = field(default_factory=lambda: {s: 0 for s in STEPS})
    statuses: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # the domain's messages (the race)
    error: str | None = None  # anything else: a traceback, the run fails


# --- in the payer's process ---------------------------------------------------------

def _new_key() -> str:
    return f"bench-{uuid.uuid4().hex[:24]}"


def _read_otp(app: Any, customer_id: int, payment_id: int) -> str:
    """The password from the payer's newest SMS about this payment (the outbox by its
    customer index, as the phone would show it)."""
    import re

    from sqlalchemy import select

    from core.db.models import OutboxMessage

    with app.uow(write=False) as uow:
        bodies = uow.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.customer_id == customer_id,
                   OutboxMessage.topic == "payment_otp")
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(3))
        for body in bodies:
            match = re.search(rf"платежа № {payment_id} на .*?: (\d{{6}})\.", body)
            if match:
                return match.group(1)
    raise AssertionError(f"no one-time password for payment {payment_id}")


def _payer_app(url: str, work: str, bank: int) -> Any:
    """The process's App. Its simulated acquirer lives in this process's memory and
    numbers transactions from 1; every process of the run starts a range of its own, as
    a real acquirer's front ends hand out ids unique across them (else the second
    process's «sim-00000001» collides with the first's on the unique index)."""
    from core.config import FAST_HASHING

    app = bench_app(url, Path(work), FAST_HASHING)
    app.gateway._seq = bank * 1_000_000  # type: ignore[union-attr]
    return app


def _pay(app: Any, job: PayerJob, timed: Callable[[str, Callable[[], Any]], Any]) -> str:
    """One customer's whole payment of an invoice; the final status."""
    from core import customer_api as api
    from core.payments.cards import CardInput

    card = CardInput(number="4111 1111 1111 1111", exp_month=12, exp_year=2030, cvv="123",
                     holder="IVAN PETROV")
    view = timed("start", lambda: api.start_invoice_payment(
        app, job.token, job.invoice_id, idempotency_key=_new_key()))
    view = timed("card", lambda: api.pay_with_new_card(app, job.token, view.id, card))
    if not view.awaiting_otp:
        return view.status.value
    code = timed("otp", lambda: _read_otp(app, job.customer_id, view.id))
    view = timed("confirm", lambda: api.confirm_payment(app, job.token, view.id, code))
    return view.status.value


def _raw_payment(conn: Any, commits: dict[str, int], times: dict[str, list[float]]) -> None:
    """The baseline payment: per step as many bare INSERT + UPDATE transactions as the
    flow's step committed (one SELECT by key for a step that commits nothing)."""
    row = None
    for step in STEPS:
        begun = time.perf_counter()
        if commits[step] == 0:
            with conn.cursor() as cur:
                cur.execute("SELECT id, status FROM bench_raw_payments WHERE id = %s", (row,))
                cur.fetchall()
            conn.commit()
        for _ in range(commits[step]):
            with conn.cursor() as cur:
                if row is None:
                    cur.execute("INSERT INTO bench_raw_payments (status, amount) "
                                "VALUES ('created', 150000) RETURNING id")
                    row = cur.fetchone()[0]
                cur.execute("INSERT INTO bench_raw_events (payment_id, event, at) "
                            "VALUES (%s, %s, now())", (row, step))
                cur.execute("UPDATE bench_raw_payments SET status = %s, version = version + 1 "
                            "WHERE id = %s", (step, row))
            conn.commit()
        times[step].append(time.perf_counter() - begun)


def payer_process(url: str, work: str, jobs: list[PayerJob], barrier: Any,
                  results: Any, slot: int, bank: int) -> None:
    """Runs in its own process: the flow over ``jobs``, then as many baseline payments."""
    result = PayerResult()
    try:
        import psycopg
        from sqlalchemy import event

        app = _payer_app(url, work, bank)
        step_now = [""]
        counts: dict[str, int] = {s: 0 for s in STEPS}

        def on_commit(_conn: object) -> None:
            if step_now[0]:
                counts[step_now[0]] += 1

        event.listen(app.engine, "commit", on_commit)

        def timed(step: str, call: Callable[[], Any]) -> Any:
            step_now[0] = step
            begun = time.perf_counter()
            try:
                return call()
            finally:
                result.steps[step].append(time.perf_counter() - begun)
                step_now[0] = ""

        # The first invoice is paid before the clock: imports, the pool's connection and
        # the statements' compiled forms are a process's start, not a payment's cost.
        warm_up, jobs = jobs[0], jobs[1:]
        _pay(app, warm_up, lambda _step, call: call())
        barrier.wait(RELEASE_TIMEOUT)
        result.started = time.monotonic()
        for job in jobs:
            result.statuses.append(_pay(app, job, timed))
        result.ended = time.monotonic()
        app.engine.dispose()
        # Commits of one payment, per step (each payment of the flow commits alike).
        result.commits = {s: round(counts[s] / max(len(jobs), 1)) for s in STEPS}

        raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        barrier.wait(RELEASE_TIMEOUT)
        result.raw_started = time.monotonic()
        for _ in jobs:
            _raw_payment(raw, result.commits, result.raw_steps)
        result.raw_ended = time.monotonic()
        raw.close()
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the run
        result.error = traceback.format_exc()
        barrier.abort()
    results.put((slot, result))


def contested_process(url: str, work: str, jobs: list[PayerJob], barrier: Any,
                      results: Any, slot: int, bank: int) -> None:
    """One of two payers starting each of ``jobs``' invoices at the same moment as the
    other; whoever gets the payment pays it, the other keeps the refusal's message."""
    result = PayerResult()
    try:
        from core.errors import DomainError

        app = _payer_app(url, work, bank)
        from core import customer_api  # noqa: F401 - imported before the first release
        with app.engine.connect() as warm:
            warm.exec_driver_sql("SELECT 1")
        for job in jobs:
            barrier.wait(RELEASE_TIMEOUT)
            try:
                result.statuses.append(_pay(app, job, lambda _step, call: call()))
            except DomainError as refused:
                result.refusals.append(str(refused))
        app.engine.dispose()
    except BaseException:  # noqa: BLE001
        result.error = traceback.format_exc()
        barrier.abort()
    results.put((slot, result))


# --- in the suite's process ----------------------------------------------------------

def _run_processes(target: Callable[..., None], url: str, work: Path,
                   shares: list[list[PayerJob]]) -> list[PayerResult]:
    ctx = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited engine
    barrier = ctx.Barrier(len(shares))
    queue = ctx.Queue()
    processes = [ctx.Process(target=target, args=(url, str(work), share, barrier, queue, n,
                                                  next(_banks)))
                 for n, share in enumerate(shares)]
    start_spawned(processes)
    got: dict[int, PayerResult] = {}
    deadline = time.monotonic() + RELEASE_TIMEOUT * 3
    try:
        while len(got) < len(processes):
            try:
                slot, result = queue.get(timeout=1)
                got[slot] = result
                continue
            except queue_module.Empty:
                pass
            dead = [n for n, p in enumerate(processes)
                    if n not in got and p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"payer processes {dead or 'all'} ended without a result "
                                   "(see their traceback above)")
    finally:
        for p in processes:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    errors = [r.error for r in got.values() if r.error]
    if errors:
        raise RuntimeError("a payer process failed:\n" + "\n".join(errors))
    return [got[n] for n in range(len(shares))]


def _payers(app: Any, count: int) -> list[PayerJob]:
    """Cabinets with one unpaid invoice each, all of one provider (the busiest case: a
    city's water company), built through the services before any clock runs."""
    from tests.factories.billing import make_provider
    from tests.factories.payment_flow import payer

    provider = make_provider(app)
    made = [payer(app, provider_id=provider) for _ in range(count)]
    return [PayerJob(p.token, p.customer_id, p.invoice_id) for p in made]


def _second_session(app: Any, job: PayerJob) -> PayerJob:
    """Another login into the same cabinet (a second device): its own session row."""
    from core import customer_api as api
    from core.db.models import Customer
    from tests.factories.customers import PASSWORD

    with app.uow(write=False) as uow:
        customer = uow.session.get(Customer, job.customer_id)
        assert customer is not None
        email = customer.email
    login = api.login(app, email, PASSWORD)
    return PayerJob(login.session_token, job.customer_id, job.invoice_id)


def _quantile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


@dataclass
class Level:
    payers: int
    results: list[PayerResult]

    @property
    def payments(self) -> int:
        return sum(len(r.statuses) for r in self.results)

    def rate(self) -> float:
        return self.payments / (max(r.ended for r in self.results)
                                - min(r.started for r in self.results))

    def raw_rate(self) -> float:
        return self.payments / (max(r.raw_ended for r in self.results)
                                - min(r.raw_started for r in self.results))

    def times(self, step: str, *, raw: bool = False) -> list[float]:
        return [t for r in self.results for t in (r.raw_steps if raw else r.steps)[step]]


def measure(url: str, work: Path, payments: int = PAYMENTS, levels: tuple[int, ...] = LEVELS,
            contested: int = CONTESTED) -> tuple[list[Level], list[PayerResult]]:
    """Runs every level and the race on ``url`` (a migrated PostgreSQL database); the raw
    measurements, checked: every payment paid, no process failed."""
    from core.config import FAST_HASHING

    app = bench_app(url, work, FAST_HASHING)
    with app.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS bench_raw_payments (id bigserial "
                             "PRIMARY KEY, status text, amount bigint, version int DEFAULT 1)")
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS bench_raw_events (id bigserial "
                             "PRIMARY KEY, payment_id bigint, event text, at timestamptz)")
    jobs = _payers(app, (payments + 1) * sum(levels))  # + each process's warm-up
    race = [(job, _second_session(app, job)) for job in _payers(app, contested)]
    app.engine.dispose()
    measured: list[Level] = []
    for n in levels:
        mine, jobs = jobs[:(payments + 1) * n], jobs[(payments + 1) * n:]
        level = Level(n, _run_processes(payer_process, url, work,
                                        [mine[k::n] for k in range(n)]))
        paid = [s for r in level.results for s in r.statuses]
        if paid != ["succeeded"] * payments * n:
            raise RuntimeError(f"{n} payers: not every payment succeeded: {paid}")
        measured.append(level)
    contest = _run_processes(contested_process, url, work,
                             [[a for a, _ in race], [b for _, b in race]])
    _check_race(contest, contested)
    return measured, contest


def _check_race(contest: list[PayerResult], invoices: int) -> None:
    """Per invoice one charge; the other payer refused by the domain's message."""
    charged = sum(s == "succeeded" for r in contest for s in r.statuses)
    refusals = [m for r in contest for m in r.refusals]
    if charged != invoices or len(refusals) != invoices:
        raise RuntimeError(f"the race of two payers: {charged} charged of {invoices} "
                           f"invoices, refusals {refusals}, statuses "
                           f"{[r.statuses for r in contest]}")


def figures(levels: list[Level], contest: list[PayerResult]) -> list[Figure]:
    out: list[Figure] = []
    cores = os.cpu_count() or 1
    for level in levels:
        shape = "+".join(str(level.results[0].commits[s]) for s in STEPS)
        target = ("reported" if level is levels[0] else
                  f"grows with payers up to the {cores} cores" if level.payers <= cores
                  else f"holds above the {cores} cores")
        out.append(figure(
            f"payments at once on PostgreSQL: {level.payers} payer(s), "
            f"{level.payments} payments", level.rate(), "payments/s",
            f"bare INSERT+UPDATE transactions ({shape} per step), same processes",
            level.raw_rate(), target, digits=1))
    for level in levels:
        for step in STEPS:
            ours, raw = level.times(step), level.times(step, raw=True)
            for q in (0.5, 0.95):
                target = ("< 200 ms" if step == "confirm" and q == 0.95 and level.payers == 4
                          else "reported")
                out.append(figure(
                    f"payments at once: {level.payers} payer(s), «{step}» p{round(q * 100)}",
                    _quantile(ours, q) * 1000, "ms",
                    "its bare transactions, same percentile", _quantile(raw, q) * 1000,
                    target))
    succeeded = sum(s == "succeeded" for r in contest for s in r.statuses)
    invoices = len(contest[0].statuses) + len(contest[0].refusals)
    out.append(figure(
        f"2 payers start one invoice at once ({invoices} invoices): payments charged "
        "per invoice", succeeded / invoices, "payments", "one charge per invoice", 1.0,
        "== 1, the other payer refused in Russian", digits=2))
    return out




def run(database_url: str, work: Path, payments: int = PAYMENTS,
        levels: tuple[int, ...] = LEVELS, contested: int = CONTESTED) -> list[Figure]:
    """The part, on a database of its own on ``database_url``'s server."""
    with own_database(database_url, "payers") as url:
        return figures(*measure(url, work, payments, levels, contested))
