"""``python -m benchmarks --scale small|full`` — prints a table, writes results/latest.json.

Figures (each with its raw baseline measured in the same run):
- demo load: customers/s through ``core.demo`` vs raw ``sqlite3.executemany`` of the same rows;
- customer search (phone, e-mail prefix, name part): ms vs the bare SQL of the same query;
- staff session check (runs on every dashboard rerun): ms vs a bare primary-key SELECT;
- registration (validation, argon2id hashes, code, outbox, audit): per second vs hashing alone;
- billing-registry import, 50,000 rows (service call and CLI run): rows/s vs pandas.read_csv
  plus sqlite3 executemany of the same rows;
- payment flow end to end (create, card, one-time password, confirm: ledger, invoice,
  receipt, fiscal data, notification): payments/s vs raw sqlite3 committing the same
  number of rows in the same number of small transactions.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks import payment_flow
from benchmarks.common import Figure, bench_app, median_ms
from core.app import App
from core.config import HashingCost
from core.db.engine import make_engine
from core.db.migrate import upgrade
from core.db.models import StaffRole
from core.paging import PageRequest

RESULTS = Path(__file__).resolve().parent / "results"
SCALES = {"small": 20_000, "full": 200_000}


def bench_load(work: Path, customers: int) -> tuple[Figure, App]:
    from core.demo import seed_demo

    url = f"sqlite:///{work / 'bench.db'}"
    upgrade(make_engine(url))
    app = bench_app(url, work, HashingCost(argon2_time_cost=1, argon2_memory_cost_kib=1024,
                                      argon2_parallelism=1, bcrypt_rounds=4))
    start = time.perf_counter()
    seed_demo(app, customers=customers, seed=1, billing=False)  # customers only, as the baseline
    ours = customers / (time.perf_counter() - start)
    # Raw baseline: the same rows, plain sqlite3, one executemany into a bare table.
    with app.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT phone, email, password_hash, code_word_hash, surname, "
                                    "first_name, patronymic, birth_date, address, search_name, "
                                    "agreement_version, agreement_accepted_at, registered_at, "
                                    "activated_at, code_word_failures FROM customers").all()
    raw = sqlite3.connect(work / "raw.db")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("CREATE TABLE c (phone, email, password_hash, code_word_hash, surname, first_name,"
                " patronymic, birth_date, address, search_name, agreement_version,"
                " agreement_accepted_at, registered_at, activated_at, code_word_failures)")
    start = time.perf_counter()
    raw.executemany("INSERT INTO c VALUES (" + ",".join("?" * 15) + ")", [tuple(r) for r in rows])
    raw.commit()
    baseline = len(rows) / (time.perf_counter() - start)
    raw.close()
    return Figure("demo load", round(ours), "customers/s", "sqlite3 executemany",
                  round(baseline), round(ours / baseline, 3), ">= 0.5 of raw"), app


def bench_search(app: App, work: Path) -> list[Figure]:
    from core.services import contact_center
    from tests.factories import make_staff  # the same helper the tests use

    agent = make_staff(app, StaffRole.AGENT)
    raw = sqlite3.connect(work / "bench.db")
    with app.engine.connect() as conn:
        phone, email, name = conn.exec_driver_sql(
            "SELECT phone, email, search_name FROM customers WHERE search_name != '' "
            "ORDER BY id DESC LIMIT 1").one()
    cases = [
        ("search by phone", phone, "SELECT * FROM customers WHERE phone = ?", (phone,)),
        ("search by e-mail prefix", email.split("@")[0] + "@",
         "SELECT * FROM customers WHERE email >= ? AND email < ? ORDER BY registered_at DESC "
         "LIMIT 25", (email.split("@")[0] + "@", email.split("@")[0] + "@\uffff")),
        ("search by name part", name.split()[0][:5],
         "SELECT * FROM customers WHERE search_name LIKE ? ORDER BY registered_at DESC LIMIT 25",
         ("%" + name.split()[0][:5] + "%",)),
    ]
    figures = []
    for label, query, sql, params in cases:
        ours = median_ms(lambda q=query: contact_center.search_customers(
            app, agent, q, PageRequest(1, 25)))
        base = median_ms(lambda s=sql, p=params: raw.execute(s, p).fetchall())
        figures.append(Figure(label, round(ours, 2), "ms", "bare SQL of the query", round(base, 2),
                              round(ours / base, 2), "< 20 ms"))
    raw.close()
    return figures


def bench_session_check(app: App, work: Path) -> Figure:
    from core.services import staff
    from tests.factories import STAFF_PASSWORD, make_staff

    member = make_staff(app, StaffRole.AGENT)
    token = staff.login(app, member.login, STAFF_PASSWORD).session_token
    raw = sqlite3.connect(work / "bench.db")
    ours = median_ms(lambda: staff.check_session(app, token), repeat=200)
    base = median_ms(lambda: raw.execute("SELECT * FROM staff_sessions WHERE id = 1").fetchall(),
                      repeat=200)
    raw.close()
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
        app = bench_app(url, work, HashingCost(argon2_time_cost=1, argon2_memory_cost_kib=1024,
                                          argon2_parallelism=1, bcrypt_rounds=4))
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


def machine() -> dict[str, object]:
    import pandas
    import sqlalchemy
    import streamlit

    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "sqlalchemy": sqlalchemy.__version__,
            "streamlit": streamlit.__version__, "pandas": pandas.__version__,
            "sqlite": sqlite3.sqlite_version, "database": "sqlite"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--scale", choices=list(SCALES), default="small")
    args = parser.parse_args(argv)
    customers = SCALES[args.scale]
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        load, app = bench_load(work, customers)
        figures.append(load)
        figures += bench_search(app, work)
        figures.append(bench_session_check(app, work))
        figures.append(bench_registration(work, 20))
        figures += bench_invoice_import(work)
        figures += payment_flow.run(work, args.scale)
        app.engine.dispose()
    print(f"{'figure':34} {'value':>12} {'unit':16} {'baseline':>12}  ratio  target")
    for f in figures:
        print(f"{f.name:34} {f.value:>12} {f.unit:16} {f.baseline_value:>12}  {f.ratio:<6} {f.target}")
    RESULTS.mkdir(exist_ok=True)
    report = {"scale": args.scale, "customers": customers, "machine": machine(),
              "figures": [asdict(f) for f in figures]}
    (RESULTS / "latest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return 0
