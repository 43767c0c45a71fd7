"""A reconciliation run's matched pairs, kept compactly: one row per run.

Nearly every line of an acquirer's registry is matched, and nobody decides anything about
a matched pair (it is never resolved, paired by hand or re-opened). Storing each as its
own ``reconciliation_items`` row was most of a 1M-line run (the inserts, the foreign-key
look-up of each row's payment, the commit of a million rows: 8 s of a 19.7 s run on
SQLite), so the pairs' columns go into one Arrow IPC file instead, its record batches of
``BATCH`` rows compressed with zstd (``ReconciliationMatched.data``: about 26 bytes a
pair). The discrepancies stay rows, as resolving, pairing and paging them need.

Reading: the run card pages the pairs (only the batches a page touches are decompressed),
the exports stream every pair, ``off_tariff`` filters the bank's fee against the tariff
on whole columns. A pair reads back as the item row it used to be: the same columns, ""
stored as None, times in UTC.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timezone
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import ReconciliationMatched

BATCH = 65_536  # pairs a record batch (a page decompresses the batches it touches)
LAYOUT = f"arrow-zstd/{BATCH}"  # what ``data`` is: a later layout keeps reading old runs
INTS = ("line_no", "payment_id", "bank_amount", "our_amount", "bank_fee", "bank_net",
        "expected_fee")
TEXTS = ("bank_txn_id", "bank_rrn", "bank_operation", "bank_masked_pan", "our_status")
SCHEMA = pa.schema([
    ("line_no", pa.int64()), ("payment_id", pa.int64()), ("bank_txn_id", pa.string()),
    ("bank_rrn", pa.string()), ("bank_operation", pa.string()), ("bank_amount", pa.int64()),
    ("bank_masked_pan", pa.string()), ("bank_time", pa.timestamp("us", tz="UTC")),
    ("our_amount", pa.int64()), ("our_status", pa.string()), ("bank_fee", pa.int64()),
    ("bank_net", pa.int64()), ("expected_fee", pa.int64())])
# The names as ``reconciliation.ItemRow`` calls them (the file's line is ``bank_line_no``).
ROW_NAMES = {"line_no": "bank_line_no"}


def encode(pairs: pd.DataFrame) -> bytes:
    """``pairs`` (the matching's result columns, ``line_no`` for the file's line; the fee
    columns may be absent) as the stored Arrow file, in the frame's order."""
    columns = []
    for field in SCHEMA:
        if field.name not in pairs:
            columns.append(pa.nulls(len(pairs), field.type))
            continue
        values = pairs[field.name]
        if field.name == "bank_time":
            times = pd.to_datetime(values, utc=True)
            array = pa.array(times, from_pandas=True).cast(field.type, safe=False)
        else:
            if field.name in INTS and values.dtype == object:
                values = pd.array(values, dtype="Int64")
            array = pa.array(values, type=field.type, from_pandas=True)
            if field.name in TEXTS:
                # Stored as None, as the item rows kept an empty cell.
                array = pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
        columns.append(array)
    table = pa.Table.from_arrays(columns, schema=SCHEMA)
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_file(sink, SCHEMA, options=options) as writer:
        writer.write_table(table, max_chunksize=BATCH)
    return sink.getvalue().to_pybytes()


def store(s: Session, run_id: int, pairs: pd.DataFrame) -> None:
    """The run's matched pairs, in its transaction (nothing when there are none)."""
    if len(pairs):
        s.add(ReconciliationMatched(run_id=run_id, pairs=len(pairs), layout=LAYOUT,
                                    data=encode(pairs)))


def count(s: Session, run_id: int) -> int:
    return int(s.scalar(select(ReconciliationMatched.pairs)
                        .where(ReconciliationMatched.run_id == run_id)) or 0)


def decode(data: bytes, offset: int = 0, limit: int | None = None) -> pa.Table:
    """The pairs from ``offset``, at most ``limit`` (None: all), decompressing only the
    record batches they are in."""
    reader = pa.ipc.open_file(pa.py_buffer(data))
    first = offset // BATCH
    last = reader.num_record_batches if limit is None else min(
        reader.num_record_batches, (offset + max(limit, 0) + BATCH - 1) // BATCH)
    batches = [reader.get_batch(n) for n in range(first, last)]
    table = pa.Table.from_batches(batches, schema=reader.schema)
    start = offset - first * BATCH
    return table.slice(start, None if limit is None else max(limit, 0))


def _data(s: Session, run_id: int) -> bytes | None:
    return s.scalar(select(ReconciliationMatched.data)
                    .where(ReconciliationMatched.run_id == run_id))


def rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    """Each pair as the item row's fields (``ROW_NAMES``), in stored order."""
    names = [ROW_NAMES.get(n, n) for n in table.column_names]
    for batch in table.to_batches():
        values = [_python(batch.column(i)) for i in range(batch.num_columns)]
        for row in zip(*values):
            yield dict(zip(names, row))


def _python(column: pa.Array) -> list[Any]:
    if pa.types.is_timestamp(column.type):
        # datetime in UTC as the item rows gave it. Naive first: pyarrow's own zoned
        # conversion looks the zone up per value (17 s a million; through numpy 0.6 s).
        naive = column.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False).astype(object)
        return [None if v is None else v.replace(tzinfo=timezone.utc) for v in naive]
    return column.to_pylist()


def page(s: Session, run_id: int, offset: int, limit: int) -> list[dict[str, Any]]:
    data = _data(s, run_id)
    return [] if data is None else list(rows(decode(data, offset, limit)))


def every(s: Session, run_id: int, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Every pair (at most ``limit``), one batch decompressed at a time."""
    data = _data(s, run_id)
    if data is None:
        return
    reader = pa.ipc.open_file(pa.py_buffer(data))
    left = limit
    for n in range(reader.num_record_batches):
        batch = reader.get_batch(n)
        if left is not None:
            batch = batch.slice(0, left)
            left -= batch.num_rows
        yield from rows(pa.Table.from_batches([batch]))
        if left is not None and left <= 0:
            return


def off_tariff(s: Session, run_id: int, limit: int) -> list[dict[str, Any]]:
    """Pairs whose bank commission is not the tariff's (both known), at most ``limit``."""
    data = _data(s, run_id)
    if data is None:
        return []
    table = decode(data)
    differs = pc.fill_null(pc.not_equal(table["bank_fee"], table["expected_fee"]), False)
    return list(rows(table.filter(differs).slice(0, max(limit, 0))))


__all__ = ["BATCH", "LAYOUT", "SCHEMA", "count", "decode", "encode", "every", "off_tariff",
           "page", "rows", "store"]
