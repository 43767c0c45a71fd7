"""«Сверка»: the acquirer's registry file against our payments of its period.

``reconcile`` reads the file (``core.finance.bank_registry``), detects the period from
its dates (Moscow days), loads our payments and succeeded refunds around it, matches
them (``core.finance.matching``, pandas on whole columns) and stores the run with every
item in one transaction. A file with any bad row is refused whole (``RegistryRejected``
with every problem) and nothing is stored.

Scale (a registry of 1M lines against 1M payments). Our side is one SQL read per table
through the driver's cursor straight into a frame: no ORM objects and no per-row type
processing (timestamps come as SQLite's stored text or as epoch microseconds from
PostgreSQL and are parsed a column at a time). The matched pairs, nearly all of a
registry, are one compressed row per run (``core.finance.matched_store``: they need no
decision); each discrepancy is its own ``reconciliation_items`` row, because resolving,
pairing and paging them work on items. Those are written through the driver
(``executemany`` on SQLite, ``COPY`` on PostgreSQL) from columns converted as a whole.

The same file (by SHA-256) is reconciled once: a second upload raises
``FileAlreadyReconciled`` naming the earlier run (its ``run_id`` lets the page open it);
so do the same lines in another file (CRLF, a BOM, XLSX for CSV, another order of lines:
``LinesAlreadyReconciled``, by ``core.finance.registry_fingerprint``). A new registry over
days an earlier run covers raises ``PeriodAlreadyReconciled`` naming those runs unless
the person confirms (``confirm_overlap``). Amounts a hundredfold off ours for the period
(kopecks read as rubles or back) raise ``AmountUnitSuspected`` (``core.finance.amount_unit``);
a profile in the right unit reads the file. Each of these stores nothing.
We refuse rather than silently return the earlier run so that the person sees they
uploaded a file already done; a run whose decisions must be revised is re-opened
(``reopen_run``), not redone.

The decisions about a run's discrepancies (resolving with what was done, pairing by
hand, re-opening) are in ``core.finance.run_decisions``. Exports (summary sheet + one
sheet per class) are audited too.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, String, cast, func, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.files import exports, uploads
from core.actors import ActorKind, StaffActor, require_role
from core.app import App
from core.db import arrow_reads
from core.db.models import (AcquirerSettlement, Payment, ReconciliationItem, ReconciliationRun,
                            Refund, StaffUser)
from core.errors import DomainError, NotFound, ValidationError
from core.money import format_kopecks
from core.finance import amount_unit, bank_fees, matched_store, matching, resolutions
from core.finance.bank_profile import AMOUNT_UNITS, BankProfile
from core.finance.bank_registry import BankRegistry, read_registry
from core.finance.registry_fingerprint import content_fingerprint
from core.files.readers import RowProblem
from core.paging import Page, PageRequest, capped_count
from core.staff import audit, permissions
from core.payments.machine import status_label
from core.timefmt import format_date, format_datetime_msk, moscow_day_start

RECONCILERS = permissions.MONEY_MOVERS
CLASSES = matching.CLASSES
DISCREPANCIES = matching.DISCREPANCIES
CLASS_LABELS = matching.CLASS_LABELS
SAVE_CHUNK = 50_000  # items per executemany (also how often progress is told)
LOOKUP_CHUNK = 900  # ids per IN (...) list
# Payments are loaded by creation time from this long before the period (a payment
# confirmed after midnight, a pending one settled later); others by their txn id.
LOOKBACK = timedelta(days=2)
COMMAND_LINE = "командная строка"  # who ran a run of ``python -m core reconcile``
EXPORT_LIMIT = 1_000_000
OVERLAPS_SHOWN = 10  # earlier runs named when a period is reconciled again

Progress = Callable[[int, int], None]  # (done, total) in percent: (n, 100)


class FileAlreadyReconciled(DomainError):
    code = "file_already_reconciled"

    def __init__(self, run_id: int, file_name: str, when: datetime, who: str) -> None:
        super().__init__(f"Файл «{file_name}» уже сверен: сверка № {run_id} от "
                         f"{format_datetime_msk(when)}, провёл(а) {who}. Откройте её в списке "
                         "сверок", field="file")
        self.run_id = run_id


class LinesAlreadyReconciled(FileAlreadyReconciled):
    """Another file (CRLF, a BOM, XLSX for CSV) with the lines of a reconciled one."""

    code = "lines_already_reconciled"

    def __init__(self, run_id: int, file_name: str, when: datetime, who: str) -> None:
        DomainError.__init__(
            self, f"Этот реестр уже сверен: в нём те же операции, что в файле «{file_name}» "
            f"(сверка № {run_id} от {format_datetime_msk(when)}, провёл(а) {who}); файлы "
            "отличаются только видом (CSV или XLSX, кодировка, концы строк, порядок строк). "
            "Ничего не сохранено. Откройте ту сверку в списке сверок", field="file")
        self.run_id = run_id


@dataclass(frozen=True)
class EarlierRun:
    run_id: int
    period_from: date
    period_to: date
    file_name: str

    @property
    def period_text(self) -> str:
        return _period_text(self.period_from, self.period_to)


class PeriodAlreadyReconciled(DomainError):
    """A run over days an earlier run covers: asked before a second one is stored."""

    code = "period_already_reconciled"

    def __init__(self, file_name: str, period: tuple[date, date],
                 runs: tuple[EarlierRun, ...]) -> None:
        listed = "; ".join(f"№ {r.run_id} за {r.period_text} (файл «{r.file_name}»)"
                           for r in runs)
        super().__init__(
            f"Файл «{file_name}» не сверен: за {_period_text(*period)} уже есть "
            f"{'сверка' if len(runs) == 1 else 'сверки'} {listed}. Вторая сверка тех же дней "
            "покажет те же расхождения ещё раз. Откройте прежнюю сверку или, если этот "
            "реестр другой (исправленный, за другой терминал), сверьте его всё равно",
            field="file")
        self.runs = runs


class AmountUnitSuspected(DomainError):
    """The file's amounts look a hundredfold off ours: asked before anything is stored."""

    code = "amount_unit_suspected"

    def __init__(self, file_name: str, guess: amount_unit.UnitGuess, lines: int,
                 file_total: int, our_total: int, read_as: str) -> None:
        unit = AMOUNT_UNITS[guess.unit]
        as_read = AMOUNT_UNITS.get(read_as, read_as)
        side = "больше" if guess.unit == "kopecks" else "меньше"
        super().__init__(
            f"Файл «{file_name}» не сверен: суммы в нём, похоже, записаны в {_IN_UNIT[unit]}, "
            f"а прочитаны как {as_read}. Итого по файлу {format_kopecks(file_total)} "
            f"({lines} строк), у нас за период {format_kopecks(our_total)}: примерно в 100 раз "
            f"{side}; с нашими суммами совпадают {guess.share_as_read:.0%} строк как прочитано "
            f"и {guess.share:.0%}, если читать суммы как {unit}. Ничего не сохранено. "
            f"Выберите профиль банка с единицей сумм «{unit}» (или сохраните такой профиль "
            "для этого банка) и сверьте файл снова", field="file")
        self.unit = guess.unit
        self.guess = guess


_IN_UNIT = {"копейки": "копейках", "рубли": "рублях"}


def _period_text(first: date, last: date) -> str:
    return format_date(first) if first == last else f"{format_date(first)} — {format_date(last)}"


class RegistryRejected(DomainError):
    """The file has bad rows: nothing is stored; ``problems`` lists every one."""

    code = "registry_rejected"

    def __init__(self, file_name: str, problems: tuple[RowProblem, ...]) -> None:
        rows = len({p.row for p in problems if p.row is not None})
        super().__init__(f"Файл «{file_name}» не сверен: ошибок {len(problems)} (строк с "
                         f"ошибками: {rows}). Ничего не сохранено; исправьте файл и загрузите "
                         "его целиком", field="file")
        self.problems = problems


# --- read models -----------------------------------------------------------------

@dataclass(frozen=True)
class ClassSummary:
    klass: str
    label: str
    bank_count: int
    bank_sum: int  # kopecks, payments minus refunds
    our_count: int
    our_sum: int
    open_count: int  # discrepancies not resolved yet (0 for «matched»)


@dataclass(frozen=True)
class RunView:
    id: int
    created_at: datetime
    staff_name: str
    file_name: str
    file_sha256: str
    period_from: date
    period_to: date
    bank_lines: int
    bank_total: int  # kopecks, the file's payments minus refunds
    our_count: int  # our operations (payments and refunds) in the run
    our_total: int
    classes: tuple[ClassSummary, ...]
    closed_at: datetime | None
    fees: bank_fees.FeeSummary | None = None  # the file listed the bank's fee or net

    @property
    def open_discrepancies(self) -> int:
        return sum(c.open_count for c in self.classes)

    @property
    def period_text(self) -> str:
        if self.period_from == self.period_to:
            return format_date(self.period_from)
        return f"{format_date(self.period_from)} — {format_date(self.period_to)}"

    @property
    def status_text(self) -> str:
        if self.closed_at is not None:
            return f"Закрыта {format_datetime_msk(self.closed_at)}"
        return f"Открыта: не разрешено расхождений {self.open_discrepancies}"


@dataclass(frozen=True)
class ItemRow:
    id: int | None  # the discrepancy's item; None: a matched pair (no item, no decision)
    klass: str
    payment_id: int | None
    bank_line_no: int | None
    bank_txn_id: str | None
    bank_rrn: str | None
    bank_operation: str | None
    bank_amount: int | None
    bank_masked_pan: str | None
    bank_time: datetime | None
    our_amount: int | None
    our_status: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_comment: str | None
    bank_fee: int | None = None
    bank_net: int | None = None
    expected_fee: int | None = None  # the profile's tariff (payment lines only)
    resolution_kind: str | None = None  # core.finance.resolutions.KINDS; None: not recorded
    paired_item_id: int | None = None  # paired by hand with this item of the run

    @property
    def fee_differs(self) -> bool:
        return (self.bank_fee is not None and self.expected_fee is not None
                and self.bank_fee != self.expected_fee)

    @property
    def operation_label(self) -> str:
        return {"payment": "Оплата", "refund": "Возврат"}.get(self.bank_operation or "", "")

    @property
    def our_status_label(self) -> str:
        if self.our_status is None:
            return ""
        if self.our_status == matching.REFUND_STATUS:
            return "Возврат выполнен"
        return status_label(self.our_status)


@dataclass(frozen=True)
class RunDetail:
    run: RunView
    klass: str
    items: Page[ItemRow]


# --- reconcile -------------------------------------------------------------------

def reconcile(app: App, actor: StaffActor | None, file_name: str, data: bytes,
              progress: Progress | None = None, profile: BankProfile | None = None,
              confirm_overlap: bool = False) -> RunView:
    """Reconcile a registry file; see the module docstring. ``actor`` None is the
    operator's command line (the run and the journal say «командная строка»).
    ``confirm_overlap``: the person saw ``PeriodAlreadyReconciled`` and goes on."""
    if actor is not None:
        require_role(actor, RECONCILERS, "сверка с банком")
    name = uploads.clean_file_name(file_name)
    checksum = uploads.checksum(data)
    with app.uow(write=False) as uow:
        _refuse_known(uow.session, checksum)
    _tell(progress, 5)
    registry = read_registry(name, data, profile)
    if not registry.accepted:
        raise RegistryRejected(name, registry.problems)
    _tell(progress, 25)
    period = registry.period
    assert period is not None  # an accepted file has lines
    content = content_fingerprint(registry.lines)
    with app.uow(write=False) as uow:
        _refuse_known(uow.session, checksum, content)
        overlaps = _overlapping(uow.session, period)
        if overlaps and not confirm_overlap:
            raise PeriodAlreadyReconciled(name, period, overlaps)
        ours, refunds = _our_side(uow.session, registry, period)
        settled = (_settlements(uow.session, period) if bank_fees.has_fees(registry.lines)
                   else {})
    _refuse_wrong_unit(name, registry, ours, refunds, profile)
    _tell(progress, 45)
    result = matching.match(registry.lines, ours, refunds)
    summary: dict[str, Any] = matching.summarise(result)
    fees = bank_fees.assess(registry.lines, ours, refunds, profile, settled)
    if fees is not None:
        per_line, fee_summary = fees
        result = result.join(per_line, on="line_no")
        summary["fees"] = fee_summary.to_json()
    _tell(progress, 60)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        _refuse_known(s, checksum, content)  # the same file, reconciled meanwhile
        open_items = int((result["klass"] != "matched").sum())
        run = ReconciliationRun(
            created_at=now, staff_id=actor.staff_id if actor else None, file_name=name,
            file_sha256=checksum, content_sha256=content,
            period_from=period[0], period_to=period[1], bank_lines=len(registry.lines),
            bank_total=registry.payments_total - registry.refunds_total,
            our_payments=sum(summary[klass]["our_count"] for klass in CLASSES),
            our_total=sum(summary[klass]["our_sum"] for klass in CLASSES),
            summary=summary, closed_at=None if open_items else now)
        s.add(run)
        try:
            s.flush()
        except IntegrityError:  # the same file, stored by a parallel upload a moment ago
            s.rollback()
            with app.uow(write=False) as again:
                _refuse_known(again.session, checksum, content)
            raise
        matched = (result["klass"] == "matched").to_numpy(dtype=bool)
        matched_store.store(s, run.id, result[matched])
        _tell(progress, 80)
        _store_items(s, run.id, result[~matched], progress)
        audit.record(s, at=now, action="reconciliation.run", actor=actor,
                     actor_kind=None if actor else ActorKind.SYSTEM,
                     actor_label=None if actor else COMMAND_LINE,
                     after={"run_id": run.id, "file_name": name, "sha256": checksum,
                            "period_from": period[0].isoformat(),
                            "period_to": period[1].isoformat(),
                            "bank_lines": run.bank_lines, "discrepancies": open_items,
                            "content_sha256": content,
                            **({"overlaps": [r.run_id for r in overlaps]} if overlaps else {})})
        uow.commit()
        run_id = run.id
    _tell(progress, 100)
    with app.uow(write=False) as uow:
        return _run_view(uow.session, run_id)


def _tell(progress: Progress | None, percent: int) -> None:
    if progress is not None:
        progress(percent, 100)


def _refuse_known(s: Session, checksum: str, content: str | None = None) -> None:
    """The same file, or (``content``) the same lines in another file, was reconciled."""
    same = ReconciliationRun.file_sha256 == checksum
    if content is not None:
        same = same | (ReconciliationRun.content_sha256 == content)
    earlier = s.execute(
        select(ReconciliationRun.id, ReconciliationRun.file_name, ReconciliationRun.created_at,
               StaffUser.name, ReconciliationRun.file_sha256)
        .outerjoin(StaffUser, StaffUser.id == ReconciliationRun.staff_id)
        .where(same).order_by(ReconciliationRun.id).limit(1)).first()
    if earlier is None:
        return
    run_id, file_name, when, who, its_checksum = earlier
    if its_checksum == checksum:
        raise FileAlreadyReconciled(run_id, file_name, when, who or COMMAND_LINE)
    raise LinesAlreadyReconciled(run_id, file_name, when, who or COMMAND_LINE)


def _overlapping(s: Session, period: tuple[date, date]) -> tuple[EarlierRun, ...]:
    """Runs whose period shares a day with ``period`` (the first few, oldest first)."""
    rows = s.execute(
        select(ReconciliationRun.id, ReconciliationRun.period_from, ReconciliationRun.period_to,
               ReconciliationRun.file_name)
        .where(ReconciliationRun.period_from <= period[1],
               ReconciliationRun.period_to >= period[0])
        .order_by(ReconciliationRun.id).limit(OVERLAPS_SHOWN))
    return tuple(EarlierRun(*row) for row in rows)


def _refuse_wrong_unit(name: str, registry: BankRegistry, ours: pd.DataFrame,
                       refunds: pd.DataFrame, profile: BankProfile | None) -> None:
    """The file's amounts a hundredfold off ours: see ``core.finance.amount_unit``."""
    lines = registry.lines
    guess = amount_unit.suspected_unit(
        lines["amount"].to_numpy(dtype="int64"),
        np.concatenate([ours["amount"].to_numpy(dtype="int64"),
                        refunds["amount"].to_numpy(dtype="int64")]))
    read_as = profile.amount_unit if profile is not None else "rubles"
    if guess is None or guess.unit == read_as:
        return  # read in the unit the figures point to: nothing better to suggest
    charged = ours["status"].isin(matching.CHARGED) & ours["in_period"].astype(bool)
    our_total = (int(ours.loc[charged, "amount"].sum())
                 - int(refunds.loc[refunds["in_period"].astype(bool), "amount"].sum()))
    raise AmountUnitSuspected(name, guess, len(lines),
                              registry.payments_total - registry.refunds_total, our_total,
                              read_as)


def _settlements(s: Session, period: tuple[date, date]) -> dict[date, int]:
    """The acquirer settlement booked for each day of the period: payments − refunds."""
    return {day: paid - refunded for day, paid, refunded in s.execute(
        select(AcquirerSettlement.day, AcquirerSettlement.payments_total,
               AcquirerSettlement.refunds_total)
        .where(AcquirerSettlement.day >= period[0], AcquirerSettlement.day <= period[1]))}


def _our_side(s: Session, registry: BankRegistry, period: tuple[date, date],
              arrow: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Our payments and succeeded refunds that could meet the file's lines: one SQL read
    each straight into a frame (no ORM objects, no per-row type processing), through
    ADBC into Arrow where the database allows it (``core.db.arrow_reads``; ``arrow``
    False: through the session's driver, as the look-ups of single ids always are)."""
    start, end = moscow_day_start(period[0]), moscow_day_start(period[1] + timedelta(days=1))
    margin = matching.WINDOW
    moment = func.coalesce(Payment.finalized_at, Payment.created_at)
    columns = (Payment.id, _text(Payment.gateway_txn_id), _text(Payment.rrn),
               _text(Payment.masked_pan), Payment.amount + Payment.commission, Payment.status,
               _raw_time(s, moment))
    names = ["payment_id", "txn_id", "rrn", "masked_pan", "amount", "status", "time"]
    ours = _bulk_frame(s, select(*columns).where(
        Payment.created_at >= start - LOOKBACK, Payment.created_at < end + margin,
        (Payment.gateway_txn_id.is_not(None)) | (Payment.masked_pan.is_not(None))), names,
        arrow)
    lines = registry.lines
    wanted = _absent(lines["txn_id"], ours["txn_id"])
    for chunk in _chunks(wanted):
        ours = _appended(ours, _frame(s, select(*columns).where(
            Payment.gateway_txn_id.in_(chunk)), names))
    if ours.empty:
        ours = matching.empty_ours()
    else:
        ours["time"] = _as_utc_series(ours["time"])
        ours["in_period"] = ((ours["time"] >= start) & (ours["time"] < end)).astype(bool)

    # The refund's RRN, then the payment's card, pair a refund line of a file without our
    # transaction id.
    ref_columns = (Refund.id, Refund.payment_id, _text(Payment.gateway_txn_id),
                   _text(Refund.rrn), _text(Payment.masked_pan), Refund.amount,
                   _raw_time(s, Refund.completed_at))
    ref_names = ["refund_id", "payment_id", "txn_id", "rrn", "masked_pan", "amount", "time"]
    base = (select(*ref_columns).join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.status == "succeeded"))
    refunds = _bulk_frame(s, base.where(Refund.completed_at >= start - margin,
                                        Refund.completed_at < end + margin), ref_names, arrow)
    refunded = lines.loc[lines["operation"] == "refund", "txn_id"]
    refunded = sorted(set(refunded.tolist()) - {""})
    for chunk in _chunks(refunded):
        more = _frame(s, base.where(Payment.gateway_txn_id.in_(chunk)), ref_names)
        more = more[~more["refund_id"].isin(refunds["refund_id"])]
        refunds = _appended(refunds, more)
    if refunds.empty:
        refunds = matching.empty_refunds()
    else:
        refunds["time"] = _as_utc_series(refunds["time"])
        refunds["in_period"] = ((refunds["time"] >= start)
                                & (refunds["time"] < end)).astype(bool)
    return ours, refunds


def _text(column: Any) -> Any:
    """A key that may be missing, as "" then: matching takes "" for no key, as NULL, and
    ADBC's SQLite driver types a column by its first 1,024 values, so one that starts
    with NULLs would be read as integers and fail at the first text."""
    return func.coalesce(column, "")


def _raw_time(s: Session, column: Any) -> Any:
    """A timestamp as microseconds since the epoch, computed by the database: a million
    ISO texts parsed in pandas cost more than the read. SQLite keeps naive UTC text
    («2026-10-01 09:30:00.123456», the fraction padded: a text without one reads 0)."""
    if s.get_bind().dialect.name == "sqlite":
        text = type_coerce(column, String)
        return (cast(func.strftime("%s", text), BigInteger) * 1_000_000
                + cast(func.substr(text + "000000", 21, 6), BigInteger))
    return cast(func.extract("epoch", column) * 1_000_000, BigInteger)


def _as_utc_series(values: pd.Series) -> pd.Series:
    """The inverse of ``_raw_time``."""
    return pd.to_datetime(pd.to_numeric(values), unit="us", utc=True)


def _bulk_frame(s: Session, query: Any, names: list[str], arrow: bool) -> pd.DataFrame:
    """A large read (a period's payments): through ADBC where it serves the database,
    its text as Arrow-backed strings; else ``_frame``."""
    engine = s.get_bind()
    table = arrow_reads.read_arrow(engine, query) if arrow else None  # type: ignore[arg-type]
    if table is None:
        return _frame(s, query, names)
    if table.num_rows == 0:
        return _frame_of_nothing(names)
    # One chunk per column: the driver's batches would follow every column taken.
    return table.rename_columns(names).combine_chunks().to_pandas()


def _appended(frame: pd.DataFrame, more: pd.DataFrame) -> pd.DataFrame:
    """``more`` (a few looked-up rows) after ``frame`` in ``frame``'s column types: a
    million Arrow strings concatenated with objects would be converted to objects."""
    if more.empty:
        return frame
    if frame.empty:
        return more
    return pd.concat([frame, more.astype(frame.dtypes.to_dict())], ignore_index=True)


def _frame_of_nothing(names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in names})


def _frame(s: Session, query: Any, names: list[str]) -> pd.DataFrame:
    """Rows of a Core query through the driver's cursor into a frame."""
    # SQLAlchemy binds the parameters; the rows come straight from the driver's cursor,
    # skipping the per-row result processing (a million rows).
    result = s.connection().execute(query)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    if not rows:
        return _frame_of_nothing(names)
    # Plain objects (C code builds them from the tuples): letting pandas infer Arrow
    # strings for a million ids costs more than the read, and matching factorises them.
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    for name in names:
        if name in ("payment_id", "refund_id", "amount"):
            frame[name] = frame[name].astype("int64")
    return frame


def _absent(keys: pd.Series, known: pd.Series) -> list[str]:
    """The distinct non-empty ``keys`` not among ``known``: the file's distinct ids less
    ours, as sets (a per-row ``isin`` on Arrow text is far slower; so was testing each
    of the file's distinct ids against a set of ours in a Python loop)."""
    absent = set(keys.dropna().tolist())
    absent.difference_update(known.dropna().tolist())
    return sorted(str(k) for k in absent if isinstance(k, str) and k.strip())


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for begin in range(0, len(values), LOOKUP_CHUNK):
        yield values[begin:begin + LOOKUP_CHUNK]


ITEM_COLUMNS_DB = ("run_id", "klass", "payment_id", "bank_line_no", "bank_txn_id", "bank_rrn",
                   "bank_operation", "bank_amount", "bank_masked_pan", "bank_time",
                   "our_amount", "our_status", "bank_fee", "bank_net", "expected_fee")
FEE_COLUMNS_DB = ITEM_COLUMNS_DB[-3:]


def _store_items(s: Session, run_id: int, result: pd.DataFrame,
                 progress: Progress | None) -> None:
    """The discrepancies, in the run's transaction, straight through the driver:
    executemany in large batches on SQLite, COPY on PostgreSQL (a run of a broken file
    may have a million)."""
    total = len(result)
    if not total:
        return
    connection = s.connection()
    sqlite = connection.dialect.name == "sqlite"
    columns = [
        [run_id] * total,
        _texts(result["klass"]),
        _ints(result["payment_id"]),
        _ints(result["line_no"]),
        _texts(result["bank_txn_id"]),
        _texts(result["bank_rrn"]),
        _texts(result["bank_operation"]),
        _ints(result["bank_amount"]),
        _texts(result["bank_masked_pan"]),
        _moments(result["bank_time"], sqlite),
        _ints(result["our_amount"]),
        _texts(result["our_status"]),
    ]
    stored = list(ITEM_COLUMNS_DB[:len(columns)])
    # The fee columns only where the file has them: binding three more NULLs per row
    # costs SQLite as much as a third of the whole insert (1.5 s a million rows).
    for name in FEE_COLUMNS_DB:
        if name in result and result[name].notna().any():
            columns.append(_ints(result[name]))
            stored.append(name)
    raw = connection.connection.driver_connection
    table = ReconciliationItem.__tablename__
    names = ", ".join(stored)
    if sqlite:
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
        for begin in range(0, total, SAVE_CHUNK):
            stop = min(begin + SAVE_CHUNK, total)
            raw.executemany(sql, zip(*(c[begin:stop] for c in columns)))
            if progress is not None:
                progress(80 + 19 * stop // total, 100)
        return
    cursor = raw.cursor()
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for begin in range(0, total, SAVE_CHUNK):
            stop = min(begin + SAVE_CHUNK, total)
            for row in zip(*(c[begin:stop] for c in columns)):
                copy.write_row(row)
            if progress is not None:
                progress(80 + 19 * stop // total, 100)


def _ints(series: pd.Series) -> list[Any]:
    return series.astype("Int64").to_numpy(dtype=object, na_value=None).tolist()


def _texts(series: pd.Series) -> list[Any]:
    """Text for the driver; None for missing and for empty text."""
    values = series.astype("str")
    return values.where(values != "").to_numpy(dtype=object, na_value=None).tolist()


def _moments(series: pd.Series, sqlite: bool) -> list[Any]:
    """UTC moments as text built on the whole column: SQLAlchemy's own SQLite format
    (fixed microseconds); the same with ``+00`` for PostgreSQL's COPY."""
    times = pd.to_datetime(series, utc=True)
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text = np.datetime_as_string(naive, unit="us")  # 2026-11-25T09:00:00.000000
    text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")  # the T, in place
    out: list[Any] = text.tolist()
    suffix = "" if sqlite else "+00"  # COPY's text form of a timestamptz, explicitly UTC
    if suffix:
        out = [v + suffix for v in out]
    for missing in np.flatnonzero(np.isnat(naive)):
        out[missing] = None
    return out


# --- reading runs ----------------------------------------------------------------

def _get_run(s: Session, run_id: int) -> ReconciliationRun:
    try:
        key = int(run_id)
    except (TypeError, ValueError):
        raise ValidationError("Сверка", "укажите номер сверки", field="run_id") from None
    run = s.get(ReconciliationRun, key)
    if run is None:
        raise NotFound(f"Сверка № {key} не найдена")
    return run


def _open_discrepancies(run_id: int) -> list[Any]:
    """The run's discrepancies nobody has resolved yet (matched items need no decision)."""
    return [ReconciliationItem.run_id == run_id, ReconciliationItem.klass != "matched",
            ReconciliationItem.resolved_at.is_(None)]


def _run_view(s: Session, run_id: int) -> RunView:
    run = _get_run(s, run_id)
    who = (COMMAND_LINE if run.staff_id is None else
           s.scalar(select(StaffUser.name).where(StaffUser.id == run.staff_id)) or "—")
    open_counts = {klass: count for klass, count in s.execute(
        select(ReconciliationItem.klass, func.count()).where(*_open_discrepancies(run.id))
        .group_by(ReconciliationItem.klass))}
    classes = tuple(ClassSummary(
        klass, CLASS_LABELS[klass], **{k: int((run.summary.get(klass) or {}).get(k, 0))
                                       for k in ("bank_count", "bank_sum", "our_count",
                                                 "our_sum")},
        open_count=int(open_counts.get(klass, 0))) for klass in CLASSES)
    return RunView(id=run.id, created_at=run.created_at, staff_name=who,
                   file_name=run.file_name, file_sha256=run.file_sha256,
                   period_from=run.period_from, period_to=run.period_to,
                   bank_lines=run.bank_lines, bank_total=run.bank_total,
                   our_count=run.our_payments, our_total=run.our_total, classes=classes,
                   closed_at=run.closed_at,
                   fees=bank_fees.FeeSummary.from_json(run.summary.get("fees")))


def get_run(app: App, actor: StaffActor, run_id: int) -> RunView:
    require_role(actor, RECONCILERS, "сверка с банком")
    with app.uow(write=False) as uow:
        return _run_view(uow.session, run_id)


def list_runs(app: App, actor: StaffActor, page: PageRequest) -> Page[RunView]:
    """Earlier runs, newest first, with who ran them."""
    require_role(actor, RECONCILERS, "сверка с банком")
    with app.uow(write=False) as uow:
        s = uow.session
        total, capped = capped_count(s, select(ReconciliationRun.id))
        ids = list(s.scalars(select(ReconciliationRun.id)
                             .order_by(ReconciliationRun.created_at.desc(),
                                       ReconciliationRun.id.desc())
                             .limit(page.sql_limit).offset(page.sql_offset)))
        items = [_run_view(s, run_id) for run_id in ids]
    return Page(items=items, total=total, request=page, total_capped=capped)


def _check_klass(klass: str) -> str:
    if klass not in CLASSES:
        raise ValidationError("Класс", "одно из: " + ", ".join(CLASS_LABELS.values()),
                              field="klass")
    return klass


def _items_query(run_id: int, klass: str | None):  # type: ignore[no-untyped-def]
    query = (select(ReconciliationItem, StaffUser.name)
             .outerjoin(StaffUser, StaffUser.id == ReconciliationItem.resolved_by_staff_id)
             .where(ReconciliationItem.run_id == run_id))
    if klass is not None:
        query = query.where(ReconciliationItem.klass == klass)
    return query.order_by(ReconciliationItem.id)


def _item_row(item: ReconciliationItem, resolver: str | None) -> ItemRow:
    return ItemRow(id=item.id, klass=item.klass, payment_id=item.payment_id,
                   bank_line_no=item.bank_line_no, bank_txn_id=item.bank_txn_id,
                   bank_rrn=item.bank_rrn, bank_operation=item.bank_operation,
                   bank_amount=item.bank_amount, bank_masked_pan=item.bank_masked_pan,
                   bank_time=item.bank_time, our_amount=item.our_amount,
                   our_status=item.our_status, resolved_at=item.resolved_at,
                   resolved_by=resolver, resolution_comment=item.resolution_comment,
                   bank_fee=item.bank_fee, bank_net=item.bank_net,
                   expected_fee=item.expected_fee, resolution_kind=item.resolution_kind,
                   paired_item_id=item.paired_item_id)


def _matched_row(fields: dict[str, Any]) -> ItemRow:
    """A matched pair (``matched_store.rows``) as the item row it used to be."""
    return ItemRow(id=None, klass="matched", resolved_at=None, resolved_by=None,
                   resolution_comment=None, **fields)


def run_detail(app: App, actor: StaffActor, run_id: int, klass: str,
               page: PageRequest) -> RunDetail:
    """A run with one page of the items of one class."""
    require_role(actor, RECONCILERS, "сверка с банком")
    klass = _check_klass(klass)
    with app.uow(write=False) as uow:
        s = uow.session
        view = _run_view(s, run_id)
        if klass == "matched":
            total, capped = matched_store.count(s, view.id), False
            rows = [_matched_row(r) for r in matched_store.page(
                s, view.id, page.offset, page.size)]
        else:
            query = _items_query(view.id, klass)
            total, capped = capped_count(s, select(ReconciliationItem.id).where(
                ReconciliationItem.run_id == view.id, ReconciliationItem.klass == klass))
            rows = [_item_row(*row) for row in s.execute(query.limit(page.sql_limit)
                                                         .offset(page.sql_offset))]
    return RunDetail(view, klass, Page(items=rows, total=total, request=page,
                                       total_capped=capped))


# --- export ----------------------------------------------------------------------

SUMMARY_COLUMNS = (exports.Column("Класс", width=26), exports.Column("Строк в реестре банка", "int"),
                   exports.Column("Сумма по банку", "money"),
                   exports.Column("Операций у нас", "int"), exports.Column("Сумма у нас", "money"),
                   exports.Column("Не разрешено", "int"))
ITEM_COLUMNS = (exports.Column("Строка файла", "int", 10), exports.Column("Операция", width=10),
                exports.Column("ID транзакции", width=24), exports.Column("RRN", width=14),
                exports.Column("Карта", width=18), exports.Column("Время (банк)", "datetime"),
                exports.Column("Сумма банка", "money", 14), exports.Column("Платёж №", "int", 10),
                exports.Column("Сумма у нас", "money", 14), exports.Column("Статус у нас"),
                exports.Column("Разрешено", "datetime"), exports.Column("Кем", width=20),
                exports.Column("Что сделано", width=26),
                exports.Column("Комментарий", width=40),
                exports.Column("Пара: строка сверки №", "int", 12),
                exports.Column("Комиссия банка", "money", 14),
                exports.Column("К перечислению", "money", 14),
                exports.Column("Комиссия по тарифу", "money", 14),
                exports.Column("Комиссия не по тарифу", width=12))


def export_row(r: ItemRow) -> tuple[Any, ...]:
    """An item as a row of ``ITEM_COLUMNS`` (the XLSX sheets and the CSV)."""
    return (r.bank_line_no, r.operation_label, r.bank_txn_id or "", r.bank_rrn or "",
            r.bank_masked_pan or "", r.bank_time, r.bank_amount, r.payment_id,
            r.our_amount, r.our_status_label, r.resolved_at, r.resolved_by or "",
            resolutions.kind_label(r.resolution_kind) if r.resolved_at else "",
            r.resolution_comment or "", r.paired_item_id, r.bank_fee, r.bank_net, r.expected_fee,
            "да" if r.fee_differs else "")


def export_items(s: Session, run_id: int, klass: str | None,
                 limit: int = EXPORT_LIMIT) -> Iterator[ItemRow]:
    """A class's items of a run (every class: None, the matched pairs first, as they
    were stored) for an export, at most ``limit``, streamed."""
    left = limit
    if klass in (None, "matched"):
        for fields in matched_store.every(s, run_id, limit):
            left -= 1
            yield _matched_row(fields)
        if klass == "matched":
            return
    if left <= 0:
        return
    result = s.execute(_items_query(run_id, klass).limit(left)
                       .execution_options(yield_per=2000))
    for item, resolver in result:
        yield _item_row(item, resolver)


def off_tariff_items(s: Session, run_id: int, limit: int) -> list[ItemRow]:
    """The run's lines whose bank commission is not the tariff's (both known), matched
    pairs first, at most ``limit``."""
    found = [_matched_row(f) for f in matched_store.off_tariff(s, run_id, limit)]
    item = ReconciliationItem
    query = _items_query(run_id, None).where(
        item.expected_fee.is_not(None), item.bank_fee.is_not(None),
        item.bank_fee != item.expected_fee).limit(max(0, limit - len(found)))
    return found + [_item_row(*row) for row in s.execute(query)]


def export_run(app: App, actor: StaffActor, run_id: int,
               progress: Callable[[int], None] | None = None) -> bytes:
    """The run as XLSX: a summary sheet and one sheet per class (audited)."""
    require_role(actor, RECONCILERS, "сверка с банком")
    counted = 0
    with app.uow(write=False) as uow:
        s = uow.session
        view = _run_view(s, run_id)

        def items(klass: str) -> Iterator[tuple[Any, ...]]:
            nonlocal counted
            for r in export_items(s, view.id, klass):
                counted += 1
                yield export_row(r)

        summary = [(c.label, c.bank_count, c.bank_sum, c.our_count, c.our_sum, c.open_count)
                   for c in view.classes]
        summary.append(("Итого", view.bank_lines, view.bank_total, view.our_count,
                        view.our_total, view.open_discrepancies))
        sheets = [exports.Sheet("Итоги", SUMMARY_COLUMNS, summary)]
        sheets += [exports.Sheet(CLASS_LABELS[klass], ITEM_COLUMNS, items(klass))
                   for klass in CLASSES]
        if view.fees is not None:
            sheets += bank_fees.sheets(view.fees)
        data = exports.to_xlsx_sheets(sheets, progress)
    with app.uow() as uow:
        audit.record(uow.session, at=app.now(), action="reconciliation.export", actor=actor,
                     after={"run_id": view.id, "rows": counted, "format": "xlsx"})
        uow.commit()
    return data
