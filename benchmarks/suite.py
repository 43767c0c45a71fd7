"""``python -m benchmarks --scale small|full`` — prints a table, writes results/latest.json.

Every figure is measured beside a raw baseline in the same run and reported as a ratio
(the machine is shared and noisy: ratios travel between runs, seconds do not):
- the scale data set's load (``benchmarks.load``): rows/s vs raw sqlite3 executemany;
- search by phone, e-mail, personal account, payment number; every dashboard page's
  warm script run (AppTest, logged in) vs its main query; the dashboard's peak memory
  (``benchmarks.pages``) — all on that data set;
- the staff session check (every rerun) vs a bare primary-key SELECT;
- registration (argon2id hashes) vs the hashing alone;
- Excel export 100,000 rows vs the bare writer, XLSX/CSV import vs the bare reader
  (``benchmarks.excel``);
- the payment flow end to end vs raw small transactions (``benchmarks.payment_flow``);
- on PostgreSQL, 1, 2, 4 and 8 payers paying at once (processes): payments/s and each
  step's p50/p95 vs bare transactions of the same shape, and two payers racing for one
  invoice (``benchmarks.payment_concurrency``);
- on PostgreSQL, 1, 2 and 3 worker processes draining the outbox and recovering lost
  payments side by side: messages/s and payments/s vs one process's bare
  UPDATE … SKIP LOCKED loop (``benchmarks.workers``);
- reconciliation of a 1,000,000-line registry vs a bare merge (``benchmarks.reconciliation``);
- time to content in a real browser (Playwright + Debian's chromium), every page cold and
  warm, login, cards, search, export, the cabinet, and Django admin as the peer, vs bare
  Streamlit pages (``benchmarks.browser``; what each view waited for goes to "profile").

With ``DATABASE_URL`` (or ``--database-url``) pointing at PostgreSQL, the data set and
everything measured on it go there (the database is emptied first: never point it at
production); without, a temporary SQLite file.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from benchmarks import (browser, excel, load, pages, payment_concurrency, payment_flow,
                        reconciliation)
from benchmarks import workers
from benchmarks.common import Figure, bench_app, median_ms
from core.config import FAST_HASHING
from core.db.engine import make_engine
from core.db.migrate import upgrade
from core.actors import StaffRole

RESULTS = Path(__file__).resolve().parent / "results"
NEEDS_DATA_SET = {"load", "pages", "session", "browser"}
SCALES = ("small", "full")
CONCURRENT_PAYMENTS = {"small": 30, "full": 100}  # per payer and level


def bench_session_check(database_url: str, work: Path) -> Figure:
    """Runs on every dashboard rerun: the staff session behind the cookie."""
    from sqlalchemy import text

    from core.staff import members
    from tests.factories.customers import STAFF_PASSWORD, make_staff

    app = bench_app(database_url, work, FAST_HASHING)
    member = make_staff(app, StaffRole.AGENT)
    token = members.login(app, member.login, STAFF_PASSWORD).session_token
    with app.engine.connect() as conn:
        ours = median_ms(lambda: members.check_session(app, token), repeat=200)
        base = median_ms(lambda: conn.execute(text(
            "SELECT * FROM staff_sessions WHERE id = 1")).fetchall(), repeat=200)
    app.engine.dispose()
    return Figure("staff session check per rerun", round(ours, 3), "ms", "bare PK select",
                  round(base, 3), round(ours / base, 1), "< 5 ms")


def bench_registration(work: Path, count: int) -> Figure:
    from core.customers import cabinet
    from tests.factories.customers import registration

    url = f"sqlite:///{work / 'reg.db'}"
    upgrade(make_engine(url))
    app = bench_app(url, work)  # production hashing cost: that is what a registration costs
    start = time.perf_counter()
    for _ in range(count):
        cabinet.register(app, registration())
    ours = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(count):
        app.customer_hasher.hash("Zx9kq3vb")
        app.customer_hasher.hash("ромашка")
    base = count / (time.perf_counter() - start)
    return Figure("registration", round(ours, 1), "registrations/s", "the two argon2id hashes alone",
                  round(base, 1), round(ours / base, 3), ">= 0.8 (hashing dominates)")


def _database(database_url: str | None) -> str | None:
    """The PostgreSQL to run on, if any; a SQLite DATABASE_URL (the dashboard's own file)
    is never used: the suite empties the database it loads."""
    url = database_url or os.environ.get("DATABASE_URL")
    return url if url and url.startswith("postgresql") else None


def machine(database_url: str) -> dict[str, object]:
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    with engine.connect() as conn:
        server = (conn.exec_driver_sql("SHOW server_version").scalar()
                  if engine.dialect.name == "postgresql" else sqlite3.sqlite_version)
    engine.dispose()
    libraries = {name: metadata.version(name) for name in (
        "streamlit", "sqlalchemy", "pandas", "numpy", "plotly", "xlsxwriter", "openpyxl",
        "python-calamine", "psycopg", "streamlit-authenticator")}
    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "libraries": libraries,
            "database": {"dialect": engine.dialect.name, "version": server}}


def _step(title: str, run: Callable[[], list[Figure]], figures: list[Figure]) -> None:
    print(f"… {title}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    got = run()
    figures.extend(got)
    print(f"  {title}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)


def _merge_by_database(results: Path, scale: str, report: dict[str, object]) -> Path:
    """Also kept per scale and database (``full-postgresql.json``…), merged by figure name:
    a run of one part (``--only pages``) replaces that part's figures and keeps the others,
    so a PostgreSQL run never overwrites the SQLite figures the README quotes."""
    dialect = report["machine"]["database"]["dialect"]  # type: ignore[index]
    path = results / f"{scale}-{dialect}.json"
    figures: dict[str, object] = {}
    if path.exists():
        figures = {f["name"]: f for f in json.loads(path.read_text())["figures"]}
    figures.update({f["name"]: f for f in report["figures"]})  # type: ignore[attr-defined]
    merged = {**report, "figures": list(figures.values())}
    path.write_text(json.dumps(merged, ensure_ascii=False, indent=2))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--database-url", help="PostgreSQL to run on (emptied first!)")
    parser.add_argument("--only", action="append", default=[],
                        help="run only these parts: load, pages, session, registration, workers, "
                             "excel, payments, reconciliation, browser")
    args = parser.parse_args(argv)
    pg = _database(args.database_url)
    wanted = set(args.only) or {"load", "pages", "session", "registration", "excel", "workers",
                                "payments", "reconciliation", "browser"}
    figures: list[Figure] = []
    profile: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        built: dict[str, str] = {}

        def data_set() -> list[Figure]:
            got, built["url"] = load.build(work, args.scale, pg)
            return got

        # Only the parts that read the data set wait for its build (minutes at full scale).
        if wanted & NEEDS_DATA_SET:
            _step("data set", data_set, figures)
            if "load" not in wanted:
                figures.clear()
        url = built.get("url") or pg or f"sqlite:///{work / 'machine.db'}"
        if "pages" in wanted:
            _step("search", lambda: pages.bench_search(url, work), figures)
            _step("pages", lambda: pages.bench_pages(url, work), figures)
            _step("customer card", lambda: [pages.bench_customer_card(url, work)], figures)
            _step("memory", lambda: [pages.bench_memory(url, work)], figures)
        if "session" in wanted:
            _step("session check", lambda: [bench_session_check(url, work)], figures)
        if "registration" in wanted:
            _step("registration", lambda: [bench_registration(work, 20)], figures)
        if "excel" in wanted:
            _step("excel", lambda: excel.run(work, args.scale), figures)
        if "payments" in wanted:
            _step("payment flow", lambda: payment_flow.run(work, args.scale), figures)
            if pg:
                _step("payments at once",
                      lambda: payment_concurrency.run(pg, work, CONCURRENT_PAYMENTS[args.scale]),
                      figures)
            else:
                print("  payments at once: skipped, SQLite has one writer at a time (its "
                      "BEGIN IMMEDIATE serialises payers); give --database-url "
                      "postgresql+psycopg://…", file=sys.stderr, flush=True)
        if "workers" in wanted:
            _step("workers side by side", lambda: workers.run(pg, work, args.scale),
                  figures)
        if "reconciliation" in wanted:
            _step("reconciliation",
                  lambda: reconciliation.run(work, args.scale, pg), figures)
        if "browser" in wanted:
            why = browser.available()
            if why is None:
                _step("browser", lambda: browser.run(url, work, args.scale, profile), figures)
            else:
                print(f"… browser: skipped, {why}", file=sys.stderr, flush=True)
        report = {"scale": args.scale, "machine": machine(url),
                  "figures": [asdict(f) for f in figures]}
        if profile:
            report["profile"] = {"browser": profile}
    print(f"{'figure':70} {'value':>10} {'unit':12} {'baseline':>10}  {'ratio':>8}  target")
    for f in figures:
        print(f"{f.name[:70]:70} {f.value:>10} {f.unit[:12]:12} {f.baseline_value:>10}  "
              f"{f.ratio:>8}  {f.target}")
    RESULTS.mkdir(exist_ok=True)
    written = json.dumps(report, ensure_ascii=False, indent=2)
    (RESULTS / "latest.json").write_text(written)
    _merge_by_database(RESULTS, args.scale, report)
    return 0
