"""The gateway simulator kept in a SQLite file, so that several processes share one bank.

The dashboard authorises and confirms payments while a separate worker process asks
the gateway about pending ones; with the purely in-memory ``GatewaySimulator`` each
process would talk to its own bank and the worker would see ``not_found``.

``FileBackedSimulator`` runs every call as one SQLite transaction on ``path``:
``BEGIN IMMEDIATE`` (one call at a time across processes; a ``threading.Lock``
inside the process), the in-memory simulator's method over maps that read the
bank's records row by row as the method touches them, then every record it
touched is written back and the transaction commits — also when the method
raised, because a ``GatewayTimeout`` may come *after* the bank acted (the
"time-out, charged" case) and that charge must not be lost.

Rows, not one blob: the demo's bank knows its year of history (up to a million
transactions), and a status query must not read all of them. That history is kept as
plain columns in ``history`` (``load_history``: one executemany, no pickling — pickling
a million transactions took over a minute) and turned into the simulator's records only
when a call touches one; from then on the record in ``records`` is the truth.

The test switches (``make_next_call_time_out`` etc.) are stored too: a switch set
through any instance, in any process, affects the next call made through any
instance on the same file. Values are pickles: the file is for the demo and tests
on one machine, never for data from elsewhere.
"""
from __future__ import annotations

import pickle
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from core.clock import Clock
from core.files import private
from core.timefmt import moscow_date
from core.payments import gateway as g
from core.payments.simulator import (
    GatewaySimulator, HistoricCard, HistoricRefund, HistoricTxn, history_records, refund_line,
)

T = TypeVar("T")
_MAPS = ("tokens", "txns", "auth_keys", "refund_keys")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                                    PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS registry (id INTEGER PRIMARY KEY, day TEXT NOT NULL,
                                     value BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS registry_day ON registry (day);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS history (txn_id TEXT PRIMARY KEY, day TEXT NOT NULL,
                                    amount INTEGER NOT NULL, masked_pan TEXT NOT NULL,
                                    brand TEXT NOT NULL, rrn TEXT NOT NULL,
                                    auth_code TEXT NOT NULL, at TEXT NOT NULL,
                                    refunded INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS history_day ON history (day);
CREATE TABLE IF NOT EXISTS history_refunds (key TEXT PRIMARY KEY, day TEXT NOT NULL,
                                            txn_id TEXT NOT NULL, amount INTEGER NOT NULL,
                                            masked_pan TEXT NOT NULL, rrn TEXT NOT NULL,
                                            at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS history_refunds_day ON history_refunds (day);
"""
_HISTORY_COLUMNS = "txn_id, amount, masked_pan, brand, rrn, auth_code, at, refunded"
_REFUND_COLUMNS = "key, txn_id, amount, masked_pan, rrn, at"


def _historic(rows: Iterable[tuple[Any, ...]]) -> list[HistoricTxn]:
    return [HistoricTxn(txn_id=txn, amount_kopecks=amount, masked_pan=masked, brand=brand,
                        rrn=rrn, auth_code=auth, at=datetime.fromisoformat(at),
                        refunded_kopecks=refunded)
            for txn, amount, masked, brand, rrn, auth, at, refunded in rows]


def _refund_lines(rows: Iterable[tuple[Any, ...]]) -> list[g.SettlementLine]:
    return [refund_line(HistoricRefund(key, txn, amount, masked, rrn,
                                       datetime.fromisoformat(at)))
            for key, txn, amount, masked, rrn, at in rows]


def _dump(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class _Records(MutableMapping[str, Any]):
    """One of the simulator's dicts, read from the file on demand; what was read or
    set is written back at the end of the call (the simulator mutates in place)."""

    def __init__(self, conn: sqlite3.Connection, kind: str) -> None:
        self._conn, self._kind = conn, kind
        self._touched: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self._touched:
            return self._touched[key]
        row = self._conn.execute("SELECT value FROM records WHERE kind = ? AND key = ?",
                                 (self._kind, key)).fetchone()
        if row is not None:
            self._touched[key] = value = pickle.loads(row[0])
            return value
        if self._kind == "txns":  # a transaction of the loaded history, never touched yet
            found = _historic(self._conn.execute(
                f"SELECT {_HISTORY_COLUMNS} FROM history WHERE txn_id = ?", (key,)))
            if found:
                self._touched[key] = value = history_records(found, [])[1][key]
                return value
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._touched[key] = value

    def __delitem__(self, key: str) -> None:  # the simulator never forgets
        raise NotImplementedError

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError("the bank's records are looked up by key only")

    def __len__(self) -> int:
        count = int(self._conn.execute("SELECT count(*) FROM records WHERE kind = ?",
                                       (self._kind,)).fetchone()[0])
        if self._kind == "txns":
            count += int(self._conn.execute(
                "SELECT count(*) FROM history WHERE txn_id NOT IN "
                "(SELECT key FROM records WHERE kind = 'txns')").fetchone()[0])
        return count

    def save(self) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO records (kind, key, value) VALUES (?, ?, ?)",
            [(self._kind, key, _dump(value)) for key, value in self._touched.items()])


class _Registry:
    """The settlement registry: appended to, read by Moscow day."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._new: list[g.SettlementLine] = []

    def append(self, line: g.SettlementLine) -> None:
        self._new.append(line)

    def __iter__(self) -> Iterator[g.SettlementLine]:
        self.save()
        yield from self._history(f"SELECT {_HISTORY_COLUMNS} FROM history ORDER BY at", ())
        yield from _refund_lines(self._conn.execute(
            f"SELECT {_REFUND_COLUMNS} FROM history_refunds ORDER BY at"))
        for (value,) in self._conn.execute("SELECT value FROM registry ORDER BY id"):
            yield pickle.loads(value)

    def on_day(self, day: date) -> list[g.SettlementLine]:
        """The history's charges and refunds of the day (they came first), then the day's
        own lines."""
        self.save()
        lines = self._history(f"SELECT {_HISTORY_COLUMNS} FROM history WHERE day = ? "
                              "ORDER BY at", (day.isoformat(),))
        lines += _refund_lines(self._conn.execute(
            f"SELECT {_REFUND_COLUMNS} FROM history_refunds WHERE day = ? ORDER BY at",
            (day.isoformat(),)))
        return lines + [pickle.loads(value) for (value,) in self._conn.execute(
            "SELECT value FROM registry WHERE day = ? ORDER BY id", (day.isoformat(),))]

    def _history(self, sql: str, params: tuple[Any, ...]) -> list[g.SettlementLine]:
        txns = _historic(self._conn.execute(sql, params))
        lines = history_records(txns, [])[2]
        return [lines[t.txn_id] for t in txns]

    def save(self) -> None:
        self._conn.executemany(
            "INSERT INTO registry (day, value) VALUES (?, ?)",
            [(moscow_date(line.time).isoformat(), _dump(line)) for line in self._new])
        self._new = []


class FileBackedSimulator:
    """Implements ``AcquiringGateway``; the bank's memory lives in ``path``."""

    def __init__(self, path: Path, clock: Clock,
                 otp_sink: Callable[[str, str], None] | None = None) -> None:
        self._path = Path(path)
        self._clock = clock
        self._otp_sink = otp_sink
        self._thread_lock = threading.Lock()
        # The simulated bank keeps one-time passwords and card tokens: owner only.
        if not private.create_empty(self._path):
            private.narrow_and_warn(self._path)

    @property
    def path(self) -> Path:
        return self._path

    # --- the protocol ---------------------------------------------------------
    def tokenize_and_authorize(self, request: g.AuthorizeRequest) -> g.AuthorizeResponse:
        return self._call(lambda sim: sim.tokenize_and_authorize(request))

    def confirm(self, request: g.ConfirmRequest) -> g.ConfirmResponse:
        return self._call(lambda sim: sim.confirm(request))

    def verify_card(self, request: g.VerifyCardRequest) -> g.AuthorizeResponse:
        return self._call(lambda sim: sim.verify_card(request))

    def reverse(self, gateway_txn_id: str) -> g.ReverseResponse:
        return self._call(lambda sim: sim.reverse(gateway_txn_id))

    def status(self, gateway_txn_id: str) -> g.StatusResponse:
        return self._call(lambda sim: sim.status(gateway_txn_id))

    def refund(self, request: g.RefundRequest) -> g.RefundResponse:
        return self._call(lambda sim: sim.refund(request))

    def settlement_registry(self, day: date) -> list[g.SettlementLine]:
        def registry(sim: GatewaySimulator) -> list[g.SettlementLine]:
            if sim._take_fault():
                raise g.GatewayTimeout()
            return sim._registry.on_day(day)  # type: ignore[attr-defined]
        return self._call(registry)

    def load_history(self, txns: Iterable[HistoricTxn], cards: list[HistoricCard],
                     refunds: Iterable[HistoricRefund] = ()) -> int:
        """In bulk, in one transaction: the cards as records, the transactions and the
        refunds as plain ``history`` / ``history_refunds`` rows (read on demand). Returns
        how many transactions were new."""
        tokens, _, _ = history_records([], cards)
        with self._thread_lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                have = {key for (key,) in conn.execute(
                    "SELECT key FROM records WHERE kind = 'txns'")}
                conn.executemany(
                    "INSERT OR IGNORE INTO records (kind, key, value) VALUES ('tokens', ?, ?)",
                    [(token, _dump(card)) for token, card in tokens.items()])
                before = conn.total_changes
                conn.executemany(
                    f"INSERT OR IGNORE INTO history (day, {_HISTORY_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    ((moscow_date(t.at).isoformat(), t.txn_id, t.amount_kopecks, t.masked_pan,
                      t.brand, t.rrn, t.auth_code, t.at.isoformat(), t.refunded_kopecks)
                     for t in txns if t.txn_id not in have))
                added = conn.total_changes - before
                # A refund the bank made itself (its key is a record) is in its registry.
                made = {key for (key,) in conn.execute(
                    "SELECT key FROM records WHERE kind = 'refund_keys'")}
                conn.executemany(
                    f"INSERT OR IGNORE INTO history_refunds (day, {_REFUND_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    ((moscow_date(r.at).isoformat(), r.idempotency_key, r.txn_id,
                      r.amount_kopecks, r.masked_pan, r.rrn, r.at.isoformat())
                     for r in refunds if r.idempotency_key not in made))
                conn.execute("COMMIT")
            finally:
                conn.close()
        return added

    # --- switches (persisted: they affect the next call from any process) ------
    def make_next_call_time_out(self, charged: bool) -> None:
        self._call(lambda sim: sim.make_next_call_time_out(charged))

    def make_next_call_unavailable(self) -> None:
        self._call(lambda sim: sim.make_next_call_unavailable())

    def make_next_payment_decline(self, code: str) -> None:
        self._call(lambda sim: sim.make_next_payment_decline(code))

    # --- one call = one transaction ------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        conn.executescript(_SCHEMA)
        return conn

    def _call(self, method: Callable[[GatewaySimulator], T]) -> T:
        with self._thread_lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                simulator = GatewaySimulator(self._clock, self._otp_sink)
                maps = {kind: _Records(conn, kind) for kind in _MAPS}
                registry = _Registry(conn)
                meta = {key: pickle.loads(value)
                        for key, value in conn.execute("SELECT key, value FROM meta")}
                simulator._import_state({**{"seq": 0, "next_fault": None, "next_decline": None},
                                         **meta, **maps, "registry": registry})
                try:
                    return method(simulator)
                finally:
                    # In ``finally``: a time-out raised after the charge keeps the charge.
                    for records in maps.values():
                        records.save()
                    registry.save()
                    state = simulator._export_state()
                    conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                     [(key, _dump(state[key]))
                                      for key in ("seq", "next_fault", "next_decline")])
                    conn.execute("COMMIT")
            finally:
                conn.close()
