"""Demo data at real size: ``python -m core demo --customers 200000 --payments 1000000``.

The rich demo (``core.demo.rich``, without ``--payments``) builds its data row by row in
Python, which is right for 2,000 customers and far too slow for 200,000. This loader
draws every column of a chunk of 10,000 customers as a numpy array and writes it
through the driver's own bulk path (``core.demo.scale.writer``: sqlite3 ``executemany``
fed lazily, PostgreSQL ``COPY``), with explicit ids, so nothing is read back. The
non-unique secondary indexes are dropped first and rebuilt once at the end; on SQLite
foreign keys are not checked during the load (the loader's own ids are consistent, and
the tests check them) and the writes are not synced until the end.

What it writes, deterministically for ``seed`` (same seed, same rows):

* customers (the rich demo's names, search names, optional personal data, 8 % never
  activated, the demo password and code word), about 5 % of the cabinets blocked with
  their audit rows, a third with changed subscriptions;
* about 1.5 personal accounts per customer with the five demo providers, bound to their
  cabinets, and 12 monthly invoices each with their charge lines;
* exactly ``payments`` payments over the year (``core.demo.scale.plan``: ~90 % succeeded,
  declines with the gateway's reasons, failed and expired attempts, a few pending, one
  of them for manual review), saved cards, about 1 % of the successes refunded, every
  payment's events, the ledger's journals and entries, a fiscalised receipt per success,
  and the invoices' paid amounts from their payments net of refunds;
* then the daily payment rollups are rebuilt (``rollups.rebuild``), the analytics'
  invoice snapshot refreshed (``invoice_stats.refresh_all``) and the subscription
  counts (``subscription_rollup.refresh``).

Left out, as in the rich demo: outbox messages of the history (notifications are
produced by new events), reconciliation runs, payout registries and acquirer
settlements (staff actions on the dashboard). The simulated bank learns the history
afterwards through ``core.demo.bank.seed_bank`` (one bulk transaction).

The load refuses a database that already has staff, customers, accounts or payments: the
demo's logins never join real staff, and the ids, phone numbers and account numbers are
computed, not looked up. If the process is killed
mid-load the dropped indexes are missing: start again on a fresh database.
"""
from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select
from tqdm import tqdm

from core.app import App
from core.db.models import Customer, Payment, Provider, ProviderAccount, StaffUser
from core.demo.rich import ANCHOR, DEMO_CODE_WORD, DEMO_PASSWORD, ensure_demo_staff
from core.demo.billing import PROVIDERS, _providers
from core.demo.scale.billing import make_invoices
from core.demo.scale.payments import write_payments
from core.demo.scale.people import write_people
from core.demo.scale.plan import make_plan
from core.demo.scale.writer import BulkWriter, create_indexes, drop_indexes, secondary_indexes, us
from core.customers.rules import normalize_code_word
from core.errors import DomainError
from core.db.statistics import refresh_statistics
from core.analytics import invoice_snapshot, rollups
from core.notifications import subscription_rollup

CHUNK = 10_000  # customers per transaction: part of the data's definition (rng streams)
# Every table the load writes (staff, providers and rollups through the services).
TABLES = ("staff_users", "providers", "customers", "cabinet_blocks", "audit_log",
          "subscriptions", "provider_accounts",
          "account_bindings", "saved_cards", "invoice_lines", "invoices", "payments", "refunds",
          "payment_events", "ledger_journals", "ledger_entries", "receipts",
          "payment_daily_stats", "invoice_month_stats")


@dataclass
class ScaleReport:
    customers: int
    payments: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # everything: set-up, the load, the rollups, the invoice snapshot
    load_seconds: float = 0.0  # generation, inserts and the index rebuild
    index_seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def check_counts(customers: int, payments: int) -> None:
    if customers < 1:
        raise DomainError("--customers: укажите целое число больше нуля")
    if payments < 1:
        raise DomainError("--payments: укажите целое число больше нуля, например 1000000")


def seed_scale(app: App, *, customers: int, payments: int, seed: int, if_empty: bool = False,
               progress: bool = False) -> ScaleReport | None:
    """Load the data set; None when ``if_empty`` and the database already has data."""
    check_counts(customers, payments)
    begun = time.perf_counter()
    with app.uow(write=False) as uow:
        # Staff too: the demo's logins (passwords in the README) never join real staff.
        present = [uow.session.scalar(select(func.count()).select_from(model)) or 0
                   for model in (StaffUser, Customer, ProviderAccount, Payment)]
    if any(present):
        if if_empty:
            return None
        raise DomainError("--payments: массовая загрузка идёт только в пустую базу, а в этой "
                          f"уже есть сотрудники ({present[0]}), клиенты ({present[1]}), лицевые "
                          f"счета ({present[2]}) или платежи ({present[3]}); возьмите новую базу")
    staff = ensure_demo_staff(app)
    with app.uow() as uow:
        s = uow.session
        by_name = _providers(s, ANCHOR)
        provider_ids = [by_name[spec.name] for spec in PROVIDERS]
        rules = {pid: (bp, minimum) for pid, bp, minimum in s.execute(
            select(Provider.id, Provider.commission_bp, Provider.commission_min))}
        uow.commit()
    password_hash = app.customer_hasher.hash(DEMO_PASSWORD)
    code_word_hash = app.customer_hasher.hash(normalize_code_word(DEMO_CODE_WORD))
    now = us(ANCHOR.timestamp())
    report = ScaleReport(customers=customers, payments=payments)
    started = time.perf_counter()  # the load proper: staff and the two hashes are set-up

    app.engine.dispose()  # our other connections closed: the journal mode can change
    raw = app.engine.raw_connection()
    dialect = app.engine.dialect.name
    writer = BulkWriter(raw.driver_connection, dialect)
    if not writer.pg:
        # A rollback journal instead of WAL while loading: new pages are written once
        # (WAL writes them twice: to the log, then to the file at the checkpoint), which
        # makes the index builds a third faster. Refused (left in WAL) if another process
        # has the file open. The sorter may use a second thread for CREATE INDEX.
        try:
            writer.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError:  # "database is locked": someone else has it open
            pass
        for pragma in ("foreign_keys=OFF", "synchronous=OFF", "cache_size=-262144",
                       "temp_store=MEMORY", "threads=2"):
            writer.execute(f"PRAGMA {pragma}")
    indexes = secondary_indexes(writer)
    drop_indexes(writer, indexes)
    bar = tqdm(total=customers, desc="Клиенты, счета, платежи", unit=" кл.",
               disable=not progress)
    try:
        counters = [0] * len(PROVIDERS)
        pending = int(np.random.default_rng([seed, 10**6]).integers(5, 9)) if payments >= 100 \
            else 0
        for chunk, begin in enumerate(range(0, customers, CHUNK)):
            size = min(CHUNK, customers - begin)
            quota = payments * (begin + size) // customers - payments * begin // customers
            rng = np.random.default_rng([seed, chunk])
            writer.begin()
            people = write_people(writer, rng, start=begin, n=size, now=now, seed=seed,
                                  password_hash=password_hash, code_word_hash=code_word_hash,
                                  staff_agent=staff["agent"], provider_ids=provider_ids,
                                  number_counters=counters)
            invoices = make_invoices(writer, rng, people.acc_provider)
            plan = make_plan(rng, people, invoices, quota, pending if chunk == 0 else 0, now)
            write_payments(writer, rng, people, invoices, plan, now=now,
                           provider_ids=provider_ids,
                           rules=[rules[pid] for pid in provider_ids], finance=staff["finance"])
            writer.commit()
            bar.update(size)
            bar.set_postfix(строк=sum(writer.rows.values()))
    except BaseException:
        _rollback(writer)
        raise
    finally:
        bar.close()
        index_started = time.perf_counter()
        with tqdm(total=len(indexes), desc="Индексы", disable=not progress) as index_bar:
            create_indexes(writer, indexes, index_bar)
        writer.reset_sequences(list(writer.rows))
        if writer.pg:
            writer.conn.commit()
            # Before the rollups and the invoice snapshot read the tables, and committed:
            # psycopg opened a transaction for it, and closing the connection rolled the
            # statistics back (pg_statistic is transactional; only pg_class.reltuples and
            # last_analyze survived), which left the snapshot's query a BitmapAnd with the
            # status index per invoice (cancelled after 6 minutes at full scale).
            writer.execute("ANALYZE")
            writer.commit()
        else:
            writer.execute("PRAGMA journal_mode=WAL")  # what every connection expects
        report.index_seconds = time.perf_counter() - index_started
        report.load_seconds = time.perf_counter() - started
        raw.invalidate()  # a fresh connection next time: no pragma of the load lingers
        raw.close()
    with app.uow() as uow:
        rollups.rebuild(uow.session)
        uow.commit()
    invoice_snapshot.refresh_all(app)  # the analytics' invoice snapshot, as the worker keeps it
    subscription_rollup.refresh(app)  # the subscription counts, as the worker keeps them
    if app.engine.dialect.name != "postgresql":  # analysed above, with the indexes
        refresh_statistics(app.engine)  # the planner's statistics (core.db.statistics)
    report.seconds = time.perf_counter() - begun
    with app.engine.connect() as conn:  # what the data set holds, per table
        report.rows = {t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() or 0)
                       for t in TABLES}
    return report


def _rollback(writer: BulkWriter) -> None:
    with contextlib.suppress(Exception):  # the original error is the one to report
        if writer.pg:
            writer.conn.rollback()
        elif writer.conn.in_transaction:
            writer.execute("ROLLBACK")
