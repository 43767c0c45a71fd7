"""The worker: periodic jobs (outbox sending, payment recovery, expiry) in one loop.

``python -m core worker`` builds the app and calls ``main(app, jobs)``. Each job runs
when due — the first time right at start, then every ``job.every`` — measured with
``time.monotonic()``: the app's clock may be frozen (tests) or jump (NTP), and neither
should stop or burst the schedule. A job that raises is logged and retried at its next
due time; the other jobs go on. SIGTERM/SIGINT end the loop after the job in progress.
"""
from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import FrameType

from core.app import App
from core.notifications.outbox import send_pending

LOG = logging.getLogger("core.worker")
OUTBOX_EVERY = timedelta(seconds=5)


@dataclass(frozen=True)
class Job:
    """A periodic job; ``run``'s result is logged (a report dataclass, a count...)."""

    name: str
    every: timedelta
    run: Callable[[App], object]

    def __post_init__(self) -> None:
        if self.every <= timedelta(0):
            raise ValueError(f"job {self.name}: the interval must be positive")


@dataclass
class WorkerStats:
    """Per job name: ``runs`` counts every attempt, ``failures`` those that raised."""

    runs: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return ", ".join(f"{name}: {count} runs, {self.failures.get(name, 0)} failed"
                         for name, count in self.runs.items()) or "no jobs"


def run_worker(app: App, jobs: Sequence[Job], *, stop: threading.Event, tick: float = 1.0,
               log: logging.Logger = LOG) -> WorkerStats:
    """Run ``jobs`` when due until ``stop`` is set; ``tick`` caps a single sleep."""
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique: {names}")
    stats = WorkerStats(runs=dict.fromkeys(names, 0), failures=dict.fromkeys(names, 0))
    start = time.monotonic()
    due = dict.fromkeys(names, start)
    while not stop.is_set():
        for job in jobs:
            if stop.is_set():
                break
            started = time.monotonic()
            if started >= due[job.name]:
                _run_one(app, job, stats, log)
                # From the start, not the end, so a job's own duration does not drift
                # the schedule; an overrun job runs again once, never in a burst.
                due[job.name] = started + job.every.total_seconds()
        stop.wait(_sleep_for(due, tick))
    return stats


def _run_one(app: App, job: Job, stats: WorkerStats, log: logging.Logger) -> None:
    stats.runs[job.name] += 1
    try:
        result = job.run(app)
    except Exception:  # one broken job must not stop the others
        stats.failures[job.name] += 1
        log.exception("job %s failed", job.name)
        return
    log.info("job %s: %s", job.name, result)


def _sleep_for(due: dict[str, float], tick: float) -> float:
    if not due:
        return tick
    return max(0.0, min(min(due.values()) - time.monotonic(), tick))


def install_signal_handlers(stop: threading.Event,
                            log: logging.Logger = LOG) -> Callable[[], None]:
    """SIGTERM and SIGINT set ``stop``. Main thread only. Returns a function that
    puts the previous handlers back.

    The handler does not call ``stop.set()`` itself: a Python signal handler runs in
    the main thread between two bytecodes, possibly while that thread holds the event's
    internal lock inside ``stop.wait()``, and ``set()`` would then deadlock on it. It
    puts the signal into a ``SimpleQueue`` (whose ``put`` is reentrant, made for such
    callers) and a helper thread sets the event.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("signal handlers can only be installed from the main thread")
    received: queue.SimpleQueue[int | None] = queue.SimpleQueue()

    def relay() -> None:
        while (signum := received.get()) is not None:
            log.info("received %s, stopping", signal.Signals(signum).name)
            stop.set()

    def handler(signum: int, frame: FrameType | None) -> None:
        received.put(signum)

    threading.Thread(target=relay, name="worker-signals", daemon=True).start()
    previous = {signum: signal.signal(signum, handler)
                for signum in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)
        received.put(None)  # ends the relay thread

    return restore


def outbox_job() -> Job:
    """Send the due SMS and e-mails of the outbox."""
    return Job("outbox", OUTBOX_EVERY, send_pending)


def main(app: App, jobs: Sequence[Job], *, tick: float = 1.0,
         log: logging.Logger = LOG) -> int:
    """The worker process: handlers, the loop, a final line with the counts. Returns 0."""
    stop = threading.Event()
    restore = install_signal_handlers(stop, log)
    log.info("worker started: %s", ", ".join(
        f"{job.name} every {job.every.total_seconds():g} s" for job in jobs) or "no jobs")
    try:
        stats = run_worker(app, jobs, stop=stop, tick=tick, log=log)
    finally:
        restore()
    log.info("worker stopped (%s)", stats)
    return 0
