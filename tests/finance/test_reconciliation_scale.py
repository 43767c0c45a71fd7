"""Reconciliation at scale: the fast CSV reader gives what the tolerant one gives, the
«Итого» row is checked, and the bulk-stored run holds exactly the matching's result."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from core.actors import StaffRole
from core.finance import bank_registry, matching, reconciliation as rec
from core.finance.bank_registry import read_registry, write_registry_csv
from core.payments import gateway as g
from tests.factories.customers import make_staff
from tests.finance import scenario

T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def _lines(n: int, seed: int = 3) -> list[g.SettlementLine]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        refund = i % 17 == 5
        out.append(g.SettlementLine(
            f"sim-{i:08d}", "" if i % 11 == 0 else f"{600_000_000_000 + i}",
            f"411111******{i % 97:04d}", int(rng.integers(1, 5_000_000)),
            g.Operation.REFUND if refund else g.Operation.PAYMENT,
            T0 + timedelta(seconds=int(rng.integers(0, 50_000)))))
    return out


def _tolerant(monkeypatch, name: str, data: bytes) -> bank_registry.BankRegistry:  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(bank_registry, "_plain_csv", lambda *_args: None)
        return read_registry(name, data)


def _same(fast: bank_registry.BankRegistry, slow: bank_registry.BankRegistry) -> None:
    assert fast.problems == slow.problems
    assert fast.totals_rows == slow.totals_rows
    assert fast.period == slow.period
    pd.testing.assert_frame_equal(fast.lines.astype(object), slow.lines.astype(object))


def test_the_fast_reader_gives_what_the_tolerant_one_gives(monkeypatch):
    text = write_registry_csv(_lines(3000)).decode()
    rows = text.split("\r\n")
    rows.insert(40, ";;;;;")  # a blank row: skipped, later rows keep their numbers
    variants = {
        "clean": text.encode(),
        "blank row, trailing blank lines": ("\r\n".join(rows) + "\r\n\r\n").encode(),
        "cp1251, comma, decimal point": text.replace(";", "\t").replace(",", ".")
        .encode("cp1251"),
        "amounts spelled otherwise": text.replace(",00\r\n", "\r\n").replace(",50\r\n", ",5\r\n")
        .encode("utf-8-sig"),
    }
    for label, data in variants.items():
        assert bank_registry._plain_csv(data) is not None, label  # the fast path is taken
        fast = read_registry("r.csv", data)
        assert fast.accepted and len(fast.lines) == 3000, label
        _same(fast, _tolerant(monkeypatch, "r.csv", data))


def test_an_empty_line_inside_keeps_the_fast_path_and_the_line_numbers(monkeypatch):
    rows = write_registry_csv(_lines(300)).decode().split("\r\n")
    rows.insert(50, "")  # an empty line: file line 51
    rows[120] = rows[120].replace("Оплата", "Перевод").replace("Возврат", "Перевод")
    for newline in ("\r\n", "\n"):
        data = newline.join(rows).encode()
        assert bank_registry._plain_csv(data) is not None  # read by Arrow, not refused
        fast = read_registry("r.csv", data)
        # The bad row is the file's line 121 for both readers: the empty line counts.
        assert [p.row for p in fast.problems] == [121]
        _same(fast, _tolerant(monkeypatch, "r.csv", data))
        rows_fixed = [r.replace("Перевод", "Оплата") for r in rows]
        good = read_registry("r.csv", newline.join(rows_fixed).encode())
        assert good.accepted and len(good.lines) == 300
        assert good.lines["line_no"].iloc[49] == 52  # the line after the empty one


def test_the_fast_reader_reports_the_same_problems(monkeypatch):
    rows = write_registry_csv(_lines(200)).decode().split("\r\n")
    rows[3] = rows[3].replace("Оплата", "Перевод")
    cells = rows[4].split(";")
    rows[4] = ";".join(["31.02.2026 10:00:00", *cells[1:5], "12,345"])
    rows[5] = ";".join(["25.11.2026 9:05", *rows[5].split(";")[1:5], "1 234,50"])  # fine
    rows[6] = ";".join([*rows[6].split(";")[:5], "-15,00"]).replace("Возврат", "Оплата")
    rows[7] = ";".join([*rows[7].split(";")[:5], "0,00"])
    rows[8] = ";".join([rows[8].split(";")[0], "Оплата", "", "12ab", "карта", "сто"])
    rows[9] = ";".join(["45987,5", *rows[9].split(";")[1:]])  # an Excel serial: fine
    data = "\r\n".join(rows).encode()
    assert bank_registry._plain_csv(data) is not None
    fast = read_registry("bad.csv", data)
    slow = _tolerant(monkeypatch, "bad.csv", data)
    assert [p.text for p in fast.problems] == [p.text for p in slow.problems]
    assert [p.row for p in fast.problems] == [4, 5, 5, 7, 8, 9, 9, 9, 9]
    assert "Строка 7, «Сумма»: сумма оплаты не может быть отрицательной" in [
        p.text for p in fast.problems]


def test_odd_files_take_the_tolerant_way():
    clean = write_registry_csv(_lines(10))
    titled = "Реестр операций;;;;;\r\n".encode() + clean
    quoted = clean.replace("Оплата".encode(), '"Оплата"'.encode())
    ragged = clean + "25.11.2026 10:00:00;Оплата;t;1;411111******1111;1,00;лишнее\r\n".encode()
    for data in (titled, quoted, ragged):
        assert bank_registry._plain_csv(data) is None
    assert read_registry("t.csv", titled).accepted
    assert read_registry("q.csv", quoted).accepted
    assert len(read_registry("q.csv", quoted).lines) == 10


def _with_totals(lines: list[g.SettlementLine], total: int) -> bytes:
    return write_registry_csv(lines) + (
        f"Итого: {len(lines)} операций;;;;;{total // 100},{total % 100:02d}\r\n").encode()


def test_the_totals_row_is_checked_against_the_lines():
    lines = _lines(50)
    paid = sum(x.amount_kopecks for x in lines if x.operation is g.Operation.PAYMENT)
    back = sum(x.amount_kopecks for x in lines if x.operation is g.Operation.REFUND)
    for total in (paid + back, paid - back):  # as written, or payments minus refunds
        registry = read_registry("ok.csv", _with_totals(lines, total))
        assert registry.accepted and registry.totals_rows == 1
    wrong = read_registry("wrong.csv", _with_totals(lines, paid + back - 100))
    assert not wrong.accepted
    assert [p.row for p in wrong.problems] == [len(lines) + 2]
    text = wrong.problems[0].text
    assert text.startswith(f"Строка {len(lines) + 2}, «Сумма»: итоговая строка говорит ")
    assert "реестр неполный или итог неверен" in text


def test_a_file_whose_total_disagrees_is_refused_by_the_service(app, clock):  # type: ignore[no-untyped-def]
    story = scenario.build(app, clock)
    finance = make_staff(app, StaffRole.FINANCE)
    with pytest.raises(rec.RegistryRejected) as caught:
        rec.reconcile(app, finance, "r.csv", _with_totals(story.lines, 1))
    assert [p.row for p in caught.value.problems] == [len(story.lines) + 2]


def test_the_stored_run_holds_exactly_the_matching_result(app, clock, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(rec, "SAVE_CHUNK", 4)  # several batches even for a small file
    story = scenario.build(app, clock)
    finance = make_staff(app, StaffRole.FINANCE)
    data = write_registry_csv(story.lines)
    registry = read_registry("r.csv", data)
    with app.uow(write=False) as uow:
        ours, refunds = rec._our_side(uow.session, registry, registry.period)
    expected = matching.match(registry.lines, ours, refunds)
    run = rec.reconcile(app, finance, "r.csv", data)
    with app.uow(write=False) as uow:
        items = list(rec.export_items(uow.session, run.id, None))

    def value(v):  # type: ignore[no-untyped-def]
        if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "":
            return None
        return v.to_pydatetime() if isinstance(v, pd.Timestamp) else v

    want = [tuple(value(row[c]) for c in ("klass", "payment_id", "line_no", "bank_txn_id",
                                          "bank_rrn", "bank_operation", "bank_amount",
                                          "bank_masked_pan", "bank_time", "our_amount",
                                          "our_status"))
            for _, row in expected.iterrows()]
    got = [(i.klass, i.payment_id, i.bank_line_no, i.bank_txn_id, i.bank_rrn,
            i.bank_operation, i.bank_amount, i.bank_masked_pan, i.bank_time, i.our_amount,
            i.our_status) for i in items]
    assert got == want
    summary = matching.summarise(expected)
    assert {c.klass: (c.bank_count, c.bank_sum, c.our_count, c.our_sum)
            for c in run.classes} == {k: (v["bank_count"], v["bank_sum"], v["our_count"],
                                          v["our_sum"]) for k, v in summary.items()}
    assert run.open_discrepancies == sum(1 for i in items if i.klass != "matched")


def test_random_registries_put_every_line_and_payment_in_exactly_one_row():
    rng = np.random.default_rng(11)
    for _ in range(30):
        n, m = int(rng.integers(1, 80)), int(rng.integers(0, 80))
        bank = pd.DataFrame({
            "line_no": np.arange(2, n + 2), "txn_id": rng.choice([f"t{i}" for i in range(50)], n),
            "rrn": rng.choice(["", "r1", "r2", "r3"], n),
            "masked_pan": rng.choice(["4111******0001", "4111******0002"], n),
            "amount": rng.choice([100, 200], n),
            "operation": rng.choice(["payment", "payment", "refund"], n),
            "time": pd.Timestamp(T0) + pd.to_timedelta(rng.integers(0, 30, n), unit="min")})
        ours = pd.DataFrame({
            "payment_id": np.arange(1, m + 1),
            "txn_id": [None if rng.random() < .3 else f"t{i}" for i in rng.permutation(80)[:m]],
            "rrn": rng.choice([None, "r1", "r2"], m),
            "masked_pan": rng.choice(["4111******0001", None], m),
            "amount": rng.choice([100, 200], m),
            "status": rng.choice(["succeeded", "pending", "refunded"], m),
            "time": pd.Timestamp(T0) + pd.to_timedelta(rng.integers(0, 30, m), unit="min"),
            "in_period": rng.random(m) < .8})
        result = matching.match(bank, ours)
        lines = result["line_no"].dropna().astype(int).tolist()
        assert sorted(lines) == list(range(2, n + 2))
        counted = result.loc[result["our_amount"].notna(), "payment_id"].astype(int)
        assert counted.is_unique
        summary = matching.summarise(result)
        assert sum(c["bank_count"] for c in summary.values()) == n


def _plain(frame: pd.DataFrame) -> list[tuple]:  # type: ignore[type-arg]
    """Rows as Python values, in id order: "" and a missing value alike (no key)."""
    def value(v):  # type: ignore[no-untyped-def]
        if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "":
            return None
        return v.to_pydatetime() if isinstance(v, pd.Timestamp) else (
            v.item() if hasattr(v, "item") else v)
    first = frame.columns[0]
    return [tuple(value(row[c]) for c in frame.columns)
            for _, row in frame.sort_values(first).iterrows()]


def test_our_side_reads_the_same_through_arrow_and_through_the_driver(app, clock):  # type: ignore[no-untyped-def]
    from sqlalchemy import literal, select, update

    from core.db import arrow_reads
    from core.db.models import Payment

    story = scenario.build(app, clock)
    # A card-less, id-less payment and one whose time was stored to the microsecond:
    # the missing keys and the time both come back as the driver's read gives them.
    with app.uow() as uow:
        first, second = uow.session.scalars(select(Payment.id).order_by(Payment.id)
                                            .limit(2)).all()
        uow.session.execute(update(Payment).where(Payment.id == first)
                            .values(rrn=None, finalized_at=T0 + timedelta(microseconds=7)))
        uow.session.execute(update(Payment).where(Payment.id == second).values(masked_pan=None))
        uow.commit()
    registry = read_registry("r.csv", write_registry_csv(story.lines))
    with app.uow(write=False) as uow:
        through_arrow = rec._our_side(uow.session, registry, registry.period)
        through_driver = rec._our_side(uow.session, registry, registry.period, arrow=False)
    for arrow_frame, driver_frame in zip(through_arrow, through_driver):
        assert list(arrow_frame.columns) == list(driver_frame.columns)
        assert _plain(arrow_frame) == _plain(driver_frame)
    ours = through_arrow[0].set_index("payment_id")
    assert ours.at[first, "time"] == pd.Timestamp(T0 + timedelta(microseconds=7))
    assert len(ours) >= 4 and len(through_arrow[1]) >= 1  # payments and refunds were read
    table = arrow_reads.read_arrow(app.engine, select(literal(1).label("one")))
    if app.engine.dialect.name == "postgresql":  # the ADBC read was the one compared
        assert table is not None and table.column("one").to_pylist() == [1]
    else:  # SQLite stays on the DB-API: a second SQLite copy would lose our locks
        assert table is None
