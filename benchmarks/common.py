"""What every benchmark module shares: the figure record, a median timer, a test app."""
from __future__ import annotations

import statistics
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from core.customers.captcha import StaticCaptcha
from core.app import App, build_app
from core.config import HashingCost, Settings
from core.secrets import Secrets


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline_value: float
    ratio: float
    target: str


def median_ms(fn: Callable[[], object], repeat: int = 30) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_app(url: str, work: Path, hashing: HashingCost | None = None) -> App:
    settings = Settings(database_url=url, secrets_file=work / "secrets.toml",
                        notify_log_dir=work, hashing=hashing or HashingCost())
    return build_app(settings, captcha=StaticCaptcha("ok"),
                     secrets=Secrets(cookie_key="b" * 48, hmac_key=b"bench-key"))


def significant(x: float, digits: int = 4) -> float:
    """Rounded to ``digits`` significant digits: 0.0344 ms and 250,000 rows/s both keep
    their precision (a fixed number of decimals turned small baselines into 0.03)."""
    return float(f"{x:.{digits}g}")


def figure(name: str, value: float, unit: str, baseline_name: str, baseline_value: float,
           target: str, *, digits: int | None = None) -> Figure:
    """A figure with its ratio to the baseline (value / baseline); values rounded to four
    significant digits, or to ``digits`` decimals when given."""
    ratio = value / baseline_value if baseline_value else float("inf")
    shown = significant if digits is None else (lambda x: round(x, digits))
    return Figure(name, shown(value), unit, baseline_name, shown(baseline_value),
                  significant(ratio), target)


@contextmanager
def own_database(database_url: str, purpose: str) -> Iterator[str]:
    """A migrated PostgreSQL database of its own on the server of ``database_url``
    (``<name>_<purpose>_<random>``), dropped afterwards: the suite's own database may hold
    the data set other parts read."""
    import uuid

    from sqlalchemy import create_engine

    from core.db.engine import make_engine
    from core.db.migrate import upgrade

    base, _, name = database_url.rpartition("/")
    target = f"{name.split('?')[0]}_{purpose}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{target}"')
    try:
        url = f"{base}/{target}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        admin.dispose()


def start_spawned(processes: list[BaseProcess]) -> None:
    """Start spawned processes whatever this process's ``__main__`` is. A spawned child
    runs the parent's main script again unless it is a module run by name (as
    ``python -m benchmarks`` is); after AppTest ran ``dashboard/app.py`` in this process
    (the page benchmark, or a test before this one), ``__main__`` is that page script, and
    every child died re-running it. The children need nothing of it: their targets are
    imported by module name."""
    main = sys.modules["__main__"]
    replaced = getattr(main, "__spec__", None) is None and hasattr(main, "__file__")
    if replaced:
        sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        for process in processes:
            process.start()
    finally:
        if replaced:
            sys.modules["__main__"] = main
