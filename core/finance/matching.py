"""Matching the acquirer's registry with our payments: pure pandas on whole columns.

Every bank line and every one of our operations ends in exactly one row of the
result, and every row has exactly one class:

``matched``            the line and our operation agree;
``amount_differs``     the same transaction, a different amount;
``status_differs``     the bank charged but our payment is not succeeded (or refunded),
                       or the bank refunded a payment we have no such refund for;
``missing_at_bank``    our successful operation of the period has no line;
``missing_at_ours``    a line with no operation of ours;
``duplicate_at_bank``  a second line for the same transaction and operation.

Payment lines are paired first by the gateway's transaction id, then by RRN, then the
rest by amount + masked card + a time window (``WINDOW``; a line whose file gave the
day alone, ``day_only``, by amount + card on the same Moscow day). A line repeating the
RRN of another line is the same operation listed twice: it is never paired on its own,
and it is a duplicate of the payment its first line was paired with.

Refund lines are paired with our succeeded refunds by the payment's transaction id and
amount (the n-th refund of an amount with the n-th line of it), then by transaction id
alone (amount differs). A refund line that names no payment of ours (a bank's own export
without our transaction id) is paired by the refund's own RRN, which the acquirer
answered and we keep (amount differs if the amounts do; a further line of that RRN is
the refund listed again, a duplicate). The rest (our refunds made before we kept the RRN,
banks that write another number there) by the refunded payment's card + amount within
the window (the same Moscow day for a ``day_only`` line), nearest first, one to one;
then by the card alone as ``amount_differs``, but only where that card has exactly one
such line and one such refund of ours within the window: a refund is known by its
payment, and the card is the only trace of the payment such a file has, so a lone pair
on one card minutes apart is the same refund with another amount, while several on a
card (a payer's bills refunded together) are left to the suggested pairs rather than
guessed.

The transaction id is factorised to integer codes once, over the union of every side;
our ids are unique, so a code indexes our row directly (an array look-up, no hash join).
RRN and card are factorised only over the few rows the id left unpaired, and the result
is assembled from numpy/Arrow columns of one dtype each, sorted by one lexsort.
Our side of a row is counted once: a duplicate line, or a bank refund of a payment
we have no refund for, carries the payment's id for reference but no ``our_amount``.
"""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.payments import machine

CLASSES = ("matched", "amount_differs", "status_differs", "missing_at_bank",
           "missing_at_ours", "duplicate_at_bank")
DISCREPANCIES = CLASSES[1:]
CLASS_LABELS = {"matched": "Совпало", "amount_differs": "Расходится сумма",
                "status_differs": "Расходится статус", "missing_at_bank": "Нет в реестре банка",
                "missing_at_ours": "Нет у нас", "duplicate_at_bank": "Дубль в реестре банка"}
# Our statuses under which the card was charged.
CHARGED = machine.values(machine.CHARGED)
WINDOW = timedelta(minutes=10)
WINDOW_PASSES = 5  # greedy one-to-one passes of the window step (each pass is vectorised)
REFUND_STATUS = "refund"  # ``our_status`` of a row whose our side is a succeeded refund

BANK_COLUMNS = ("line_no", "txn_id", "rrn", "masked_pan", "amount", "operation", "time")
OUR_COLUMNS = ("payment_id", "txn_id", "rrn", "masked_pan", "amount", "status", "time",
               "in_period")
# ``rrn``: the refund's own (the acquirer's answer; None before we kept it), ``masked_pan``:
# the refunded payment's card; both pair a line without our transaction id.
REFUND_COLUMNS = ("refund_id", "payment_id", "txn_id", "rrn", "masked_pan", "amount", "time",
                  "in_period")
RESULT_COLUMNS = ("klass", "matched_by", "line_no", "payment_id", "refund_id", "bank_txn_id",
                  "bank_rrn", "bank_operation", "bank_amount", "bank_masked_pan", "bank_time",
                  "our_amount", "our_status")


def empty_ours() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in OUR_COLUMNS})


def empty_refunds() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REFUND_COLUMNS})


def match(bank: pd.DataFrame, ours: pd.DataFrame,
          refunds: pd.DataFrame | None = None, window: timedelta = WINDOW) -> pd.DataFrame:
    """Classify every line of ``bank`` (``BANK_COLUMNS``) and every operation of ``ours``
    (payments, ``OUR_COLUMNS``: ``amount`` is what the card was charged, amount +
    commission; ``in_period``: expected in this registry) and ``refunds``
    (``REFUND_COLUMNS``, succeeded ones; ``txn_id`` is their payment's). Our operations
    not in the period and not paired with a line are left out (another period's)."""
    refunds = empty_refunds() if refunds is None else refunds
    bank = bank.reset_index(drop=True)
    ours = ours.reset_index(drop=True)
    refunds = refunds.reset_index(drop=True)
    # One code space for the transaction id over every side: -1 for an empty id (never
    # joins). RRN and card are factorised later, over the few rows left unpaired.
    bank["k_txn"], ours["k_txn"], refunds["k_txn"] = _codes(bank["txn_id"], ours["txn_id"],
                                                            refunds["txn_id"])
    bank["amount"] = bank["amount"].astype("int64")
    ours["amount"] = ours["amount"].astype("int64")
    refunds["amount"] = refunds["amount"].astype("int64")
    ours["time"] = pd.to_datetime(ours["time"], utc=True).astype("datetime64[ns, UTC]")
    bank["time"] = pd.to_datetime(bank["time"], utc=True).astype("datetime64[ns, UTC]")
    refunds["time"] = pd.to_datetime(refunds["time"], utc=True).astype("datetime64[ns, UTC]")
    for column in ("rrn", "masked_pan"):
        if column not in refunds:
            refunds[column] = None

    is_payment = (bank["operation"] == "payment").to_numpy(dtype=bool)
    payment_rows = _payments(bank[is_payment], ours, window)
    refund_rows = _refunds(bank[~is_payment], refunds, ours, window)
    parts = [p for p in (*payment_rows, *refund_rows) if not p.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in RESULT_COLUMNS})
    result = pd.concat([_conform(p) for p in parts], ignore_index=True)
    # Class order, then line, then payment (missing last): one lexsort on integer keys.
    big = np.iinfo("int64").max
    order = np.lexsort((result["payment_id"].to_numpy(dtype="int64", na_value=big),
                        result["line_no"].to_numpy(dtype="int64", na_value=big),
                        _class_order(result["klass"])))
    return result.take(order).reset_index(drop=True)


_CLASS_ORDER = {klass: n for n, klass in enumerate(CLASSES)}


def _class_order(klass: pd.Series) -> np.ndarray:
    """Each row's class position in ``CLASSES`` (mapping six distinct values, not 1M)."""
    codes, uniques = pd.factorize(klass)
    return np.array([_CLASS_ORDER[k] for k in uniques], dtype="int64")[codes]
# One dtype per result column in every part, so concatenating a million rows copies
# instead of converting (a missing column would come in as objects and drag the rest).
RESULT_DTYPES = {"klass": "object", "matched_by": "object", "line_no": "Int64",
                 "payment_id": "Int64", "refund_id": "Int64", "bank_txn_id": "str",
                 "bank_rrn": "str", "bank_operation": "str", "bank_amount": "Int64",
                 "bank_masked_pan": "str", "bank_time": "datetime64[ns, UTC]",
                 "our_amount": "Int64", "our_status": "object"}


def _conform(part: pd.DataFrame) -> pd.DataFrame:
    columns = {}
    for column, dtype in RESULT_DTYPES.items():
        if column in part:
            values = part[column]
            columns[column] = values if values.dtype == dtype else values.astype(dtype)
        else:
            columns[column] = pd.Series(pd.NA if dtype == "Int64" else None, dtype=dtype,
                                        index=part.index)
    return pd.DataFrame(columns, index=part.index, copy=False)


def summarise(result: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per class: lines and the net sum (payments minus refunds) on each side."""
    sign_bank = np.where(result["bank_operation"] == "refund", -1, 1)
    sign_ours = np.where(result["our_status"] == REFUND_STATUS, -1, 1)
    bank_amount = pd.to_numeric(result["bank_amount"], errors="coerce")
    our_amount = pd.to_numeric(result["our_amount"], errors="coerce")
    frame = pd.DataFrame({
        "klass": result["klass"],
        "bank_count": bank_amount.notna().astype("int64"),
        "bank_sum": (bank_amount.fillna(0) * sign_bank).astype("int64"),
        "our_count": our_amount.notna().astype("int64"),
        "our_sum": (our_amount.fillna(0) * sign_ours).astype("int64"),
    })
    grouped = frame.groupby("klass").sum()
    return {klass: {column: int(grouped.at[klass, column]) if klass in grouped.index else 0
                    for column in ("bank_count", "bank_sum", "our_count", "our_sum")}
            for klass in CLASSES}


# --- payments -------------------------------------------------------------------

_PAYMENT_CLASSES = np.array(["matched", "duplicate_at_bank", "missing_at_ours",
                             "status_differs", "amount_differs"], dtype=object)


def _payments(lines: pd.DataFrame, ours: pd.DataFrame,
              window: timedelta) -> list[pd.DataFrame]:
    """Pairs by transaction id through an array lookup (our ids are unique: a code
    indexes our row directly, no hash join); RRN and the window only for what is left."""
    if not lines["line_no"].is_monotonic_increasing:
        lines = lines.sort_values("line_no", kind="stable")
    lines = lines.reset_index(drop=True)
    k_line = lines["k_txn"].to_numpy(dtype="int64")
    k_ours = ours["k_txn"].to_numpy(dtype="int64")
    size = int(max(k_line.max(initial=-1), k_ours.max(initial=-1))) + 2
    # Our row of each code; the first one if a code repeats (the database forbids it).
    where = np.flatnonzero(k_ours >= 0)[::-1]
    row_of = np.full(size, -1, dtype="int64")
    row_of[k_ours[where]] = where
    first = np.ones(len(lines), dtype=bool)
    if len(lines):
        # A line repeating an earlier line's transaction id is a duplicate.
        _, first_at = np.unique(k_line, return_index=True)
        first = np.zeros(len(lines), dtype=bool)
        first[first_at] = True
    duplicate = (k_line >= 0) & ~first
    pos = np.where((k_line >= 0) & ~duplicate, row_of[np.maximum(k_line, 0)], -1)
    pos[k_line < 0] = -1
    matched_by = np.where(pos >= 0, "txn", None).astype(object)
    # A duplicate names the payment of its transaction, but counts nothing on our side.
    dup_row = np.where(duplicate, row_of[np.maximum(k_line, 0)], -1)
    matched_by[duplicate] = "txn"

    taken = np.zeros(len(ours), dtype=bool)
    taken[pos[pos >= 0]] = True
    rest = np.flatnonzero((pos < 0) & ~duplicate)
    if len(rest):
        _pair_the_rest(lines, ours, rest, window, pos, taken, matched_by, duplicate, dup_row)

    paired = pos >= 0
    our_amount = _take(ours["amount"].to_numpy(dtype="int64"), pos, 0)
    our_status = _take(ours["status"].to_numpy(dtype=object), pos, None)
    # Charged per our row by a hash look-up, then taken by line: numpy's isin on a
    # million objects sorts them (0.8 s). The class as a small code, then its name.
    charged = _take(ours["status"].isin(CHARGED).to_numpy(dtype=bool), pos, False)
    bank_amount = lines["amount"].to_numpy(dtype="int64")
    klass = _PAYMENT_CLASSES[np.select(
        [duplicate, ~paired, ~charged, bank_amount != our_amount], [1, 2, 3, 4], 0)]
    ids = ours["payment_id"].to_numpy(dtype="int64")
    payment_id = pd.array(_take(ids, np.where(paired, pos, dup_row), -1), dtype="Int64")
    payment_id[(~paired) & (dup_row < 0)] = pd.NA
    bank_side = pd.DataFrame({
        # Objects kept as objects: pandas would infer Arrow text from a million Python
        # strings (1.2 s) and the result's object columns would convert them back.
        "klass": _objects(klass), "matched_by": _objects(matched_by),
        "line_no": lines["line_no"].to_numpy(),
        "payment_id": payment_id,
        "bank_txn_id": lines["txn_id"].astype("str").array,
        "bank_rrn": lines["rrn"].astype("str").array,
        "bank_operation": lines["operation"].astype("str").array,
        "bank_amount": pd.array(bank_amount, dtype="Int64"),
        "bank_masked_pan": lines["masked_pan"].astype("str").array,
        "bank_time": lines["time"].array,
        "our_amount": pd.array(our_amount, dtype="Int64"), "our_status": _objects(our_status),
    }, copy=False)
    bank_side.loc[~paired, "our_amount"] = pd.NA

    left = ~taken & ours["in_period"].astype(bool).to_numpy() & ours["status"].isin(
        CHARGED).to_numpy()
    expected = ours.loc[left]
    missing_bank = pd.DataFrame({
        "klass": "missing_at_bank", "payment_id": expected["payment_id"].astype("Int64"),
        "our_amount": expected["amount"], "our_status": expected["status"]})
    return [bank_side, missing_bank]


def _pair_the_rest(lines: pd.DataFrame, ours: pd.DataFrame, rest: np.ndarray,
                   window: timedelta, pos: np.ndarray, taken: np.ndarray,
                   matched_by: np.ndarray, duplicate: np.ndarray, dup_row: np.ndarray) -> None:
    """RRN, then amount + card + time, for the ``rest`` of the lines (rows the
    transaction id left unpaired); fills the arrays in place (``taken`` by our row, the
    others by line row). A line repeating another line's RRN is the same operation
    listed twice: only the first is paired, the repeat is its duplicate."""
    by_txn = pos >= 0
    rest_lines, rest_ours = _with_codes(lines.iloc[rest], ours.loc[~taken])
    k_rrn = rest_lines["k_rrn"].to_numpy(dtype="int64")
    again = (k_rrn >= 0) & pd.Series(k_rrn).duplicated().to_numpy(dtype=bool)
    firsts = rest_lines.loc[(k_rrn >= 0) & ~again, ["row", "k_rrn"]]
    repeats = rest_lines.loc[again, ["row", "k_rrn"]]
    rest_lines = rest_lines[~again]
    # RRN only where it is unique among what is left on our side.
    unique_rrn = rest_ours[~rest_ours.duplicated("k_rrn", keep=False)]
    by_rrn = _pair_on(rest_lines, unique_rrn, "k_rrn", "rrn").drop_duplicates("line_no")
    by_rrn = by_rrn.drop_duplicates("our_row")
    _record(by_rrn, pos, taken, matched_by)
    rest_lines = rest_lines[~rest_lines["row"].isin(by_rrn["row"])]
    rest_ours = rest_ours[~rest_ours["our_row"].isin(by_rrn["our_row"])]
    # The RRN of a line paired by the transaction id: that line listed again (one pass
    # over the lines, only when an unpaired line has an RRN at all).
    named = rest_lines.loc[rest_lines["k_rrn"] >= 0, ["row", "rrn"]]
    if len(named) and by_txn.any():
        hit = np.flatnonzero(lines["rrn"].isin(named["rrn"]).to_numpy(dtype=bool) & by_txn)
        owners = pd.DataFrame({"rrn": lines["rrn"].iloc[hit].to_numpy(dtype=object),
                               "owner": pos[hit]}).drop_duplicates("rrn")
        found = named.astype({"rrn": object}).merge(owners, on="rrn")
        _mark_duplicates(found["row"].to_numpy(dtype="int64"),
                         found["owner"].to_numpy(dtype="int64"), duplicate, dup_row,
                         matched_by)
        rest_lines = rest_lines[~rest_lines["row"].isin(found["row"])]
    _record(_pair_in_window(rest_lines, rest_ours, window), pos, taken, matched_by)
    if len(repeats):
        pairs = repeats.merge(firsts.rename(columns={"row": "first"}), on="k_rrn")
        first = pairs["first"].to_numpy(dtype="int64")
        owner = np.where(pos[first] >= 0, pos[first], dup_row[first])
        rows = pairs["row"].to_numpy(dtype="int64")
        _mark_duplicates(rows[owner >= 0], owner[owner >= 0], duplicate, dup_row, matched_by)


def _record(found: pd.DataFrame, pos: np.ndarray, taken: np.ndarray,
            matched_by: np.ndarray) -> None:
    rows = found["row"].to_numpy(dtype="int64")
    our_rows = found["our_row"].to_numpy(dtype="int64")
    pos[rows] = our_rows
    matched_by[rows] = found["matched_by"].to_numpy(dtype=object)
    taken[our_rows] = True


def _mark_duplicates(rows: np.ndarray, our_rows: np.ndarray, duplicate: np.ndarray,
                     dup_row: np.ndarray, matched_by: np.ndarray) -> None:
    duplicate[rows] = True
    dup_row[rows] = our_rows
    matched_by[rows] = "rrn"


def _objects(values: np.ndarray) -> pd.Series:
    """A column of Python objects that stays one (a frame built from a bare object
    array infers Arrow text from it)."""
    return pd.Series(values, dtype=object, copy=False)


def _take(values: np.ndarray, rows: np.ndarray, fill: object) -> np.ndarray:
    """``values[rows]``, ``fill`` where a row is -1 (also when ``values`` is empty)."""
    padded = np.append(values, np.array([fill], dtype=values.dtype))
    return padded[np.where(rows >= 0, rows, len(values))]


def _with_codes(lines: pd.DataFrame, ours: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The unpaired rest with RRN and card codes and their row numbers on each side."""
    lines = lines.assign(row=lines.index.to_numpy())
    ours = ours.assign(our_row=ours.index.to_numpy())
    lines["k_rrn"], ours["k_rrn"] = _codes(lines["rrn"], ours["rrn"])
    lines["k_pan"], ours["k_pan"] = _codes(lines["masked_pan"], ours["masked_pan"])
    return lines, ours


def _pair_on(lines: pd.DataFrame, ours: pd.DataFrame, key: str, how: str) -> pd.DataFrame:
    left = lines.loc[lines[key] >= 0, ["row", "line_no", key]]
    right = ours.loc[ours[key] >= 0, ["our_row", key]]
    return left.merge(right, on=key, how="inner")[["row", "line_no", "our_row"]].assign(
        matched_by=how)


def _pair_in_window(lines: pd.DataFrame, ours: pd.DataFrame,
                    window: timedelta) -> pd.DataFrame:
    """One-to-one pairs by amount and card within the window: the nearest in time first,
    charged payments before others; a few greedy passes, each on whole columns."""
    columns = ["row", "line_no", "our_row", "matched_by"]
    day_only = ["day_only"] if "day_only" in lines else []
    left = lines.loc[lines["k_pan"] >= 0, ["row", "line_no", "amount", "k_pan", "time",
                                          *day_only]]
    right = ours.loc[ours["k_pan"] >= 0, ["our_row", "payment_id", "amount", "k_pan", "time",
                                          "status"]]
    if left.empty or right.empty:
        return pd.DataFrame(columns=columns)
    candidates = _in_window(left.merge(right, on=["amount", "k_pan"], suffixes=("", "_ours")),
                            window)
    candidates["uncharged"] = ~candidates["status"].isin(CHARGED)
    candidates = candidates.sort_values(["uncharged", "gap", "line_no", "payment_id"])
    chosen = _one_to_one(candidates, "row", "our_row")
    return chosen[["row", "line_no", "our_row"]].assign(matched_by="window")


def _in_window(candidates: pd.DataFrame, window: timedelta) -> pd.DataFrame:
    """The candidate pairs (``time`` the line's, ``time_ours`` ours) close enough in
    time, with their ``gap``. A line with the day alone (its time the Moscow midnight):
    any time of that day."""
    since = candidates["time_ours"] - candidates["time"]
    gap = since.abs()
    close = gap <= pd.Timedelta(window)
    if "day_only" in candidates:
        close |= (candidates["day_only"].astype(bool) & (since >= pd.Timedelta(0))
                  & (since < pd.Timedelta(days=1)))
    return candidates.assign(gap=gap)[close]


def _one_to_one(candidates: pd.DataFrame, left: str, right: str) -> pd.DataFrame:
    """Greedy one-to-one choice among ``candidates`` sorted best first: a few passes,
    each taking every ``left`` row's best that is its ``right`` row's best too."""
    chosen = []
    for _ in range(WINDOW_PASSES):
        if candidates.empty:
            break
        best = candidates.drop_duplicates(left).drop_duplicates(right)
        chosen.append(best)
        candidates = candidates[~candidates[left].isin(best[left])
                                & ~candidates[right].isin(best[right])]
    return pd.concat(chosen, ignore_index=True) if chosen else candidates


def _bank_side(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename a frame's line columns to the result's ``bank_*`` names."""
    return frame.rename(columns={"txn_id": "bank_txn_id", "rrn": "bank_rrn",
                                 "operation": "bank_operation", "amount": "bank_amount",
                                 "masked_pan": "bank_masked_pan", "time": "bank_time"}).drop(
        columns=["k_txn", "k_rrn", "k_pan", "time_ours"], errors="ignore")


# --- refunds --------------------------------------------------------------------

def _refunds(lines: pd.DataFrame, refunds: pd.DataFrame, ours: pd.DataFrame,
             window: timedelta) -> list[pd.DataFrame]:
    lines = lines.sort_values("line_no", kind="stable").copy()
    refunds = refunds.sort_values("refund_id", kind="stable").copy()
    # The n-th line of (txn, amount) with our n-th refund of (txn, amount).
    lines["n"] = lines.groupby(["k_txn", "amount"]).cumcount()
    refunds["n"] = refunds.groupby(["k_txn", "amount"]).cumcount()
    keys = ["k_txn", "amount", "n"]
    exact = (lines.loc[lines["k_txn"] >= 0, ["line_no", *keys]]
             .merge(refunds.loc[refunds["k_txn"] >= 0, ["refund_id", *keys]], on=keys))
    rest_lines = lines[~lines["line_no"].isin(exact["line_no"])].copy()
    rest_refunds = refunds[~refunds["refund_id"].isin(exact["refund_id"])].copy()
    rest_lines["m"] = rest_lines.groupby("k_txn").cumcount()
    rest_refunds["m"] = rest_refunds.groupby("k_txn").cumcount()
    differs = (rest_lines.loc[rest_lines["k_txn"] >= 0, ["line_no", "k_txn", "m"]]
               .merge(rest_refunds.loc[rest_refunds["k_txn"] >= 0, ["refund_id", "k_txn", "m"]],
                      on=["k_txn", "m"]))
    rest_lines = rest_lines[~rest_lines["line_no"].isin(differs["line_no"])]
    rest_refunds = rest_refunds[~rest_refunds["refund_id"].isin(differs["refund_id"])]
    # A line repeating an already paired (txn, amount): a duplicate; a refund of a
    # payment we know but never refunded so: status differs; a line naming no payment
    # of ours: by the card (below); otherwise unknown to us.
    seen = exact[["k_txn", "amount"]].drop_duplicates().assign(seen=True)
    rest_lines = rest_lines.merge(seen, on=["k_txn", "amount"], how="left")
    known = ours.loc[ours["k_txn"] >= 0, ["k_txn", "payment_id", "status"]].rename(
        columns={"status": "payment_status"})
    rest_lines = rest_lines.merge(known, on="k_txn", how="left")
    duplicate = rest_lines["seen"].eq(True)
    known_payment = rest_lines["payment_id"].notna()
    unnamed = rest_lines[~duplicate & ~known_payment]
    by_rrn, repeats = _refunds_by_rrn(unnamed, refunds, rest_refunds)
    done = pd.concat([by_rrn["line_no"], repeats["line_no"]])
    by_card = pd.concat([by_rrn, _refunds_by_card(
        unnamed[~unnamed["line_no"].isin(done)],
        rest_refunds[~rest_refunds["refund_id"].isin(by_rrn["refund_id"])], window)],
        ignore_index=True)
    # A line repeating the RRN of our refund already paired: that refund listed again.
    again = rest_lines["line_no"].isin(repeats["line_no"])
    if again.any():
        owner = repeats.set_index("line_no")["payment_id"]
        rest_lines.loc[again, "payment_id"] = rest_lines.loc[again, "line_no"].map(owner)
        duplicate = duplicate | again

    paired = pd.concat([exact.assign(klass="matched", matched_by="txn"),
                        differs.assign(klass="amount_differs", matched_by="txn"), by_card],
                       ignore_index=True)
    paired = paired[["line_no", "refund_id", "klass", "matched_by"]].merge(
        lines.drop(columns=["n"]), on="line_no").merge(
        refunds[["refund_id", "payment_id", "amount"]].rename(columns={"amount": "our_amount"}),
        on="refund_id").assign(our_status=REFUND_STATUS)

    unpaired = ~rest_lines["line_no"].isin(by_card["line_no"]).to_numpy(dtype=bool)
    rest_lines = rest_lines[unpaired]
    duplicate, known_payment = duplicate[unpaired], known_payment[unpaired]
    rest_refunds = rest_refunds[~rest_refunds["refund_id"].isin(by_card["refund_id"])]
    rest_lines["klass"] = np.select([duplicate, known_payment],
                                    ["duplicate_at_bank", "status_differs"], "missing_at_ours")
    rest_lines["our_status"] = rest_lines["payment_status"].where(
        rest_lines["klass"] == "status_differs", None)
    rest_lines["matched_by"] = np.select([known_payment, again[unpaired]], ["txn", "rrn"], None)
    rest_lines = rest_lines.drop(columns=["n", "m", "seen", "payment_status"])
    expected = rest_refunds[rest_refunds["in_period"].astype(bool)]
    missing_bank = pd.DataFrame({
        "klass": "missing_at_bank", "payment_id": expected["payment_id"].astype("Int64"),
        "refund_id": expected["refund_id"].astype("Int64"), "our_amount": expected["amount"],
        "our_status": REFUND_STATUS})
    for frame in (paired, rest_lines):
        frame["payment_id"] = frame["payment_id"].astype("Int64")
    return [_bank_side(paired), _bank_side(rest_lines), missing_bank]


def _refunds_by_rrn(lines: pd.DataFrame, refunds: pd.DataFrame,
                    free: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refund lines naming no payment of ours with our refunds by the refund's own RRN
    (where it is unique among ``refunds``): the first line of an RRN with the refund, if
    it is still ``free`` (``line_no``, ``refund_id``, ``klass``, ``matched_by``); a
    further line of it, or a line of a refund the transaction id paired already, is that
    refund listed again (``line_no``, ``payment_id``)."""
    pairs = pd.DataFrame(columns=["line_no", "refund_id", "klass", "matched_by"])
    repeats = pd.DataFrame(columns=["line_no", "payment_id"])
    if lines.empty or not refunds["rrn"].notna().any():
        return pairs, repeats
    lines = lines[["line_no", "rrn", "amount"]].reset_index(drop=True)
    refunds = refunds[["refund_id", "payment_id", "rrn", "amount"]].reset_index(drop=True)
    lines["k_rrn"], refunds["k_rrn"] = _codes(lines["rrn"], refunds["rrn"])
    refunds = refunds[(refunds["k_rrn"] >= 0) & ~refunds.duplicated("k_rrn", keep=False)]
    found = (lines.loc[lines["k_rrn"] >= 0, ["line_no", "k_rrn", "amount"]]
             .merge(refunds.drop(columns="rrn"), on="k_rrn", suffixes=("", "_ours"))
             .sort_values("line_no", kind="stable"))
    first = found[~found.duplicated("k_rrn") & found["refund_id"].isin(free["refund_id"])]
    pairs = first[["line_no", "refund_id"]].assign(
        klass=np.where(first["amount"] == first["amount_ours"], "matched", "amount_differs"),
        matched_by="rrn")
    repeats = found.loc[~found["line_no"].isin(first["line_no"]), ["line_no", "payment_id"]]
    return pairs, repeats


def _refunds_by_card(lines: pd.DataFrame, refunds: pd.DataFrame,
                     window: timedelta) -> pd.DataFrame:
    """Refund lines naming no payment of ours with our refunds (``line_no``,
    ``refund_id``, ``klass``, ``matched_by``): by the refunded payment's card + amount
    within the window, nearest first, one to one (``matched``); then a lone pair on a
    card, one line and one refund of it within the window (``amount_differs``).

    After the RRN (``_refunds_by_rrn``), for our refunds without one (made before we kept
    it) and banks that put another number there: some repeat the payment's RRN on each
    of its refunds, so a repeated RRN that is not our refund's is no sign of a line
    listed twice."""
    columns = ["line_no", "refund_id", "klass", "matched_by"]
    if lines.empty or refunds.empty:
        return pd.DataFrame(columns=columns)
    day_only = ["day_only"] if "day_only" in lines else []
    lines = lines[["line_no", "masked_pan", "amount", "time", *day_only]].reset_index(drop=True)
    refunds = refunds[["refund_id", "masked_pan", "amount", "time"]].reset_index(drop=True)
    lines["k_pan"], refunds["k_pan"] = _codes(lines["masked_pan"], refunds["masked_pan"])
    lines, refunds = lines[lines["k_pan"] >= 0], refunds[refunds["k_pan"] >= 0]
    candidates = _in_window(lines.merge(refunds, on=["k_pan", "amount"],
                                        suffixes=("", "_ours")), window)
    same = _one_to_one(candidates.sort_values(["gap", "line_no", "refund_id"]),
                       "line_no", "refund_id")
    lines = lines[~lines["line_no"].isin(same["line_no"])]
    refunds = refunds[~refunds["refund_id"].isin(same["refund_id"])]
    candidates = _in_window(lines.merge(refunds, on="k_pan", suffixes=("", "_ours")), window)
    lone = candidates[~candidates.duplicated("line_no", keep=False)
                      & ~candidates.duplicated("refund_id", keep=False)]
    return pd.concat([same[["line_no", "refund_id"]].assign(klass="matched", matched_by="window"),
                      lone[["line_no", "refund_id"]].assign(klass="amount_differs",
                                                            matched_by="card")],
                     ignore_index=True)


def _codes(*columns: pd.Series) -> tuple[np.ndarray, ...]:
    """Integer codes of several string columns over one shared vocabulary; -1 for empty.

    Arrow's dictionary encoding of the columns joined (our ids converted from objects
    once): about 4x faster than pandas' factorising a million Python strings, which was
    the largest part of matching. Emptiness is judged on the distinct values, not per
    row. When every side is Arrow text (the file's columns) blank means spaces alone too;
    ids from the database are never padded, so with them only "" is blank."""
    arrow = all(isinstance(c.dtype, pd.StringDtype) for c in columns)
    try:
        joined = pa.concat_arrays([_arrow_text(c) for c in columns])
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not text after all (a test's numbers)
        return _pandas_codes(arrow, *columns)
    encoded = joined.dictionary_encode()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype("int64")
    words = encoded.dictionary
    blank_words = pc.utf8_trim_whitespace(words) if arrow else words
    empty = pc.equal(blank_words, "").to_numpy(zero_copy_only=False)
    return _split(codes, np.flatnonzero(empty), columns)


def _arrow_text(column: pd.Series) -> pa.Array:
    """A column as Arrow text (pandas keeps its text as large strings)."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        text = pa.array(column.array).cast(pa.large_string())
        # Several chunks when the column was concatenated or read in batches (ADBC).
        return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    return pa.array(column.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)


def _pandas_codes(arrow: bool, *columns: pd.Series) -> tuple[np.ndarray, ...]:
    joined = pd.concat(columns if arrow else [c.astype("object") for c in columns],
                       ignore_index=True)
    codes, uniques = pd.factorize(joined, use_na_sentinel=True)
    if arrow:
        empty = pd.Series(uniques).str.strip().eq("").to_numpy(dtype=bool)
    else:
        empty = np.asarray(uniques, dtype=object) == ""
    return _split(codes, np.flatnonzero(empty), columns)


def _split(codes: np.ndarray, blank: np.ndarray,
           columns: tuple[pd.Series, ...]) -> tuple[np.ndarray, ...]:
    if len(blank):
        codes = np.where(np.isin(codes, blank), -1, codes)
    out, start = [], 0
    for column in columns:
        out.append(codes[start:start + len(column)])
        start += len(column)
    return tuple(out)
