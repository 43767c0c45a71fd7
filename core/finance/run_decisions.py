"""Decisions about a reconciliation run's discrepancies, after the matching.

Resolving records what was done (``core.finance.resolutions``: money returned to the
customer, payment confirmed by the bank, the bank's error reported, written off — this
one with its reason in the comment) and a comment. A «нет у нас» line and a «нет в
банке» payment of the same run that are one operation the matching could not pair (a
fee taken off, a minute over midnight, a typo in the card mask) are paired by hand with
a reason: both end resolved as «Сопоставлено вручную», naming each other, and the bank's
item names the payment. ``suggest_pairs`` finds likely pairs (``pair_suggestions``).

A run is closed exactly when none of its discrepancies is left open; it may be re-opened
with a reason, and while it is open a decision may be revised (a pair is undone with
``unpair_items`` first). Every decision is audited; a refused one changes nothing.

``open_by_period`` sums what is still open (count, bank side, our side) per run or per
month of the runs whose period meets a range of days.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.actors import StaffActor, require_role
from core.app import App
from core.db.models import Payment, ReconciliationItem, ReconciliationRun
from core.errors import NotFound, ValidationError
from core.finance import pair_suggestions, resolutions
from core.finance.matching import CLASS_LABELS, REFUND_STATUS
# The run's own read model and look-ups (one package: the decisions were split off it).
from core.finance.reconciliation import (RECONCILERS, ItemRow, RunView, _get_run, _item_row,
                                         _items_query, _open_discrepancies, _run_view)
from core.staff import audit
from core.text import refuse_control_characters
from core.timefmt import format_date

COMMENT_LABEL = "Комментарий"
REASON_LABEL = "Причина"
KIND_LABEL = "Что сделано"
COMMENT_MAX = 1000
SUGGESTION_LIMIT = 50
BANK_ONLY, OURS_ONLY = "missing_at_ours", "missing_at_bank"
GROUPINGS = {"run": "по сверкам", "month": "по месяцам"}
MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь",
          "октябрь", "ноябрь", "декабрь")
RANGE_DAYS_MAX = 3660


def _text(value: str | None, label: str, field: str, why: str) -> str:
    text = " ".join(refuse_control_characters(value, label, field).split())
    if not text:
        raise ValidationError(label, why, field=field)
    if len(text) > COMMENT_MAX:
        raise ValidationError(label, f"не длиннее {COMMENT_MAX} символов", field=field)
    return text


def _kind(kind: str | None) -> str:
    if kind == resolutions.PAIRED:
        raise ValidationError(KIND_LABEL, "«Сопоставлено вручную» записывается сопоставлением "
                              "строки банка с платежом", field="kind")
    if kind not in resolutions.CHOOSABLE:
        raise ValidationError(KIND_LABEL, "выберите одно из: " + ", ".join(
            f"«{resolutions.KINDS[k]}»" for k in resolutions.CHOOSABLE), field="kind")
    return kind


def _item(s: Session, item_id: Any, label: str = "Строка сверки",
          field: str = "item_id") -> ReconciliationItem:
    try:
        key = int(item_id)
    except (TypeError, ValueError):
        raise ValidationError(label, "укажите строку сверки", field=field) from None
    item = s.get(ReconciliationItem, key)
    if item is None:
        raise NotFound(f"{label}: строка сверки № {key} не найдена")
    return item


def _locked_run(s: Session, run_id: int) -> ReconciliationRun:
    """The run, locked for this transaction: the decisions of one run take turns, so the
    one that resolves the last open item sees the others' and closes the run (two
    people resolving the last two items at once each saw the other's still open, and
    the run stayed open with nothing left). SQLite's write transactions take turns
    anyway (BEGIN IMMEDIATE)."""
    _get_run(s, run_id)  # its own message when there is none
    return s.scalars(select(ReconciliationRun).where(ReconciliationRun.id == int(run_id))
                     .with_for_update().execution_options(populate_existing=True)).one()


def _open_run(s: Session, run_id: int, *items: ReconciliationItem) -> ReconciliationRun:
    """The run, locked, refused if closed; ``items`` re-read under the lock."""
    run = _locked_run(s, run_id)
    for item in items:
        s.refresh(item)
    if run.closed_at is not None:
        raise ValidationError("Сверка", f"сверка № {run.id} закрыта; откройте её заново, "
                              "чтобы изменить решение", field="run_id")
    return run


def _close_if_done(s: Session, run: ReconciliationRun, now: datetime) -> bool:
    """Close the run when none of its discrepancies is open (matched need no decision)."""
    s.flush()
    left = s.scalar(select(func.count()).select_from(ReconciliationItem).where(
        *_open_discrepancies(run.id))) or 0
    if left == 0:
        run.closed_at = now
    return left == 0


def _view(app: App, run_id: int) -> RunView:
    with app.uow(write=False) as uow:
        return _run_view(uow.session, run_id)


def _described(item: ReconciliationItem) -> str:
    if item.bank_line_no is not None:
        return f"строка файла {item.bank_line_no}"
    return f"платёж № {item.payment_id}"


# --- resolving -------------------------------------------------------------------

def resolve_item(app: App, actor: StaffActor, item_id: int, kind: str | None,
                 comment: str) -> RunView:
    """Resolve one discrepancy: what was done and a comment; the run closes when none is
    left open."""
    require_role(actor, RECONCILERS, "сверка с банком")
    kind = _kind(kind)
    why = ("укажите причину списания" if kind == resolutions.WRITTEN_OFF
           else "напишите, как разрешено расхождение")
    text = _text(comment, COMMENT_LABEL, "comment", why)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        item = _item(s, item_id)
        if item.klass == "matched":
            raise ValidationError("Строка сверки", "совпавшую операцию разрешать не нужно",
                                  field="item_id")
        run = _open_run(s, item.run_id, item)
        if item.paired_item_id is not None:
            raise ValidationError("Строка сверки", "сопоставлена вручную со строкой сверки "
                                  f"№ {item.paired_item_id}; чтобы решить иначе, сначала "
                                  "снимите сопоставление", field="item_id")
        before = ({"comment": item.resolution_comment, "staff_id": item.resolved_by_staff_id,
                   "resolution_kind": item.resolution_kind}
                  if item.resolved_at is not None else None)
        item.resolved_at, item.resolved_by_staff_id = now, actor.staff_id
        item.resolution_comment, item.resolution_kind = text, kind
        closed = _close_if_done(s, run, now)
        audit.record(s, at=now, action="reconciliation.resolve", actor=actor,
                     reason=text, before=before,
                     after={"run_id": run.id, "item_id": item.id, "klass": item.klass,
                            "payment_id": item.payment_id, "bank_line_no": item.bank_line_no,
                            "resolution_kind": kind, "run_closed": closed})
        uow.commit()
        run_id = run.id
    return _view(app, run_id)


def reopen_run(app: App, actor: StaffActor, run_id: int, reason: str) -> RunView:
    """Re-open a closed run: its decisions may be revised (each resolve is audited)."""
    require_role(actor, RECONCILERS, "сверка с банком")
    why = _text(reason, REASON_LABEL, "reason", "укажите, зачем сверка открывается заново")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        run = _locked_run(s, run_id)
        if run.closed_at is None:
            raise ValidationError("Сверка", f"сверка № {run.id} и так открыта", field="run_id")
        closed_at = run.closed_at
        run.closed_at = None
        audit.record(s, at=now, action="reconciliation.reopen", actor=actor, reason=why,
                     before={"run_id": run.id, "closed_at": closed_at.isoformat()},
                     after={"run_id": run.id, "closed_at": None})
        uow.commit()
    return _view(app, run_id)


# --- pairing by hand -------------------------------------------------------------

def _operation(item: ReconciliationItem) -> str:
    if item.klass == BANK_ONLY:
        return "refund" if item.bank_operation == "refund" else "payment"
    return "refund" if item.our_status == REFUND_STATUS else "payment"


def pair_items(app: App, actor: StaffActor, bank_item_id: int, our_item_id: int,
               reason: str) -> RunView:
    """Pair a «нет у нас» line with a «нет в банке» payment of the same run: one
    operation. Both end resolved as «Сопоставлено вручную», naming each other."""
    require_role(actor, RECONCILERS, "сверка с банком")
    why = _text(reason, REASON_LABEL, "reason",
                "укажите, почему строка банка и платёж — одна операция")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        line = _item(s, bank_item_id, "Строка банка", "bank_item_id")
        ours = _item(s, our_item_id, "Платёж", "our_item_id")
        if line.klass != BANK_ONLY:
            raise ValidationError("Строка банка", f"сопоставляется строка класса "
                                  f"«{CLASS_LABELS[BANK_ONLY]}», а {_described(line)} — "
                                  f"«{CLASS_LABELS[line.klass]}»", field="bank_item_id")
        if ours.klass != OURS_ONLY:
            raise ValidationError("Платёж", f"сопоставляется строка класса "
                                  f"«{CLASS_LABELS[OURS_ONLY]}», а {_described(ours)} — "
                                  f"«{CLASS_LABELS[ours.klass]}»", field="our_item_id")
        if line.run_id != ours.run_id:
            raise ValidationError("Платёж", f"{_described(ours)} из сверки № {ours.run_id}, "
                                  f"а строка банка — из сверки № {line.run_id}; сопоставляются "
                                  "строки одной сверки", field="our_item_id")
        run = _open_run(s, line.run_id, line, ours)
        for item, label, field in ((line, "Строка банка", "bank_item_id"),
                                   (ours, "Платёж", "our_item_id")):
            if item.paired_item_id is not None:
                raise ValidationError(label, f"{_described(item)} уже сопоставлена со строкой "
                                      f"сверки № {item.paired_item_id}", field=field)
        if _operation(line) != _operation(ours):
            words = {"payment": "оплата", "refund": "возврат"}
            raise ValidationError("Платёж", f"в банке {words[_operation(line)]}, а у нас "
                                  f"{words[_operation(ours)]}: это не одна операция",
                                  field="our_item_id")
        # An item resolved otherwise before (the run is open: decisions may be revised).
        before = ({"bank_resolution_kind": line.resolution_kind,
                   "our_resolution_kind": ours.resolution_kind}
                  if line.resolved_at is not None or ours.resolved_at is not None else None)
        for item, other in ((line, ours), (ours, line)):
            item.resolved_at, item.resolved_by_staff_id = now, actor.staff_id
            item.resolution_comment, item.resolution_kind = why, resolutions.PAIRED
            item.paired_item_id = other.id
        line.payment_id = ours.payment_id
        closed = _close_if_done(s, run, now)
        audit.record(s, at=now, action="reconciliation.pair", actor=actor, reason=why,
                     before=before,
                     after={"run_id": run.id, "item_id": line.id, "paired_item_id": ours.id,
                            "bank_line_no": line.bank_line_no, "payment_id": ours.payment_id,
                            "bank_amount": line.bank_amount, "our_amount": ours.our_amount,
                            "run_closed": closed})
        uow.commit()
        run_id = run.id
    return _view(app, run_id)


def unpair_items(app: App, actor: StaffActor, item_id: int, reason: str) -> RunView:
    """Undo a manual pairing (either item of it): both are open again, the bank's item
    names no payment."""
    require_role(actor, RECONCILERS, "сверка с банком")
    why = _text(reason, REASON_LABEL, "reason", "укажите, почему сопоставление снимается")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        item = _item(s, item_id)
        if item.paired_item_id is None:
            raise ValidationError("Строка сверки", f"{_described(item)} не сопоставлена "
                                  "вручную", field="item_id")
        run = _open_run(s, item.run_id, item)
        if item.paired_item_id is None:  # unpaired meanwhile
            raise ValidationError("Строка сверки", f"{_described(item)} не сопоставлена "
                                  "вручную", field="item_id")
        other = _item(s, item.paired_item_id)
        s.refresh(other)
        line, ours = (item, other) if item.klass == BANK_ONLY else (other, item)
        payment_id = ours.payment_id
        for one in (line, ours):
            one.resolved_at = one.resolved_by_staff_id = None
            one.resolution_comment = one.resolution_kind = one.paired_item_id = None
        line.payment_id = None
        audit.record(s, at=now, action="reconciliation.unpair", actor=actor, reason=why,
                     before={"run_id": run.id, "item_id": line.id, "paired_item_id": ours.id,
                             "payment_id": payment_id},
                     after={"run_id": run.id, "item_id": line.id, "paired_item_id": None,
                            "payment_id": None})
        uow.commit()
        run_id = run.id
    return _view(app, run_id)


# --- suggestions -----------------------------------------------------------------

@dataclass(frozen=True)
class SuggestedSide:
    item_id: int
    bank_line_no: int | None
    payment_id: int | None
    amount: int | None
    masked_pan: str | None
    time: datetime | None


@dataclass(frozen=True)
class Suggestion:
    bank: SuggestedSide  # the «нет у нас» line
    ours: SuggestedSide  # the «нет в банке» payment
    rule: str  # pair_suggestions.RULES
    reason: str


@dataclass(frozen=True)
class Suggestions:
    items: tuple[Suggestion, ...]  # best first, at most the limit
    total: int  # every pair found


def _frame(s: Session, query: Any, names: list[str]) -> pd.DataFrame:
    rows = s.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=names)


def suggest_pairs(app: App, actor: StaffActor, run_id: int,
                  limit: int = SUGGESTION_LIMIT) -> Suggestions:
    """Likely pairs among the run's open «нет у нас» payment lines and «нет в банке»
    payments (``pair_suggestions``), each with the reason it was suggested."""
    require_role(actor, RECONCILERS, "сверка с банком")
    with app.uow(write=False) as uow:
        s = uow.session
        run = _get_run(s, run_id)
        item = ReconciliationItem
        still_open = (item.run_id == run.id, item.resolved_at.is_(None))
        bank = _frame(s, select(item.id, item.bank_rrn, item.bank_masked_pan, item.bank_amount,
                                item.bank_time, item.bank_line_no)
                      .where(*still_open, item.klass == BANK_ONLY,
                             item.bank_operation == "payment", item.bank_amount.is_not(None)),
                      [*pair_suggestions.BANK_COLUMNS, "bank_line_no"])
        ours = _frame(s, select(item.id, item.payment_id, Payment.rrn, Payment.masked_pan,
                                item.our_amount, Payment.commission,
                                func.coalesce(Payment.finalized_at, Payment.created_at))
                      .join(Payment, Payment.id == item.payment_id)
                      .where(*still_open, item.klass == OURS_ONLY,
                             item.our_status != REFUND_STATUS, item.our_amount.is_not(None)),
                      list(pair_suggestions.OUR_COLUMNS))
    found, total = pair_suggestions.suggest(bank, ours, limit)
    lines = bank.set_index("item_id")
    payments = ours.set_index("item_id")
    out = []
    for row in found.itertuples(index=False):  # at most ``limit`` rows
        b, o = lines.loc[row.bank_item_id], payments.loc[row.our_item_id]
        out.append(Suggestion(
            SuggestedSide(int(row.bank_item_id), int(b["bank_line_no"]), None,
                          int(b["amount"]), b["masked_pan"] or None, b["time"]),
            SuggestedSide(int(row.our_item_id), None, int(o["payment_id"]), int(o["amount"]),
                          o["masked_pan"] or None, o["time"]),
            row.rule, row.reason))
    return Suggestions(tuple(out), total)


# --- what is still open, per period ------------------------------------------------

@dataclass(frozen=True)
class OpenPeriod:
    label: str  # the run's period and number, or the month
    runs: int
    closed_runs: int
    open_count: int
    bank_sum: int  # kopecks of the open items, payments minus refunds
    our_sum: int
    run_id: int | None = None  # grouped by run


@dataclass(frozen=True)
class OpenSummary:
    rows: tuple[OpenPeriod, ...]
    total: OpenPeriod


def _day(value: Any, label: str, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise ValidationError(label, "укажите дату", field=field)


def open_by_period(app: App, actor: StaffActor, date_from: date | None, date_to: date | None,
                   by: str = "month") -> OpenSummary:
    """Open discrepancies and their sums of the runs whose period meets the days from
    ``date_from`` to ``date_to`` (inclusive), per run or per month of the run's first day."""
    require_role(actor, RECONCILERS, "сверка с банком")
    first = _day(date_from, "С", "date_from")
    last = _day(date_to, "По", "date_to")
    if first > last:
        raise ValidationError("С", f"{format_date(first)} позже даты «по» "
                              f"({format_date(last)})", field="date_from")
    if (last - first).days > RANGE_DAYS_MAX:
        raise ValidationError("По", "период не длиннее 10 лет", field="date_to")
    if by not in GROUPINGS:
        raise ValidationError("Группировка", "одна из: " + ", ".join(GROUPINGS.values()),
                              field="by")
    item, run = ReconciliationItem, ReconciliationRun
    bank_signed = case((item.bank_operation == "refund", -item.bank_amount),
                       else_=item.bank_amount)
    our_signed = case((item.our_status == REFUND_STATUS, -item.our_amount),
                      else_=item.our_amount)
    with app.uow(write=False) as uow:
        s = uow.session
        runs = list(s.execute(select(run.id, run.period_from, run.period_to, run.closed_at)
                              .where(run.period_from <= last, run.period_to >= first)
                              .order_by(run.period_from, run.id)))
        sums = {run_id: (count, int(bank or 0), int(our or 0)) for run_id, count, bank, our in
                s.execute(select(item.run_id, func.count(), func.sum(bank_signed),
                                 func.sum(our_signed))
                          .join(run, run.id == item.run_id)
                          .where(run.period_from <= last, run.period_to >= first,
                                 item.klass != "matched", item.resolved_at.is_(None))
                          .group_by(item.run_id))}
    groups: dict[Any, list[Any]] = {}
    for r in runs:
        key = r.id if by == "run" else (r.period_from.year, r.period_from.month)
        groups.setdefault(key, []).append(r)
    rows = []
    for key, members in groups.items():
        counts = [sums.get(r.id, (0, 0, 0)) for r in members]
        if by == "run":
            r = members[0]
            period = (format_date(r.period_from) if r.period_from == r.period_to else
                      f"{format_date(r.period_from)} — {format_date(r.period_to)}")
            label = f"№ {r.id} · {period}"
        else:
            label = f"{MONTHS[key[1] - 1]} {key[0]}"
        rows.append(OpenPeriod(label, len(members), sum(r.closed_at is not None for r in members),
                               sum(c[0] for c in counts), sum(c[1] for c in counts),
                               sum(c[2] for c in counts), members[0].id if by == "run" else None))
    total = OpenPeriod("Итого", sum(r.runs for r in rows), sum(r.closed_runs for r in rows),
                       sum(r.open_count for r in rows), sum(r.bank_sum for r in rows),
                       sum(r.our_sum for r in rows))
    return OpenSummary(tuple(rows), total)


def open_items(app: App, actor: StaffActor, run_id: int, klass: str,
               limit: int = 100) -> list[ItemRow]:
    """The first ``limit`` items of a class nobody has decided yet (to pick from)."""
    require_role(actor, RECONCILERS, "сверка с банком")
    if klass not in (BANK_ONLY, OURS_ONLY):
        raise ValidationError("Класс", f"«{CLASS_LABELS[BANK_ONLY]}» или "
                              f"«{CLASS_LABELS[OURS_ONLY]}»", field="klass")
    with app.uow(write=False) as uow:
        s = uow.session
        run = _get_run(s, run_id)
        query = (_items_query(run.id, klass).where(ReconciliationItem.resolved_at.is_(None))
                 .limit(max(0, int(limit))))
        return [_item_row(*row) for row in s.execute(query)]
