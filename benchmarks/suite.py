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
- reconciliation of a 1,000,000-line registry vs a bare merge (``benchmarks.reconciliation``).

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

from benchmarks import load, pages, payment_flow, reconciliation
from benchmarks.common import Figure, bench_app, median_ms
from core.app import App
from core.config import FAST_HASHING
from core.db.engine import make_engine
from core.db.migrate import upgrade
from core.db.models import StaffRole

RESULTS = Path(__file__).resolve().parent / "results"
SCALES = ("small", "full")


def bench_session_check(database_url: str, work: Path) -> Figure:
    """Runs on every dashboard rerun: the staff session behind the cookie."""
    from sqlalchemy import text

    from core.services import staff
    from tests.factories import STAFF_PASSWORD, make_staff

    app = bench_app(database_url, work, FAST_HASHING)
    member = make_staff(app, StaffRole.AGENT)
    token = staff.login(app, member.login, STAFF_PASSWORD).session_token
    with app.engine.connect() as conn:
        ours = median_ms(lambda: staff.check_session(app, token), repeat=200)
        base = median_ms(lambda: conn.execute(text(
            "SELECT * FROM staff_sessions WHERE id = 1")).fetchall(), repeat=200)
    app.engine.dispose()
    return Figure("staff session check per rerun", round(ours, 3), "ms", "bare PK select",
                  round(base, 3), round(ours / base, 1), "< 5 ms")


def bench_registration(work: Path, count: int) -> Figure:
    from core.services import customers
    from tests.factories import registration

    url = f"sqlite:///{work / 'reg.db'}"
    upgrade(make_engine(url))
    app = bench_app(url, work)  # production hashing cost: that is what a registration costs
    start = time.perf_counter()
    for _ in range(count):
        customers.register(app, registration())
    ours = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(count):
        app.customer_hasher.hash("Zx9kq3vb")
        app.customer_hasher.hash("ромашка")
    base = count / (time.perf_counter() - start)
    return Figure("registration", round(ours, 1), "registrations/s", "the two argon2id hashes alone",
                  round(base, 1), round(ours / base, 3), ">= 0.8 (hashing dominates)")


INVOICE_ROWS = 50_000


def bench_invoice_import(work: Path) -> list[Figure]:
    """A 50,000-row billing registry (10,000 accounts x 5 services, «;», decimal comma):
    rows/s of ``import_billing_registry`` and of the CLI run, vs pandas.read_csv of the same
    file plus sqlite3 executemany of the same tuples into a bare table."""
    import subprocess
    import sys
    from datetime import datetime

    import pandas
    from sqlalchemy import insert

    from core.db.models import Provider, ProviderAccount
    from core.services.invoice_import import import_billing_registry
    from core.timefmt import MOSCOW

    services = (("Холодное водоснабжение", "м3", "52,70"), ("Горячее водоснабжение", "м3",
                                                            "248,15"),
                ("Водоотведение", "м3", "43,90"), ("Отопление", "Гкал", "3 053,44"),
                ("Электроэнергия", "кВт·ч", "6,92"))
    accounts = [f"{4_000_000_000 + n}" for n in range(INVOICE_ROWS // len(services))]

    def setup(name: str) -> tuple[App, int]:
        url = f"sqlite:///{work / name}"
        upgrade(make_engine(url))
        app = bench_app(url, work, FAST_HASHING)
        now = app.now()
        with app.uow() as uow:
            provider = Provider(name="Водоканал", inn="7801023456", contact_phone="8 800",
                                service_kind="water", account_pattern=r"\d{10}",
                                account_hint="10 цифр", created_at=now)
            uow.session.add(provider)
            uow.session.flush()
            uow.session.execute(insert(ProviderAccount.__table__), [
                dict(provider_id=provider.id, number=n, address="г. Пермь", payer_masked="И***в",
                     loaded_at=now) for n in accounts])
            uow.commit()
            return app, provider.id

    today = datetime.now(MOSCOW).date()
    period = f"{today.month:02d}.{today.year}"
    due = f"25.{today.month % 12 + 1:02d}.{today.year + today.month // 12}"
    lines = ["Лицевой счет;Период;Услуга;Ед. изм.;Объем;Тариф;Начислено;Перерасчет;"
             "Долг/аванс;Итого к оплате;Срок оплаты"]
    for i, account in enumerate(accounts):
        for j, (service, unit, tariff) in enumerate(services):
            kopecks = 10_000 + (i * 7919 + j * 13) % 500_000
            money = f"{kopecks // 100:,}".replace(",", " ") + f",{kopecks % 100:02d}"
            lines.append(f"{account};{period};{service};{unit};{i % 17},{j:03d};{tariff};"
                         f"{money};0,00;0,00;{money};{due}")
    path = work / "registry_50k.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    data = path.read_bytes()

    app, provider_id = setup("invoices.db")
    start = time.perf_counter()
    report = import_billing_registry(app, None, provider_id, path.name, data)
    ours = INVOICE_ROWS / (time.perf_counter() - start)
    assert report.saved and report.lines == INVOICE_ROWS, report.summary
    app.engine.dispose()

    cli_app, cli_provider = setup("invoices_cli.db")
    cli_app.engine.dispose()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{work / 'invoices_cli.db'}",
               APP_SECRETS_FILE=str(work / "secrets.toml"), NOTIFY_LOG_DIR=str(work))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "core", "invoices", "import", str(path),
                             "--provider", str(cli_provider)], env=env, capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[1])
    cli = INVOICE_ROWS / (time.perf_counter() - start)
    assert result.returncode == 0, result.stdout + result.stderr

    raw = sqlite3.connect(work / "raw_invoices.db")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("CREATE TABLE r (account, period, service, unit, volume, tariff, accrued,"
                " recalculation, debt, total, due_date)")
    start = time.perf_counter()
    frame = pandas.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    raw.executemany("INSERT INTO r VALUES (" + ",".join("?" * 11) + ")",
                    frame.itertuples(index=False, name=None))
    raw.commit()
    baseline = INVOICE_ROWS / (time.perf_counter() - start)
    raw.close()
    return [Figure("invoice import 50k (service)", round(ours), "rows/s",
                   "pandas.read_csv + sqlite3 executemany", round(baseline),
                   round(ours / baseline, 3), ">= 0.25 of raw"),
            Figure("invoice import 50k (CLI run)", round(cli), "rows/s",
                   "pandas.read_csv + sqlite3 executemany", round(baseline),
                   round(cli / baseline, 3), "50k rows < 10 s with start-up")]


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--database-url", help="PostgreSQL to run on (emptied first!)")
    parser.add_argument("--only", action="append", default=[],
                        help="run only these parts: load, pages, session, registration, "
                             "excel, payments, reconciliation")
    args = parser.parse_args(argv)
    pg = _database(args.database_url)
    wanted = set(args.only) or {"load", "pages", "session", "registration", "excel",
                                "payments", "reconciliation"}
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        built: dict[str, str] = {}

        def data_set() -> list[Figure]:
            got, built["url"] = load.build(work, args.scale, pg)
            return got

        _step("data set", data_set, figures)  # the pages, search and session need it
        if "load" not in wanted:
            figures.clear()
        url = built["url"]
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
            _step("invoice import", lambda: bench_invoice_import(work), figures)
        if "payments" in wanted:
            _step("payment flow", lambda: payment_flow.run(work, args.scale), figures)
        if "reconciliation" in wanted:
            _step("reconciliation",
                  lambda: reconciliation.run(work, args.scale, pg), figures)
        report = {"scale": args.scale, "machine": machine(url),
                  "figures": [asdict(f) for f in figures]}
    print(f"{'figure':70} {'value':>10} {'unit':12} {'baseline':>10}  {'ratio':>8}  target")
    for f in figures:
        print(f"{f.name[:70]:70} {f.value:>10} {f.unit[:12]:12} {f.baseline_value:>10}  "
              f"{f.ratio:>8}  {f.target}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return 0
