"""The worker loop: schedule, failure isolation, prompt stop, a real process and SIGTERM."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from core.notifications.channels import Channel
from core.notifications.outbox import SendReport, enqueue
from core.worker import (
    OUTBOX_EVERY, Job, WorkerStats, install_signal_handlers, outbox_job, run_worker,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FAST = timedelta(seconds=0.05)


def run_for(app, jobs: list[Job], seconds: float, **kwargs) -> WorkerStats:
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return run_worker(app, jobs, stop=stop, **kwargs)
    finally:
        timer.cancel()


def test_a_failing_job_is_logged_and_does_not_stop_the_others(app, caplog) -> None:
    def boom(_app) -> None:
        raise RuntimeError("сломалось")

    caplog.set_level(logging.INFO, logger="core.worker")
    stats = run_for(app, [Job("boom", FAST, boom), Job("ok", FAST, lambda _app: 7)], 0.3)
    assert stats.runs["boom"] >= 3 and stats.failures["boom"] == stats.runs["boom"]
    assert stats.runs["ok"] >= 3 and stats.failures["ok"] == 0
    failures = [r for r in caplog.records if r.getMessage() == "job boom failed"]
    assert len(failures) == stats.failures["boom"] and failures[0].exc_info is not None
    assert any(r.getMessage() == "job ok: 7" for r in caplog.records)


def test_jobs_run_at_their_own_intervals_the_first_time_at_once(app) -> None:
    stats = run_for(app, [Job("fast", FAST, lambda _app: None),
                          Job("slow", timedelta(hours=1), lambda _app: None)], 0.3)
    assert stats.runs["slow"] == 1
    assert 3 <= stats.runs["fast"] <= 8  # 0.3 s / 0.05 s ~ 6, with slack for a busy machine


def test_the_schedule_ignores_the_app_clock(app, clock) -> None:
    # The app clock is frozen here: a schedule on it would never come due again.
    stats = run_for(app, [Job("fast", FAST, lambda _app: clock.now())], 0.2)
    assert stats.runs["fast"] >= 3


def test_stop_ends_the_loop_promptly_even_with_a_long_tick(app) -> None:
    stop = threading.Event()
    result: list[WorkerStats] = []
    worker = threading.Thread(target=lambda: result.append(run_worker(
        app, [Job("hourly", timedelta(hours=1), lambda _app: None)], stop=stop, tick=60)))
    worker.start()
    time.sleep(0.1)
    stopped_at = time.monotonic()
    stop.set()
    worker.join(timeout=5)
    assert not worker.is_alive() and time.monotonic() - stopped_at < 1
    assert result[0].runs == {"hourly": 1}


def test_a_job_in_progress_finishes_before_the_loop_stops(app) -> None:
    stop = threading.Event()
    done: list[str] = []

    def slow(_app) -> None:
        stop.set()  # a stop arriving mid-job
        done.append("finished")

    stats = run_worker(app, [Job("slow", FAST, slow), Job("next", FAST, lambda _app: None)],
                       stop=stop)
    assert done == ["finished"] and stats.runs == {"slow": 1, "next": 0}


def test_job_definitions_are_checked(app) -> None:
    with pytest.raises(ValueError):
        Job("zero", timedelta(0), lambda _app: None)
    with pytest.raises(ValueError):
        run_worker(app, [Job("x", FAST, print), Job("x", FAST, print)], stop=threading.Event())


def test_outbox_job_sends_due_messages(app, email_sender) -> None:
    with app.uow() as uow:
        enqueue(uow.session, now=app.now(), customer_id=None, channel=Channel.EMAIL,
                topic="test", recipient="ivanov@example.ru", subject="Проверка",
                body="Проверка связи")
        uow.commit()
    job = outbox_job()
    assert (job.name, job.every) == ("outbox", OUTBOX_EVERY)
    stats = run_for(app, [job], 0.1)
    assert stats.runs == {"outbox": 1} and stats.failures == {"outbox": 0}
    assert [m.recipient for m in email_sender.sent] == ["ivanov@example.ru"]
    assert job.run(app) == SendReport(sent=0, failed=0, retrying=0)


def test_signal_handlers_set_the_event_and_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    stop = threading.Event()
    restore = install_signal_handlers(stop)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(2)
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) is before


def test_signal_handlers_refuse_other_threads() -> None:
    errors: list[BaseException] = []

    def install() -> None:
        try:
            install_signal_handlers(threading.Event())
        except RuntimeError as error:
            errors.append(error)

    thread = threading.Thread(target=install)
    thread.start()
    thread.join()
    assert len(errors) == 1


WORKER_PROCESS = """
import logging, sys
from datetime import timedelta
from pathlib import Path
from core.app import build_app
from core.config import FAST_HASHING, Settings
from core.db.engine import make_engine
from core.db.migrate import upgrade
from core.worker import Job, main, outbox_job

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
tmp = Path(sys.argv[1])
url = f"sqlite:///{tmp / 'worker.db'}"
engine = make_engine(url)
upgrade(engine)
engine.dispose()
app = build_app(Settings(database_url=url, secrets_file=tmp / "secrets.toml",
                         notify_log_dir=tmp, hashing=FAST_HASHING))
beats = tmp / "beats.txt"

def beat(_app):
    with beats.open("a") as file:
        file.write("beat\\n")
    return "beat"

sys.exit(main(app, [Job("beat", timedelta(seconds=0.05), beat), outbox_job()]))
"""


def test_a_real_worker_process_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    beats = tmp_path / "beats.txt"
    worker = subprocess.Popen([sys.executable, "-c", WORKER_PROCESS, str(tmp_path)],
                              cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.poll() is None:
            if beats.exists() and beats.read_text().count("beat") >= 3:
                break
            time.sleep(0.05)
        assert worker.poll() is None, worker.communicate()[1]
        assert beats.read_text().count("beat") >= 3
        worker.send_signal(signal.SIGTERM)
        _, log = worker.communicate(timeout=5)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, log
    assert "received SIGTERM, stopping" in log
    assert "job outbox: SendReport(sent=0, failed=0, retrying=0, skipped=0)" in log
    assert "worker stopped (beat: " in log and "outbox: 1 runs, 0 failed" in log
