"""The gateway simulator kept in a file, so that several processes share one bank.

The dashboard authorises and confirms payments while a separate worker process asks
the gateway about pending ones; with the purely in-memory ``GatewaySimulator`` each
process would talk to its own bank and the worker would see ``not_found``.
``FileBackedSimulator`` keeps the simulator's memory in ``path`` (a pickle) and runs
every call as one transaction:

1. take an exclusive ``fcntl.flock`` on ``path.with_suffix(".lock")`` (and, inside the
   process, a ``threading.Lock``, so threads of one instance queue up cheaply);
2. load the state from ``path`` (a missing file is an empty bank);
3. run the in-memory simulator's method on it;
4. save the state atomically (temporary file + ``os.replace``) — also when the method
   raised, because a ``GatewayTimeout`` may come *after* the bank acted (the
   "time-out, charged" case) and that charge must not be lost;
5. release the locks.

The test switches (``make_next_call_time_out`` etc.) are part of the saved state: a
switch set through any instance, in any process, affects the next call made through
any instance on the same file. That is what "the bank misbehaves once" means when the
dashboard and the worker share the bank.

The OTP is delivered by the ``otp_sink`` of the instance that made the authorisation,
inside the lock, before the state is saved; the sink must not call the gateway back.
The file is a pickle: it is for the demo and tests on one machine, never for data from
elsewhere.
"""
from __future__ import annotations

import fcntl
import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TypeVar

from core.clock import Clock
from core.payments import gateway as g
from core.payments.simulator import GatewaySimulator, HistoricCard, HistoricTxn

T = TypeVar("T")


class FileBackedSimulator:
    """Implements ``AcquiringGateway``; the bank's memory lives in ``path``."""

    def __init__(self, path: Path, clock: Clock,
                 otp_sink: Callable[[str, str], None] | None = None) -> None:
        self._path = Path(path)
        self._lock_path = self._path.with_suffix(".lock")
        self._clock = clock
        self._otp_sink = otp_sink
        self._thread_lock = threading.Lock()
        self._path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        return self._path

    # --- the protocol ---------------------------------------------------------
    def tokenize_and_authorize(self, request: g.AuthorizeRequest) -> g.AuthorizeResponse:
        return self._call(lambda sim: sim.tokenize_and_authorize(request))

    def confirm(self, request: g.ConfirmRequest) -> g.ConfirmResponse:
        return self._call(lambda sim: sim.confirm(request))

    def status(self, gateway_txn_id: str) -> g.StatusResponse:
        return self._call(lambda sim: sim.status(gateway_txn_id))

    def refund(self, request: g.RefundRequest) -> g.RefundResponse:
        return self._call(lambda sim: sim.refund(request))

    def settlement_registry(self, day: date) -> list[g.SettlementLine]:
        return self._call(lambda sim: sim.settlement_registry(day))

    # --- switches (persisted: they affect the next call from any process) ------
    def load_history(self, txns: list[HistoricTxn], cards: list[HistoricCard]) -> int:
        return self._call(lambda sim: sim.load_history(txns, cards))

    def make_next_call_time_out(self, charged: bool) -> None:
        self._call(lambda sim: sim.make_next_call_time_out(charged))

    def make_next_call_unavailable(self) -> None:
        self._call(lambda sim: sim.make_next_call_unavailable())

    def make_next_payment_decline(self, code: str) -> None:
        self._call(lambda sim: sim.make_next_payment_decline(code))

    # --- one call = lock, load, run, save, unlock -------------------------------
    def _call(self, method: Callable[[GatewaySimulator], T]) -> T:
        with self._thread_lock, self._file_lock():
            loaded = self._read()
            simulator = GatewaySimulator(self._clock, self._otp_sink)
            if loaded is not None:
                simulator._import_state(pickle.loads(loaded))
            try:
                return method(simulator)
            finally:
                # In ``finally``: a time-out raised after the charge keeps the charge.
                self._save(simulator, loaded)

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        # A separate lock file: the state file itself is replaced on every save, and a
        # lock on a replaced inode would not exclude the next process.
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _read(self) -> bytes | None:
        try:
            return self._path.read_bytes()
        except FileNotFoundError:
            return None

    def _save(self, simulator: GatewaySimulator, loaded: bytes | None) -> None:
        data = pickle.dumps(simulator._export_state(), protocol=pickle.HIGHEST_PROTOCOL)
        if data == loaded:
            return  # a read that changed nothing: spare the disk
        fd, temp = tempfile.mkstemp(dir=self._path.parent, prefix=self._path.name + ".",
                                    suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, self._path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
