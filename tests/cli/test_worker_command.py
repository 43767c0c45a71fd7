"""``python -m core worker`` for real: the payment jobs run beside the outbox, a
payment whose answer was lost in another process is settled, SIGTERM stops it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.jobs import all_jobs

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_runs_every_periodic_job() -> None:
    names = [job.name for job in all_jobs()]
    assert names == ["outbox", "payments.recover", "payments.expire", "refunds.retry",
                     "card_bindings.release_holds", "receipts.fiscalise", "ledger.settle", "db.statistics",
                     "analytics.invoices", "analytics.invoices.all", "subscriptions.counts"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "APP_SECRETS_FILE": str(tmp_path / "secrets.toml"),
            "NOTIFY_LOG_DIR": str(tmp_path), "GATEWAY_STATE_FILE": str(tmp_path / "acq.pickle"),
            "APP_FAST_HASHING": "1"}


def test_worker_command_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([sys.executable, "-m", "core", "db", "upgrade"], cwd=PROJECT_ROOT, env=env,
                   check=True, capture_output=True)
    worker = subprocess.Popen([sys.executable, "-m", "core", "worker"], cwd=PROJECT_ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        deadline = time.monotonic() + 30
        seen = ""
        assert worker.stdout is not None
        while time.monotonic() < deadline and "job receipts.fiscalise" not in seen:
            seen += worker.stdout.readline()
        assert "job payments.recover: checked 0" in seen
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0
    assert "worker stopped" in seen + out
