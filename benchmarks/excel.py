"""Excel export and registry imports at scale, each against the bare library doing the same.

- «Выгрузить в Excel»: ``core.files.exports.to_xlsx`` (money, dates, text kept text,
  styled header, autofilter, widths, progress) on the payment list's columns vs bare
  xlsxwriter ``write_row`` of the same cells (values converted beforehand, number formats
  as column formats), the faster of its two modes (constant-memory, as ours, and the
  default in-memory one); bare openpyxl write_only, xlsxwriter without formats, and the
  peak memory of both xlsxwriter modes: the figures behind the writer and mode
  ``to_xlsx`` uses.
- XLSX billing registry: ``import_billing_registry`` in rows/s vs calamine reading the
  same file; the reading step alone (``core.files.readers.read_table`` and ``read_columns``)
  vs calamine.
- CSV billing registry, 50,000 rows (service call and CLI run): rows/s vs pandas.read_csv
  plus sqlite3 executemany of the same rows.

Medians of 3 runs (the machine is shared). Scale «full»: 100,000 rows; «small»: 20,000.
"""
from __future__ import annotations

import io
import os
import sqlite3
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, bench_app, figure
from core.app import App
from core.config import HashingCost
from core.db.engine import make_engine
from core.db.migrate import upgrade

ROWS = {"small": 20_000, "full": 100_000}
REPEAT = 3
MEMORY_ROWS = 20_000  # tracemalloc slows writing down; peak memory grows with rows anyway
CSV_ROWS = 50_000
SERVICES = (("Холодное водоснабжение", "м3", 52.70), ("Горячее водоснабжение", "м3", 248.15),
            ("Водоотведение", "м3", 43.90), ("Отопление", "Гкал", 3053.44),
            ("Электроэнергия", "кВт·ч", 6.92))
HEADER = ["Лицевой счет", "Период", "Услуга", "Ед. изм.", "Объем", "Тариф", "Начислено",
          "Перерасчет", "Долг/аванс", "Итого к оплате", "Срок оплаты"]
FAST_HASHING = HashingCost(argon2_time_cost=1, argon2_memory_cost_kib=1024,
                           argon2_parallelism=1, bcrypt_rounds=4)


def run(work: Path, scale: str) -> list[Figure]:
    rows = ROWS[scale]
    return [*bench_export(rows), *bench_xlsx_import(work, rows), *bench_invoice_import(work)]


def _median_s(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    return _medians({"": fn}, repeat)[""]


def _medians(runs: dict[str, Callable[[], object]], repeat: int = REPEAT) -> dict[str, float]:
    """Median seconds of each; taken in turns, so a noisy neighbour hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


# --- export -------------------------------------------------------------------------------

_STATUSES = ("Успешно", "Отклонён банком", "Возвращён частично", "Ожидает кода")
_PROVIDERS = ("ООО «Водоканал Перми»", "ПАО «Т Плюс»", "АО «Пермэнергосбыт»",
              "УК «Уютный дом»", "АО «Газпром межрегионгаз Пермь»")


def payment_rows(count: int) -> list[tuple[Any, ...]]:
    """Rows as ``read_models.export_payments`` hands them to ``to_xlsx``: kopecks,
    naive UTC moments (as SQLite returns them), text; some cells empty."""
    start = datetime(2026, 1, 1, 6, 0)
    rows = []
    for n in range(count):
        amount = 10_000 + (n * 7919) % 500_000
        commission = amount // 100
        rows.append((n + 1, start + timedelta(seconds=n * 37), _STATUSES[n % 4],
                     _PROVIDERS[n % 5], f"{4_000_000_000 + n}", amount, commission,
                     amount + commission, amount // 2 if n % 7 == 0 else 0,
                     f"Visa •••• {1000 + n % 9000}" if n % 3 else "",
                     f"{300_000_000_000 + n}" if n % 4 == 0 else "",
                     f"+7 912 {n % 1000:03d}-{n % 100:02d}-{n % 97:02d} Иванова А. П."))
    return rows


def _cells(rows: list[tuple[Any, ...]], kinds: Sequence[str]) -> list[list[Any]]:
    """The values ``to_xlsx`` writes: rubles, Moscow wall time, text; None for empty."""
    from core.files.exports import _local

    def cell(kind: str, value: Any) -> Any:
        if value is None or value == "":
            return None
        if kind == "money":
            return value / 100
        if kind == "datetime":
            return _local(value)
        return value

    return [[cell(kind, value) for kind, value in zip(kinds, row)] for row in rows]


def _bare_xlsxwriter(titles: list[str], cells: list[list[Any]], constant_memory: bool,
                     formats: Sequence[str | None] = ()) -> bytes:
    """``write_row`` of the cells; ``formats``: a number format per column, set as the
    column's format (the cells then carry it as ours do)."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": constant_memory,
                                        "in_memory": not constant_memory,
                                        "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("Платежи")
    for column, num_format in enumerate(formats):
        if num_format:
            sheet.set_column(column, column, 18, book.add_format({"num_format": num_format}))
    sheet.write_row(0, 0, titles)
    for number, row in enumerate(cells, start=1):
        sheet.write_row(number, 0, row)
    book.close()
    return buffer.getvalue()


def _bare_openpyxl(titles: list[str], cells: list[list[Any]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Платежи")
    sheet.append(titles)
    for row in cells:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _peak_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


NUMBER_FORMATS = {"money": '#,##0.00 "₽"', "date": "dd.mm.yyyy",
                  "datetime": "dd.mm.yyyy hh:mm", "int": "0"}  # as core.files.exports


def bench_export(count: int) -> list[Figure]:
    from core.files.exports import to_xlsx
    from core.payments.read_models import EXPORT_COLUMNS

    rows = payment_rows(count)
    titles = [c.title for c in EXPORT_COLUMNS]
    cells = _cells(rows, [c.kind for c in EXPORT_COLUMNS])
    formats = [NUMBER_FORMATS.get(c.kind) for c in EXPORT_COLUMNS]
    heard: list[int] = []

    def ours(rows: list[tuple[Any, ...]] = rows) -> bytes:
        return to_xlsx(EXPORT_COLUMNS, iter(rows), sheet="Платежи", progress=heard.append)

    data = ours()
    assert heard[-1] == count and len(data) > count, "the export lost rows"
    timed = _medians({"ours": ours,
                      "constant_memory": lambda: _bare_xlsxwriter(titles, cells, True, formats),
                      "plain": lambda: _bare_xlsxwriter(titles, cells, False, formats),
                      "values only": lambda: _bare_xlsxwriter(titles, cells, True),
                      "openpyxl": lambda: _bare_openpyxl(titles, cells)})
    fastest_mode = min(("constant_memory", "plain"), key=timed.__getitem__)
    fastest = f"bare xlsxwriter {fastest_mode.replace('_', '-')} write_row"
    per_s = {name: count / seconds for name, seconds in timed.items()}
    few = rows[:MEMORY_ROWS]
    memory = {"ours": _peak_mb(lambda: ours(few)),
              "constant_memory": _peak_mb(lambda: _bare_xlsxwriter(titles, cells[:MEMORY_ROWS],
                                                                   True)),
              "plain": _peak_mb(lambda: _bare_xlsxwriter(titles, cells[:MEMORY_ROWS], False))}
    size = f"{count // 1000}k x {len(EXPORT_COLUMNS)}"
    return [
        figure(f"Excel export {size} (to_xlsx)", timed["ours"], "s", fastest,
               timed[fastest_mode], "<= 1.3"),
        figure(f"bare xlsxwriter constant-memory {size}", per_s["constant_memory"], "rows/s",
               "bare xlsxwriter in-memory", per_s["plain"], "(mode: memory flat, speed "
               "within noise)", digits=0),
        figure(f"Excel export {size} (to_xlsx) vs values only", timed["ours"], "s",
               "bare xlsxwriter constant-memory, no formats", timed["values only"],
               "(what the formats cost)"),
        figure(f"bare openpyxl write_only {size}", per_s["openpyxl"], "rows/s",
               fastest, per_s[fastest_mode], "(slower: not used)", digits=0),
        figure(f"Excel export peak memory {MEMORY_ROWS // 1000}k (to_xlsx)", memory["ours"],
               "MB", "bare xlsxwriter in-memory", memory["plain"], "flat in rows",
               digits=1),
        figure(f"bare xlsxwriter constant-memory peak {MEMORY_ROWS // 1000}k",
               memory["constant_memory"], "MB", "bare xlsxwriter in-memory", memory["plain"],
               "(documents the mode)", digits=1),
    ]


# --- registries -------------------------------------------------------------------------

def _accounts(count: int) -> list[str]:
    return [f"{4_000_000_000 + n}" for n in range(count // len(SERVICES))]


def _period_and_due() -> tuple[date, date]:
    from core.timefmt import MOSCOW

    today = datetime.now(MOSCOW).date()
    return (date(today.year, today.month, 1),
            date(today.year + today.month // 12, today.month % 12 + 1, 25))


def _charges(count: int) -> Iterator[tuple[str, str, str, float, float, int]]:
    """(account, service, unit, volume, tariff, kopecks) of a registry of ``count`` rows."""
    for i, account in enumerate(_accounts(count)):
        for j, (service, unit, tariff) in enumerate(SERVICES):
            yield (account, service, unit, i % 17 + j / 1000, tariff,
                   10_000 + (i * 7919 + j * 13) % 500_000)


def registry_xlsx(count: int) -> bytes:
    """A billing registry as a provider's Excel makes it: a title row, text accounts and
    periods, numbers for amounts, an Excel date for the due date."""
    import xlsxwriter

    period, due = _period_and_due()
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    sheet = book.add_worksheet("Начисления")
    day = book.add_format({"num_format": "dd.mm.yyyy"})
    sheet.write_string(0, 0, "Реестр начислений ГУП «Водоканал»")
    sheet.write_row(1, 0, HEADER)
    due_moment = datetime(due.year, due.month, due.day)
    for number, (account, service, unit, volume, tariff, kopecks) \
            in enumerate(_charges(count), start=2):
        sheet.write_row(number, 0, [account, f"{period:%m.%Y}", service, unit, volume, tariff,
                                    kopecks / 100, 0, 0, kopecks / 100])
        sheet.write_datetime(number, 10, due_moment, day)
    book.close()
    return buffer.getvalue()


def registry_csv(count: int) -> str:
    """The same registry as a 1C-style CSV: «;», decimal commas, grouped thousands."""
    period, due = _period_and_due()
    lines = [";".join(HEADER)]
    for account, service, unit, volume, tariff, kopecks in _charges(count):
        money = f"{kopecks // 100:,}".replace(",", " ") + f",{kopecks % 100:02d}"
        amount = f"{volume:.3f}".replace(".", ",")
        price = f"{tariff:,.2f}".replace(",", " ").replace(".", ",")
        lines.append(f"{account};{period:%m.%Y};{service};{unit};{amount};{price};{money};"
                     f"0,00;0,00;{money};{due:%d.%m.%Y}")
    return "\r\n".join(lines) + "\r\n"


def _registry_app(work: Path, name: str, count: int) -> tuple[App, int]:
    """A fresh database with a water provider and its register of accounts (in bulk)."""
    from sqlalchemy import insert

    from core.db.models import Provider, ProviderAccount

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
                 loaded_at=now) for n in _accounts(count)])
        uow.commit()
        return app, provider.id


def _calamine(data: bytes) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


def bench_xlsx_import(work: Path, count: int) -> list[Figure]:
    from core.files.readers import read_columns, read_table
    from core.billing.invoice_import import COLUMNS, import_billing_registry

    data = registry_xlsx(count)
    name = f"registry_{count // 1000}k.xlsx"
    assert len(_calamine(data)) == count + 2
    times, bare_times = [], []
    for attempt in range(REPEAT):
        app, provider_id = _registry_app(work, f"xlsx_import_{attempt}.db", count)
        start = time.perf_counter()
        report = import_billing_registry(app, None, provider_id, name, data)
        times.append(time.perf_counter() - start)
        assert report.saved and report.lines == count, (report.summary, report.problems[:3])
        app.engine.dispose()
        start = time.perf_counter()
        _calamine(data)
        bare_times.append(time.perf_counter() - start)
    ours = count / statistics.median(times)
    bare = count / statistics.median(bare_times)
    reads = _medians({"table": lambda: read_table(name, data, COLUMNS),
                      "columns": lambda: read_columns(name, data, COLUMNS),
                      "calamine": lambda: _calamine(data)})
    table, columns, calamine = (count / reads[k] for k in ("table", "columns", "calamine"))
    size = f"{count // 1000}k"
    return [
        figure(f"XLSX registry import {size} (service)", ours, "rows/s",
               "calamine read of the file", bare, ">= 40,000 rows/s", digits=0),
        figure(f"XLSX read {size}: read_table", table, "rows/s", "calamine read of the file",
               calamine, ">= 0.5 of calamine", digits=0),
        figure(f"XLSX read {size}: read_columns", columns, "rows/s",
               "calamine read of the file", calamine, ">= 0.6 of calamine", digits=0),
    ]


def bench_invoice_import(work: Path) -> list[Figure]:
    """A 50,000-row CSV billing registry (10,000 accounts x 5 services, «;», decimal comma):
    rows/s of ``import_billing_registry`` and of the CLI run, vs pandas.read_csv of the same
    file plus sqlite3 executemany of the same tuples into a bare table."""
    import pandas

    from core.billing.invoice_import import import_billing_registry

    path = work / "registry_50k.csv"
    path.write_text(registry_csv(CSV_ROWS), encoding="utf-8")
    data = path.read_bytes()

    app, provider_id = _registry_app(work, "invoices.db", CSV_ROWS)
    start = time.perf_counter()
    report = import_billing_registry(app, None, provider_id, path.name, data)
    ours = CSV_ROWS / (time.perf_counter() - start)
    assert report.saved and report.lines == CSV_ROWS, report.summary
    app.engine.dispose()

    cli_app, cli_provider = _registry_app(work, "invoices_cli.db", CSV_ROWS)
    cli_app.engine.dispose()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{work / 'invoices_cli.db'}",
               APP_SECRETS_FILE=str(work / "secrets.toml"), NOTIFY_LOG_DIR=str(work))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "core", "invoices", "import", str(path),
                             "--provider", str(cli_provider)], env=env, capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[1])
    cli = CSV_ROWS / (time.perf_counter() - start)
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
    baseline = CSV_ROWS / (time.perf_counter() - start)
    raw.close()
    return [figure("invoice import 50k (service)", ours, "rows/s",
                   "pandas.read_csv + sqlite3 executemany", baseline, ">= 0.25 of raw",
                   digits=0),
            figure("invoice import 50k (CLI run)", cli, "rows/s",
                   "pandas.read_csv + sqlite3 executemany", baseline,
                   "50k rows < 10 s with start-up", digits=0)]


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.excel [small|full]``: these figures alone."""
    import tempfile

    scale = (argv if argv is not None else sys.argv[1:] or ["small"])[0]
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(Path(tmp), scale)
    print(f"{'figure':44} {'value':>12} {'unit':8} {'baseline':>12}  ratio  target")
    for f in figures:
        print(f"{f.name:44} {f.value:>12} {f.unit:8} {f.baseline_value:>12}  {f.ratio:<6} "
              f"{f.target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
