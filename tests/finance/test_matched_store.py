"""Issue 16, point 5: a run's matched pairs are one compact row per run
(``core.finance.matched_store``) while its discrepancies stay item rows; what the run
card, the exports and the migration of old runs read back is what was matched."""
from __future__ import annotations

import csv
import importlib.util
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import func, select, text

from core.db.engine import make_engine
from core.db.migrate import downgrade, upgrade
from core.db.models import ReconciliationItem, ReconciliationMatched
from core.finance import matched_store, matching, reconciliation as rec, run_export
from core.finance.bank_registry import read_registry, write_registry_csv
from core.paging import PageRequest

PAIR_FIELDS = ("klass", "payment_id", "bank_line_no", "bank_txn_id", "bank_rrn",
               "bank_operation", "bank_amount", "bank_masked_pan", "bank_time", "our_amount",
               "our_status")
MIGRATION = next((Path(__file__).parents[2] / "core" / "migrations" / "versions")
                 .glob("*_reconciliation_matched.py"))


def _value(v):  # type: ignore[no-untyped-def]
    if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "":
        return None
    return v.to_pydatetime() if isinstance(v, pd.Timestamp) else v


def _expected(app, data: bytes) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    registry = read_registry("r.csv", data)
    with app.uow(write=False) as uow:
        ours, refunds = rec._our_side(uow.session, registry, registry.period)
    return matching.match(registry.lines, ours, refunds)


def _rows(frame: pd.DataFrame) -> list[tuple]:  # type: ignore[type-arg]
    names = {"bank_line_no": "line_no"}
    return [tuple(_value(row[names.get(c, c)]) for c in PAIR_FIELDS)
            for _, row in frame.iterrows()]


def _got(rows) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    return [tuple(getattr(r, c) for c in PAIR_FIELDS) for r in rows]


def _stored(app, run_id: int):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        s = uow.session
        kinds = list(s.scalars(select(ReconciliationItem.klass)
                               .where(ReconciliationItem.run_id == run_id)))
        compact = s.execute(select(ReconciliationMatched.pairs, ReconciliationMatched.layout)
                            .where(ReconciliationMatched.run_id == run_id)).all()
        every = list(rec.export_items(s, run_id, None))
    return kinds, compact, every


def test_matched_pairs_read_back_exactly_and_the_discrepancies_stay_items(app, story, finance):
    data = write_registry_csv(story.lines)
    expected = _expected(app, data)
    run = rec.reconcile(app, finance, "r.csv", data)
    matched = expected[expected["klass"] == "matched"]
    kinds, compact, every = _stored(app, run.id)
    # One compact row for the pairs; the item rows are the discrepancies alone.
    assert compact == [(len(matched), matched_store.LAYOUT)] and len(matched) == 7
    assert "matched" not in kinds and len(kinds) == len(expected) - len(matched)
    # The pairs as matched: payment ids, lines, amounts, times, in the matching's order;
    # then the discrepancies, as before.
    assert _got(every) == _rows(expected)
    detail = rec.run_detail(app, finance, run.id, "matched", PageRequest(number=1, size=10))
    assert detail.items.total == 7 and not detail.items.total_capped
    assert _got(detail.items.items) == _rows(matched)
    second = rec.run_detail(app, finance, run.id, "matched", PageRequest(number=2, size=10))
    assert second.items.items == []
    assert all(r.id is None and r.resolved_at is None for r in detail.items.items)
    assert {c.klass: c.bank_count for c in run.classes}["matched"] == 7
    # The CSV lists each pair under «Совпало» with its payment and amounts.
    table = list(csv.reader(io.StringIO(run_export.export_run_csv(app, finance, run.id)
                                        .decode("utf-8-sig")), delimiter=";"))
    pairs = [r for r in table[1:] if r[0] == "Совпало"]
    assert [(int(r[1]), int(r[8])) for r in pairs] == [
        (int(line), int(pid)) for line, pid in zip(matched["line_no"], matched["payment_id"])]
    assert len(table) == 1 + len(expected)


def test_a_run_without_a_matched_pair_stores_no_compact_row(app, story, finance):
    # Every amount a kopeck off: nothing matches.
    lines = [replace(x, amount_kopecks=x.amount_kopecks + 1) for x in story.lines]
    data = write_registry_csv(lines)
    expected = _expected(app, data)
    assert "matched" not in set(expected["klass"])
    run = rec.reconcile(app, finance, "odd.csv", data)
    kinds, compact, every = _stored(app, run.id)
    assert compact == [] and len(kinds) == len(expected)
    assert _got(every) == _rows(expected)
    detail = rec.run_detail(app, finance, run.id, "matched", PageRequest(number=1, size=25))
    assert detail.items.total == 0 and detail.items.items == []
    assert {c.klass: c.bank_count for c in run.classes}["matched"] == 0
    with app.uow(write=False) as uow:
        assert list(rec.export_items(uow.session, run.id, "matched")) == []


def test_pages_cross_the_record_batches_and_fees_off_the_tariff_are_found():
    n = matched_store.BATCH * 2 + 100
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({
        "line_no": np.arange(2, n + 2), "payment_id": np.arange(1, n + 1),
        "bank_txn_id": pd.Series([f"t{i}" for i in range(n)], dtype="str"),
        "bank_rrn": pd.Series([""] * n, dtype="str"),
        "bank_operation": "payment", "bank_amount": rng.integers(100, 10_000, n),
        "bank_masked_pan": "411111******1111",
        "bank_time": pd.Timestamp("2026-11-25 09:00", tz="UTC")
        + pd.to_timedelta(np.arange(n), unit="s"),
        "our_amount": rng.integers(100, 10_000, n), "our_status": "succeeded",
        "bank_fee": pd.array([10] * n, dtype="Int64"),
        "expected_fee": pd.array([10] * (n - 1) + [11], dtype="Int64")})
    data = matched_store.encode(frame)
    page = list(matched_store.rows(matched_store.decode(data, matched_store.BATCH - 2, 5)))
    start = matched_store.BATCH - 2
    assert [r["bank_line_no"] for r in page] == list(range(start + 2, start + 7))
    assert [r["bank_amount"] for r in page] == frame["bank_amount"].iloc[start:start + 5].tolist()
    assert page[0]["bank_rrn"] is None and page[0]["bank_net"] is None
    assert page[0]["bank_time"] == frame["bank_time"].iloc[start].to_pydatetime()
    assert matched_store.decode(data).num_rows == n


def _migration_parent() -> str:
    spec = importlib.util.spec_from_file_location("matched_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.down_revision  # type: ignore[no-any-return]


def test_the_migration_moves_old_runs_matched_items_into_the_compact_row(app, db_url, story,
                                                                          finance):
    data = write_registry_csv(story.lines)
    expected = _expected(app, data)
    run = rec.reconcile(app, finance, "r.csv", data)
    app.engine.dispose()
    engine = make_engine(db_url)
    # Before the migration: every matched pair its own item row (the old schema).
    downgrade(engine, _migration_parent())
    with engine.connect() as conn:
        old = conn.execute(text(
            "SELECT bank_line_no, payment_id, bank_amount, our_amount, our_status "
            "FROM reconciliation_items WHERE run_id = :run AND klass = 'matched' "
            "ORDER BY id"), {"run": run.id}).all()
    matched = expected[expected["klass"] == "matched"]
    assert [tuple(r) for r in old] == [
        (int(a), int(b), int(c), int(d), e) for a, b, c, d, e in zip(
            matched["line_no"], matched["payment_id"], matched["bank_amount"],
            matched["our_amount"], matched["our_status"])]
    upgrade(engine)
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM reconciliation_items WHERE "
                                 "klass = 'matched'")).scalar()
        compact = conn.execute(text("SELECT run_id, pairs FROM reconciliation_matched")).all()
    engine.dispose()
    assert left == 0 and [tuple(r) for r in compact] == [(run.id, len(matched))]
    kinds, _, every = _stored(app, run.id)
    assert _got(every) == _rows(expected)
    view = rec.get_run(app, finance, run.id)
    assert {c.klass: c.bank_count for c in view.classes}["matched"] == len(matched)
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ReconciliationMatched)) == 1
