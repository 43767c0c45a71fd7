"""The bulk loader of a real-sized data set (core.demo.scale.load), at a small size: exact
counts, a consistent ledger, invoices paid by their payments, timelines, rollups, the
schema's indexes back after the load, determinism, and the CLI's refusals."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from core.app import build_app
from core.config import FAST_HASHING, Settings
from core.db.models import (
    AccountBinding,
    Base,
    Customer,
    Invoice,
    InvoiceLine,
    LedgerJournal,
    Payment,
    PaymentDailyStat,
    PaymentEventRecord,
    ProviderAccount,
    Receipt,
    Refund,
)
from core.demo.scale.load import seed_scale
from core.errors import DomainError
from core.finance import ledger
from core.payments import machine
from core.analytics import invoice_snapshot, rollups
from tests.conftest import TEST_SECRETS

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS, PAYMENTS = 300, 2000
CHARGED = machine.values(machine.CHARGED)


@pytest.fixture
def scale(app):  # type: ignore[no-untyped-def]
    report = seed_scale(app, customers=CUSTOMERS, payments=PAYMENTS, seed=5)
    assert report is not None
    return app, report


def _one(s, sql: str) -> int:  # type: ignore[no-untyped-def]
    return int(s.execute(text(sql)).scalar() or 0)


def test_counts_are_exact_and_the_ledger_balances(scale) -> None:
    app, report = scale
    with app.uow(write=False) as uow:
        s = uow.session
        count = lambda model: s.scalar(select(func.count()).select_from(model))
        assert count(Customer) == CUSTOMERS and count(Payment) == PAYMENTS
        accounts = count(ProviderAccount)
        assert 1.2 * CUSTOMERS <= accounts <= 1.8 * CUSTOMERS
        assert count(AccountBinding) == accounts and count(Invoice) == 12 * accounts
        assert count(InvoiceLine) >= count(Invoice)
        check = ledger.check(s)
        assert check.ok, check.problems
        statuses = Counter(s.scalars(select(Payment.status)))
        charged = sum(statuses[x] for x in CHARGED)
        assert 0.85 <= charged / PAYMENTS <= 0.95, statuses
        assert statuses["declined"] and statuses["failed"] and statuses["expired"]
        assert statuses["refunded"] + statuses["partially_refunded"] > 0
        assert 5 <= statuses["pending"] <= 8
        assert s.scalar(select(func.count()).where(Payment.manual_review)) == 1
        # One payment journal and one receipt per charged payment, one journal per refund.
        journals = Counter(s.scalars(select(LedgerJournal.kind)))
        assert journals[ledger.KIND_PAYMENT] == charged == count(Receipt)
        assert journals[ledger.KIND_REFUND] == count(Refund)
        assert _one(s, "SELECT count(*) FROM payments p WHERE refunded_amount != "
                       "(SELECT coalesce(sum(amount), 0) FROM refunds r WHERE r.payment_id = p.id)") == 0
    assert report.rows["payments"] == PAYMENTS and report.total_rows > 30_000


def test_invoices_are_paid_by_their_payments_net_of_refunds(scale) -> None:
    app, _ = scale
    with app.uow(write=False) as uow:
        s = uow.session
        assert _one(s, "SELECT count(*) FROM invoices WHERE paid_amount > total_due "
                       "OR paid_amount < 0") == 0
        assert _one(s, """
            SELECT count(*) FROM invoices i WHERE paid_amount != (
                SELECT coalesce(sum(p.amount - p.refunded_amount), 0) FROM payments p
                WHERE p.invoice_id = i.id
                  AND p.status IN ('succeeded', 'partially_refunded', 'refunded'))""") == 0
        assert _one(s, """
            SELECT count(*) FROM invoices WHERE status != CASE
                WHEN paid_amount = 0 THEN 'unpaid' WHEN paid_amount >= total_due THEN 'paid'
                ELSE 'partially_paid' END""") == 0
        paid = _one(s, "SELECT count(*) FROM invoices WHERE status = 'paid'")
        assert paid > 1000
        # Some invoices in two parts; some payments' customer never had a cabinet then.
        assert _one(s, "SELECT count(*) FROM (SELECT invoice_id FROM payments WHERE status = "
                       "'succeeded' AND invoice_id IS NOT NULL GROUP BY invoice_id "
                       "HAVING count(*) = 2) t") > 0
        assert _one(s, "SELECT count(*) FROM payments WHERE (customer_id IS NULL) = "
                       "(receipt_email IS NULL)") == 0


def test_every_payment_ends_its_timeline_in_its_status(scale) -> None:
    app, _ = scale
    with app.uow(write=False) as uow:
        s = uow.session
        assert _one(s, """
            SELECT count(*) FROM payments p WHERE coalesce((
                SELECT e.to_status FROM payment_events e WHERE e.payment_id = p.id
                ORDER BY e.id DESC LIMIT 1), '') != p.status""") == 0
        assert _one(s, """
            SELECT count(*) FROM payments p WHERE coalesce((SELECT e.at FROM payment_events e
                WHERE e.payment_id = p.id ORDER BY e.id LIMIT 1), p.updated_at) != p.created_at
            """) == 0
        kinds = Counter(s.scalars(select(PaymentEventRecord.event)))
        assert kinds["otp_confirmed"] and kinds["gateway_declined"] and kinds["gateway_timeout"]
        assert kinds["refund_full"] + kinds["refund_partial"] == s.scalar(
            select(func.count()).select_from(Refund))


def test_rollups_and_the_invoice_snapshot_equal_a_rebuild(scale) -> None:
    app, _ = scale

    def snapshot() -> list[tuple[object, ...]]:
        with app.uow(write=False) as uow:
            t = PaymentDailyStat.__table__
            return [tuple(r) for r in uow.session.execute(select(t).order_by(*t.primary_key))]

    def month_stats() -> list[tuple[object, ...]]:
        with app.uow(write=False) as uow:
            return [tuple(r) for r in uow.session.execute(text(
                "SELECT period, provider_id, klass, invoices FROM invoice_month_stats "
                "ORDER BY period, provider_id, klass"))]

    loaded, invoices = snapshot(), month_stats()
    assert loaded and invoices
    with app.uow() as uow:
        rollups.rebuild(uow.session)
        uow.commit()
    invoice_snapshot.refresh_all(app)
    assert snapshot() == loaded and month_stats() == invoices


def test_every_index_of_the_schema_exists_again(scale) -> None:
    app, _ = scale
    inspector = inspect(app.engine)
    for table in Base.metadata.sorted_tables:
        wanted = {i.name for i in table.indexes}
        present = {i["name"] for i in inspector.get_indexes(table.name)}
        assert wanted <= present, (table.name, wanted - present)


def test_a_database_with_data_is_refused_or_skipped(scale) -> None:
    app, _ = scale
    with pytest.raises(DomainError, match="--payments: массовая загрузка идёт только в пустую"):
        seed_scale(app, customers=10, payments=10, seed=1)
    assert seed_scale(app, customers=10, payments=10, seed=1, if_empty=True) is None
    with pytest.raises(DomainError, match="--payments: укажите целое число больше нуля"):
        seed_scale(app, customers=10, payments=0, seed=1)


def _sqlite_app(template: Path, path: Path):  # type: ignore[no-untyped-def]
    shutil.copy(template, path)
    settings = Settings(database_url=f"sqlite:///{path}", secrets_file=path.with_suffix(".toml"),
                        notify_log_dir=path.parent, hashing=FAST_HASHING)
    return build_app(settings, secrets=TEST_SECRETS)


def test_the_same_seed_gives_the_same_data(sqlite_template, tmp_path) -> None:
    tables = {"customers": "id, phone, email, surname, search_name, registered_at, activated_at",
              "provider_accounts": "*", "invoices": "*", "invoice_lines": "*",
              "payments": "*", "payment_events": "*", "refunds": "*", "ledger_entries": "*",
              "receipts": "id, payment_id, sent_to, fiscal_sign", "saved_cards": "*"}

    def build(name: str, seed: int) -> dict[str, list[tuple[object, ...]]]:
        app = _sqlite_app(sqlite_template, tmp_path / name)
        seed_scale(app, customers=120, payments=700, seed=seed)
        with app.engine.connect() as conn:
            data = {t: [tuple(r) for r in conn.exec_driver_sql(
                f"SELECT {cols} FROM {t} ORDER BY id")] for t, cols in tables.items()}
        app.engine.dispose()
        return data

    first, again, other = build("a.db", 3), build("b.db", 3), build("c.db", 4)
    assert first == again
    assert first["payments"] != other["payments"]


def _core(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
                APP_SECRETS_FILE=str(tmp_path / "secrets.toml"), APP_FAST_HASHING="1",
                NOTIFY_LOG_DIR=str(tmp_path), GATEWAY_STATE_FILE=str(tmp_path / "acquirer.db"))


@pytest.mark.parametrize("value", ["0", "-5", "много"])
def test_cli_refuses_a_bad_payments_count_in_russian(cli_env, value) -> None:
    result = _core(cli_env, "demo", "--customers", "10", f"--payments={value}")
    assert result.returncode == 2
    assert "--payments: укажите целое число больше нуля" in result.stderr


def test_cli_loads_a_small_data_set_and_the_bank_knows_it(cli_env) -> None:
    assert _core(cli_env, "db", "upgrade").returncode == 0
    result = _core(cli_env, "demo", "--customers", "60", "--payments", "400", "--seed", "2")
    assert result.returncode == 0, result.stderr
    assert "payments: 400" in result.stdout and "загружено операций из истории" in result.stdout
    check = _core(cli_env, "ledger", "check")
    assert check.returncode == 0, check.stdout
    again = _core(cli_env, "demo", "--customers", "60", "--payments", "400", "--if-empty")
    assert again.returncode == 0 and "пропущена" in again.stdout


def test_services_keep_working_on_the_loaded_data(scale) -> None:
    """New rows get fresh ids (PostgreSQL's sequences moved past the loaded ones), the bank
    knows the history, and a refund of a loaded payment keeps the ledger whole."""
    from core.actors import StaffRole
    from core.demo.bank import seed_bank
    from core.payments.machine import PaymentStatus
    from core.customers import cabinet
    from core.payments import refunds
    from tests.factories.customers import make_staff, registration

    app, _ = scale
    assert seed_bank(app) > 0
    customer_id = cabinet.register(app, registration())
    with app.uow(write=False) as uow:
        paid = uow.session.scalar(select(Payment).where(
            Payment.status == PaymentStatus.SUCCEEDED.value, Payment.amount > 1000)
            .order_by(Payment.id.desc()).limit(1))
    assert customer_id > CUSTOMERS
    finance = make_staff(app, StaffRole.FINANCE)
    result = refunds.refund(app, finance, paid.id, "5", "Проверка на загруженных данных")
    assert result.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    with app.uow(write=False) as uow:
        check = ledger.check(uow.session)
        assert check.ok, check.problems


ANALYSED = ("customers", "provider_accounts", "invoices", "payments", "payment_events")


def test_the_planner_has_statistics_of_the_loaded_rows(scale) -> None:
    """After a load the planner knows the tables as loaded. On PostgreSQL the loader's
    ``ANALYZE`` was once rolled back with its connection: pg_stats stayed empty while
    pg_class.reltuples and last_analyze (written outside the transaction) looked analysed,
    so the test reads pg_stats, and the ids' histogram reaching the last loaded id tells
    these statistics from those of an earlier test's rows in the same database."""
    app, _ = scale
    with app.engine.connect() as conn:
        if app.engine.dialect.name == "sqlite":
            stats = conn.exec_driver_sql(
                "SELECT stat FROM sqlite_stat1 WHERE tbl = 'payments'").scalars().all()
            assert stats and {s.split()[0] for s in stats} == {str(PAYMENTS)}
            return
        for table in ANALYSED:
            columns = conn.execute(text(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :t"), {"t": table}).scalar()
            analysed = dict(conn.execute(text(
                "SELECT attname, histogram_bounds::text FROM pg_stats "
                "WHERE schemaname = current_schema() AND tablename = :t"), {"t": table}).all())
            assert len(analysed) == columns, (table, sorted(analysed))
            last_id = conn.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar()
            assert analysed["id"].strip("{}").split(",")[-1] == str(last_id), table


def _page_plan(app, run, sign: str = "LIMIT") -> list[str]:  # type: ignore[no-untyped-def]
    """The plan of the ORDER BY … LIMIT statement (or the one holding ``sign``) ``run()``
    sends: PostgreSQL's node types with their relations, or SQLite's plan lines."""
    from sqlalchemy import event

    sent: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, many):  # type: ignore[no-untyped-def]
        if "ORDER BY" in statement and sign in statement:
            sent.append((statement, parameters))

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        run()
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)
    (statement, parameters), = sent
    with app.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        if app.engine.dialect.name == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return [row[-1] for row in cursor.fetchall()]
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        nodes, found = [cursor.fetchone()[0][0]["Plan"]], []
        while nodes:
            node = nodes.pop()
            found.append(f'{node["Node Type"]} {node.get("Relation Name", "")}'.strip())
            nodes += node.get("Plans", [])
        return found


def test_the_invoice_list_reads_its_page_in_index_order(scale) -> None:
    """«Счета» (newest period first, then by id) reads 25 rows of the period index instead
    of sorting the whole newest month: on PostgreSQL, whose index on the period alone
    left ties in no order, that sort was 91 ms a page at 40,000 customers (0.2 ms on
    SQLite, whose indexes end in the rowid)."""
    from core.actors import StaffRole
    from core.billing import invoices
    from core.paging import PageRequest
    from tests.factories.customers import make_staff

    app, _ = scale
    agent = make_staff(app, StaffRole.AGENT)
    pages = []
    plan = _page_plan(app, lambda: pages.append(invoices.list_invoices(
        app, agent, invoices.InvoiceFilter(), PageRequest(1, 25))))
    assert not [step for step in plan if "Sort" in step or "TEMP B-TREE" in step], plan
    with app.engine.connect() as conn:
        newest = conn.exec_driver_sql(
            "SELECT id FROM invoices ORDER BY period DESC, id DESC LIMIT 25").scalars().all()
    assert [row.id for row in pages[0].items] == newest


@pytest.mark.parametrize("by", [None, "provider", "status"],
                         ids=["all", "by provider", "by status"])
def test_the_payment_list_reads_its_page_in_index_order(scale, by: str | None) -> None:
    """«Платежи» (newest first, then by id) reads its 25 rows in index order: on
    PostgreSQL, whose index on the time alone left ties in no order, every page sorted
    the newest timestamps' rows (96 ms a rerun at 1,000,000 payments; SQLite's indexes
    end in the rowid). By status alone, both sorted every succeeded payment (SQLite 3.5 s
    at 1,000,000) until the status index got the time and the id."""
    from core.actors import StaffRole
    from core.paging import PageRequest
    from core.payments import read_models
    from tests.factories.customers import make_staff

    app, _ = scale
    agent = make_staff(app, StaffRole.AGENT)
    with app.engine.connect() as conn:
        provider_id = conn.exec_driver_sql(
            "SELECT provider_id FROM payments GROUP BY provider_id ORDER BY count(*) DESC"
        ).scalars().first()
    flt = read_models.PaymentFilter(provider_id=provider_id if by == "provider" else None,
                                    status="succeeded" if by == "status" else None)
    pages = []
    plan = _page_plan(app, lambda: pages.append(read_models.list_payments(
        app, agent, flt, PageRequest(1, 25))))
    assert not [step for step in plan if "Sort" in step or "TEMP B-TREE" in step], plan
    where = {None: "", "provider": f"WHERE provider_id = {int(provider_id)} ",
             "status": "WHERE status = 'succeeded' "}[by]
    with app.engine.connect() as conn:
        newest = conn.exec_driver_sql(
            f"SELECT id FROM payments {where}ORDER BY created_at DESC, id DESC LIMIT 25"
        ).scalars().all()
    assert [row.id for row in pages[0].items] == newest


def test_a_customers_accounts_are_read_by_the_customer_index(scale) -> None:
    """The customer card's «Лицевые счета» (removed bindings too) reads the customer's
    bindings by an index: the only index on the customer was the partial one of active
    bindings, so every binding was scanned (37 ms on PostgreSQL at 307,000)."""
    from core.actors import StaffRole
    from core.billing import accounts
    from tests.factories.customers import make_staff

    app, _ = scale
    agent = make_staff(app, StaffRole.AGENT)
    with app.engine.connect() as conn:
        customer_id = conn.exec_driver_sql(
            "SELECT customer_id FROM account_bindings GROUP BY customer_id "
            "ORDER BY count(*) DESC, customer_id").scalars().first()
        expected = conn.exec_driver_sql(
            f"SELECT id FROM account_bindings WHERE customer_id = {int(customer_id)} "
            "ORDER BY created_at, id").scalars().all()
    got = []
    plan = _page_plan(app, lambda: got.extend(accounts.customer_accounts(
        app, agent, customer_id, include_removed=True)), sign="account_bindings.customer_id")
    assert not [step for step in plan if step in ("Seq Scan account_bindings",
                                                   "SCAN account_bindings")], plan
    assert [b.id for b in got] == expected


def test_an_upgrade_past_0032_leaves_sqlite_its_statistics(scale) -> None:
    """0032 rebuilds indexes, and SQLite forgets a dropped index's statistics: the payments
    list took 8.5 s on an upgraded full-scale copy until ANALYZE (8 ms after). The upgrade
    analyses the tables it touched where the database had statistics."""
    from core.db.migrate import downgrade, upgrade

    app, _ = scale
    if app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps statistics per column: an index rebuild drops none")
    downgrade(app.engine, "0031")
    with app.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    upgrade(app.engine)
    with app.engine.connect() as conn:
        analysed = set(conn.exec_driver_sql("SELECT idx FROM sqlite_stat1").scalars())
    # (The open blocks' partial index is empty here: SQLite keeps no row for it.)
    for index in ("ix_payments_created", "ix_payments_status_created",
                  "ix_account_bindings_customer", "ix_invoices_period_id"):
        assert index in analysed, index
