"""The demo leaves the rollups in step with its bulk-loaded payments, and
``python -m core analytics rebuild`` recomputes them (a real process, a real file)."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, select

from core.db.models import Payment, PaymentDailyStat
from core.analytics.rollups import OUTCOME

ROOT = Path(__file__).resolve().parents[2]


def _core(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _totals(url: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(payments, charged amount) from the rollups and from the raw payments."""
    engine = create_engine(url)
    charged = [s for s, outcome in OUTCOME.items() if outcome == "succeeded"]
    with engine.connect() as conn:
        rolled = conn.execute(select(func.coalesce(func.sum(PaymentDailyStat.payments), 0),
                                     func.coalesce(func.sum(PaymentDailyStat.amount), 0))).one()
        final = conn.scalar(select(func.count()).select_from(Payment)
                            .where(Payment.status.in_(list(OUTCOME))))
        amount = conn.scalar(select(func.coalesce(func.sum(Payment.amount), 0))
                             .where(Payment.status.in_(charged)))
    engine.dispose()
    return (int(rolled[0]), int(rolled[1])), (int(final or 0), int(amount or 0))


def test_demo_rollups_and_the_rebuild_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = dict(os.environ, DATABASE_URL=url, APP_SECRETS_FILE=str(tmp_path / "secrets.toml"),
               APP_FAST_HASHING="1", NOTIFY_LOG_DIR=str(tmp_path),
               GATEWAY_STATE_FILE=str(tmp_path / "acquirer.db"))
    assert _core(env, "db", "upgrade").returncode == 0
    demo = _core(env, "demo", "--customers", "80", "--seed", "5")
    assert demo.returncode == 0, demo.stderr
    rolled, raw = _totals(url)
    assert raw[0] > 0 and rolled == raw  # the demo rebuilt the rollups at its end

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(PaymentDailyStat.__table__.delete())
    engine.dispose()
    assert _totals(url)[0] == (0, 0)
    done = _core(env, "analytics", "rebuild")
    assert done.returncode == 0, done.stderr
    assert "Сводки платежей по дням пересчитаны" in done.stdout
    assert _totals(url)[0] == raw

    since = _core(env, "analytics", "rebuild", "--since", date(2026, 11, 1).isoformat())
    assert since.returncode == 0 and "с 01.11.2026" in since.stdout
    assert _totals(url)[0] == raw
    bad = _core(env, "analytics", "rebuild", "--since", "01.11.2026")
    assert bad.returncode == 2 and "--since" in bad.stderr
