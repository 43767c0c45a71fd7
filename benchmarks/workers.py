"""Several worker processes on one PostgreSQL (``--only workers``; PostgreSQL only).

The worker's jobs claim their due rows with SKIP LOCKED and a lease (core.db.leases),
so workers may run side by side. This part starts 1, 2 and 3 worker processes
(``multiprocessing``, spawned) against a database of its own, each running the real
jobs (``outbox``: ``send_pending`` with the log-file senders; ``payments.recover``:
``recover_due``, each payment's status asked of a bank stub that says «charged»,
its receipt signed by the process's own fiscal register) in a loop until nothing is
due, and measures messages sent per second and payments recovered per second, from
the moment all processes are ready to the last one's finish.

Baseline, same run and database: one process taking the same number of rows with a
bare ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT 50) RETURNING``
loop (psycopg, a commit per batch): what claiming alone costs, without sending,
ledger postings or receipts.

``drain`` is also what the test of three workers at once runs
(tests/cli/test_worker_processes.py): it returns what every sender, bank and register
received, so the test can assert that nothing was sent, asked or signed twice.
"""
from __future__ import annotations

import multiprocessing
import os
import re
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, figure, own_database, start_spawned
from tests.factories.dbstate import empty_postgresql

# Full: the 10,000 messages and 1,000 pending payments; small: a tenth.
SIZES = {"small": (1_000, 100), "full": (10_000, 1_000)}
PROCESSES = (1, 2, 3)
IDLE_ROUNDS = 2  # rounds with nothing claimed before a worker stops
READY_TIMEOUT = 120
_SENT_LINE = re.compile(r" #(\d+) ")


# --- the database ---------------------------------------------------------------------



def seed(url: str, work: Path, messages: int, payments: int) -> None:
    """``messages`` queued SMS and e-mails due now, and ``payments`` pending payments
    whose answer was lost (due a check now, each with its gateway transaction)."""
    from sqlalchemy import insert

    from benchmarks.common import bench_app
    from core.config import FAST_HASHING
    from core.db.models import OutboxMessage, Payment
    from core.notifications.channels import Channel, MessageStatus
    from tests.factories.billing import make_provider

    app = bench_app(url, work, FAST_HASHING)
    now = datetime.now(timezone.utc)
    provider_id = make_provider(app)
    with app.engine.begin() as conn:
        if messages:
            conn.execute(insert(OutboxMessage.__table__), [dict(
                customer_id=None, channel=Channel.SMS if i % 2 else Channel.EMAIL,
                topic="invoice", recipient=f"+7999{i:07d}" if i % 2 else f"p{i}@example.ru",
                subject=None if i % 2 else "Счёт", body=f"Счёт № {i}: 1 234,56 ₽",
                status=MessageStatus.QUEUED, attempts=0, created_at=now,
                next_attempt_at=now - timedelta(seconds=1)) for i in range(messages)])
        if payments:
            conn.execute(insert(Payment.__table__), [dict(
                idempotency_key=f"bench-workers-{i}", request_fingerprint="0" * 64,
                customer_id=None, receipt_email=f"r{i}@example.ru", provider_id=provider_id,
                account_number=f"{1_000_000_000 + i}", amount=150_000, commission=1_500,
                status="pending", card_brand="VISA", masked_pan="411111******1111",
                gateway_txn_id=f"bench-txn-{i}", refunded_amount=0,
                created_at=now - timedelta(minutes=10), updated_at=now - timedelta(minutes=10),
                next_check_at=now - timedelta(seconds=1), check_attempts=0,
                manual_review=False, version=1) for i in range(payments)])
    app.engine.dispose()


# --- a worker process --------------------------------------------------------------------

class ChargedBank:
    """The acquirer as recovery meets it: every lost payment was charged. Each question
    is written down (one line per status call) so duplicates can be counted."""

    def __init__(self, log: Path) -> None:
        self._log = log

    def status(self, gateway_txn_id: str):  # type: ignore[no-untyped-def]
        from core.payments import gateway as g

        with self._log.open("a", encoding="utf-8") as handle:
            handle.write(f"{gateway_txn_id}\n")
        return g.StatusResponse(g.TxnStatus.SUCCEEDED, gateway_txn_id, amount_kopecks=151_500,
                                rrn=gateway_txn_id[-12:], auth_code="123456")

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the worker benchmark's bank is not asked to {name}")


class LoggedRegister:
    """The process's own fiscal register, writing down each receipt it signs."""

    def __init__(self, log: Path) -> None:
        from core.clock import SystemClock
        from core.payments.fiscal import FiscalSimulator

        self._log = log
        self._register = FiscalSimulator(SystemClock(),
                                         fiscal_drive_number=f"99990789{os.getpid():08d}"[-16:])

    def register(self, request):  # type: ignore[no-untyped-def]
        with self._log.open("a", encoding="utf-8") as handle:
            handle.write(f"{request.receipt_number}\n")
        return self._register.register(request)


def worker(url: str, work: str, jobs: tuple[str, ...], ready: Any, go: Any,
           results: Any) -> None:
    """One worker process: the real jobs in a loop until nothing is due; puts
    (pid, finished at, counts) or an error's traceback on ``results``."""
    try:
        from benchmarks.common import bench_app
        from core.config import FAST_HASHING
        from core.jobs import payment_jobs
        from core.notifications.channels import Channel
        from core.notifications.senders import LogFileSender
        from core.worker import outbox_job

        here = Path(work) / f"worker-{os.getpid()}"
        here.mkdir(parents=True, exist_ok=True)
        app = bench_app(url, here, FAST_HASHING)
        app.gateway = ChargedBank(here / "bank.log")  # type: ignore[assignment]
        app.fiscal = LoggedRegister(here / "register.log")  # type: ignore[assignment]
        app.senders = {Channel.SMS: LogFileSender(here / "sms.log", app.now),
                       Channel.EMAIL: LogFileSender(here / "email.log", app.now)}
        chosen = [job for job in (outbox_job(), *payment_jobs()) if job.name in jobs]
        ready.put(os.getpid())
        go.wait(READY_TIMEOUT)
        counts: Counter[str] = Counter()
        idle = 0
        while idle < IDLE_ROUNDS:
            claimed = 0
            for job in chosen:
                report = job.run(app)
                done = _claimed(report)
                counts[job.name] += done
                claimed += done
            idle = idle + 1 if claimed == 0 else 0
        finished = time.time()
        app.engine.dispose()
        results.put((os.getpid(), finished, dict(counts)))
    except BaseException:  # noqa: BLE001 - the parent reports it
        results.put((os.getpid(), 0.0, traceback.format_exc()))


def _claimed(report: object) -> int:
    """How many rows a job's run took: its report's sent/failed/retrying, or checked."""
    if hasattr(report, "checked"):
        return int(report.checked)  # type: ignore[attr-defined]
    return sum(int(getattr(report, name, 0)) for name in ("sent", "failed", "retrying",
                                                          "skipped"))


@dataclass(frozen=True)
class Drained:
    seconds: float  # from all processes ready to the last one's finish
    sent: Counter[int]  # message id -> times a sender wrote it
    asked: Counter[str]  # gateway txn -> times the bank was asked its status
    signed: Counter[int]  # receipt number -> times a register signed it
    counts: list[dict[str, int]]  # per process: rows each job took


def drain(url: str, work: Path, processes: int, jobs: tuple[str, ...]) -> Drained:
    """Start ``processes`` workers running ``jobs`` on ``url`` together; wait for all."""
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    work.mkdir(parents=True, exist_ok=True)
    started = [context.Process(target=worker, args=(url, str(work), jobs, ready, go, results),
                               daemon=True) for _ in range(processes)]
    start_spawned(started)
    try:
        for _ in started:
            ready.get(timeout=READY_TIMEOUT)
        start = time.time()
        go.set()
        outcomes = [results.get(timeout=600) for _ in started]
    finally:
        for process in started:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    failed = [o[2] for o in outcomes if isinstance(o[2], str)]
    if failed:
        raise RuntimeError("a worker process failed:\n" + "\n".join(failed))
    return Drained(seconds=max(o[1] for o in outcomes) - start, sent=_sent(work),
                   asked=_lines(work, "bank.log", str), signed=_lines(work, "register.log", int),
                   counts=[o[2] for o in outcomes])


def _sent(work: Path) -> Counter[int]:
    sent: Counter[int] = Counter()
    for log in [*work.glob("worker-*/sms.log"), *work.glob("worker-*/email.log")]:
        for line in log.read_text(encoding="utf-8").splitlines():
            match = _SENT_LINE.search(line)
            if match:
                sent[int(match.group(1))] += 1
    return sent


def _lines(work: Path, name: str, kind: type) -> Counter[Any]:
    found: Counter[Any] = Counter()
    for log in work.glob(f"worker-*/{name}"):
        found.update(kind(line) for line in log.read_text(encoding="utf-8").split())
    return found


# --- the baseline -------------------------------------------------------------------------

def bare_claims(url: str, table: str, set_clause: str, where: str) -> float:
    """Seconds for one process to take every due row of ``table`` by a bare
    UPDATE … SKIP LOCKED … RETURNING loop, 50 rows a batch, a commit each."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    start = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        while True:
            rows = conn.execute(
                f"UPDATE {table} SET {set_clause} WHERE id IN (SELECT id FROM {table} "
                f"WHERE {where} ORDER BY id LIMIT 50 FOR UPDATE SKIP LOCKED) RETURNING id"
            ).fetchall()
            conn.commit()
            if not rows:
                break
    return time.perf_counter() - start


OUTBOX_BARE = ("outbox_messages", "status = 'sent', attempts = attempts + 1, sent_at = now()",
               "status = 'queued' AND next_attempt_at <= now()")
PAYMENTS_BARE = ("payments", "status = 'succeeded', next_check_at = NULL, version = version + 1",
                 "status = 'pending' AND next_check_at <= now()")


# --- the part -------------------------------------------------------------------------------

def run(database_url: str | None, work: Path, scale: str = "small",
        sizes: tuple[int, int] | None = None,
        processes: tuple[int, ...] = PROCESSES) -> list[Figure]:
    """Messages/s and payments recovered/s with 1, 2 and 3 worker processes, each against
    one process's bare SKIP LOCKED loop over as many rows; [] on SQLite."""
    if not database_url or not database_url.startswith("postgresql"):
        print("  workers: skipped, PostgreSQL only (--database-url postgresql+psycopg://…): "
              "SQLite has one writer and no SKIP LOCKED", flush=True)
        return []
    messages, payments = sizes or SIZES[scale]
    figures: list[Figure] = []
    with own_database(database_url, "workers") as url:
        bare = {}
        for kind, count, (table, set_clause, where) in (
                ("messages", messages, OUTBOX_BARE), ("payments", payments, PAYMENTS_BARE)):
            empty_postgresql(url)
            seed(url, work, count if kind == "messages" else 0,
                 count if kind == "payments" else 0)
            bare[kind] = count / bare_claims(url, table, set_clause, where)
        single: dict[str, float] = {}
        for n in processes:
            for kind, count, jobs in (("messages", messages, ("outbox",)),
                                      ("payments", payments, ("payments.recover",))):
                empty_postgresql(url)
                seed(url, work, count if kind == "messages" else 0,
                     count if kind == "payments" else 0)
                got = drain(url, work / f"{kind}-{n}", n, jobs)
                done = sum(got.sent.values()) if kind == "messages" else sum(got.asked.values())
                twice = {name: sum(c - 1 for c in calls.values() if c > 1) for name, calls in (
                    ("sent", got.sent), ("asked", got.asked), ("signed", got.signed))}
                print(f"  workers: {kind}, {n} process(es): {done:,} in {got.seconds:.1f} s, "
                      f"twice: {twice}, per process: {got.counts}", flush=True)
                rate = done / got.seconds
                single.setdefault(kind, rate)
                what = ("outbox messages sent" if kind == "messages"
                        else "pending payments recovered")
                figures.append(figure(
                    f"workers: {what} by {n} process{'es' if n > 1 else ''} ({count:,})",
                    rate, f"{kind}/s", f"bare UPDATE … SKIP LOCKED loop, 1 process",
                    bare[kind], "grows with processes up to the cores; 0 twice"))
                if n > 1:
                    figures.append(figure(
                        f"workers: {what}, {n} processes vs 1", rate, f"{kind}/s",
                        "the same job in 1 process", single[kind], f"up to {n}x (cores: "
                        f"{os.cpu_count()})", digits=2))
    return figures
