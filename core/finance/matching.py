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
rest by amount + masked card + a time window (``WINDOW``). Refund lines are paired with
our succeeded refunds by the payment's transaction id and amount (the n-th refund of an
amount with the n-th line of it), then by transaction id alone (amount differs).

String keys are factorised to integer codes once, over the union of both sides, so
every merge is an integer merge (PERFORMANCE.md: 10x faster than string merges).
Our side of a row is counted once: a duplicate line, or a bank refund of a payment
we have no refund for, carries the payment's id for reference but no ``our_amount``.
"""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

CLASSES = ("matched", "amount_differs", "status_differs", "missing_at_bank",
           "missing_at_ours", "duplicate_at_bank")
DISCREPANCIES = CLASSES[1:]
CLASS_LABELS = {"matched": "Совпало", "amount_differs": "Расходится сумма",
                "status_differs": "Расходится статус", "missing_at_bank": "Нет в реестре банка",
                "missing_at_ours": "Нет у нас", "duplicate_at_bank": "Дубль в реестре банка"}
# Our statuses under which the card was charged (see core.payments.machine.PaymentStatus).
CHARGED = ("succeeded", "partially_refunded", "refunded")
WINDOW = timedelta(minutes=10)
WINDOW_PASSES = 5  # greedy one-to-one passes of the window step (each pass is vectorised)
REFUND_STATUS = "refund"  # ``our_status`` of a row whose our side is a succeeded refund

BANK_COLUMNS = ("line_no", "txn_id", "rrn", "masked_pan", "amount", "operation", "time")
OUR_COLUMNS = ("payment_id", "txn_id", "rrn", "masked_pan", "amount", "status", "time",
               "in_period")
REFUND_COLUMNS = ("refund_id", "payment_id", "txn_id", "amount", "time", "in_period")
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
    # One code space per key over every side: -1 for an empty key (never joins).
    bank["k_txn"], ours["k_txn"], refunds["k_txn"] = _codes(bank["txn_id"], ours["txn_id"],
                                                            refunds["txn_id"])
    bank["k_rrn"], ours["k_rrn"] = _codes(bank["rrn"], ours["rrn"])
    bank["k_pan"], ours["k_pan"] = _codes(bank["masked_pan"], ours["masked_pan"])
    bank["amount"] = bank["amount"].astype("int64")
    ours["amount"] = ours["amount"].astype("int64")
    refunds["amount"] = refunds["amount"].astype("int64")
    ours["time"] = pd.to_datetime(ours["time"], utc=True)
    bank["time"] = pd.to_datetime(bank["time"], utc=True)

    payment_rows = _payments(bank[bank["operation"] == "payment"], ours, window)
    refund_rows = _refunds(bank[bank["operation"] == "refund"], refunds, ours)
    parts = [p for p in (*payment_rows, *refund_rows) if not p.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in RESULT_COLUMNS})
    result = pd.concat(parts, ignore_index=True)
    for column in RESULT_COLUMNS:
        if column not in result:
            result[column] = None
    order = pd.Categorical(result["klass"], categories=list(CLASSES), ordered=True)
    result = result.assign(_o=order).sort_values(["_o", "line_no", "payment_id"],
                                                 na_position="last", kind="stable")
    return result.loc[:, list(RESULT_COLUMNS)].reset_index(drop=True)


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

def _payments(lines: pd.DataFrame, ours: pd.DataFrame,
              window: timedelta) -> list[pd.DataFrame]:
    lines = lines.sort_values("line_no", kind="stable")
    duplicate = (lines["k_txn"] >= 0) & lines.duplicated("k_txn", keep="first")
    primary, dups = lines[~duplicate], lines[duplicate]

    pairs = [_pair_on(primary, ours, "k_txn", "txn")]
    taken_lines = set(pairs[0]["line_no"])
    taken_ours = set(pairs[0]["payment_id"])
    rest_lines = primary[~primary["line_no"].isin(taken_lines)]
    rest_ours = ours[~ours["payment_id"].isin(taken_ours)]
    # RRN only where it is unique among what is left on our side.
    unique_rrn = rest_ours[~rest_ours.duplicated("k_rrn", keep=False)]
    by_rrn = _pair_on(rest_lines, unique_rrn, "k_rrn", "rrn").drop_duplicates("line_no")
    by_rrn = by_rrn.drop_duplicates("payment_id")
    pairs.append(by_rrn)
    rest_lines = rest_lines[~rest_lines["line_no"].isin(by_rrn["line_no"])]
    rest_ours = rest_ours[~rest_ours["payment_id"].isin(by_rrn["payment_id"])]
    by_window = _pair_in_window(rest_lines, rest_ours, window)
    pairs.append(by_window)
    rest_lines = rest_lines[~rest_lines["line_no"].isin(by_window["line_no"])]
    rest_ours = rest_ours[~rest_ours["payment_id"].isin(by_window["payment_id"])]

    paired = pd.concat(pairs, ignore_index=True)
    paired = (paired.merge(lines, on="line_no", how="left")
              .merge(ours[["payment_id", "amount", "status"]].rename(
                  columns={"amount": "our_amount", "status": "our_status"}),
                  on="payment_id", how="left"))
    charged = paired["our_status"].isin(CHARGED)
    paired["klass"] = np.select([~charged, paired["amount"] != paired["our_amount"]],
                                ["status_differs", "amount_differs"], "matched")
    paired["payment_id"] = paired["payment_id"].astype("Int64")

    missing_ours = rest_lines.assign(klass="missing_at_ours", matched_by=None)
    # A duplicate names the payment of its first line, but counts nothing on our side.
    dups = dups.merge(ours.loc[ours["k_txn"] >= 0, ["k_txn", "payment_id"]], on="k_txn",
                      how="left").assign(klass="duplicate_at_bank", matched_by="txn")
    expected = rest_ours[rest_ours["in_period"].astype(bool)
                         & rest_ours["status"].isin(CHARGED)]
    missing_bank = pd.DataFrame({
        "klass": "missing_at_bank", "payment_id": expected["payment_id"].astype("Int64"),
        "our_amount": expected["amount"], "our_status": expected["status"]})
    return [_bank_side(paired), _bank_side(missing_ours), _bank_side(dups), missing_bank]


def _pair_on(lines: pd.DataFrame, ours: pd.DataFrame, key: str, how: str) -> pd.DataFrame:
    left = lines.loc[lines[key] >= 0, ["line_no", key]]
    right = ours.loc[ours[key] >= 0, ["payment_id", key]]
    return left.merge(right, on=key, how="inner")[["line_no", "payment_id"]].assign(
        matched_by=how)


def _pair_in_window(lines: pd.DataFrame, ours: pd.DataFrame,
                    window: timedelta) -> pd.DataFrame:
    """One-to-one pairs by amount and card within the window: the nearest in time first,
    charged payments before others; a few greedy passes, each on whole columns."""
    columns = ["line_no", "payment_id", "matched_by"]
    left = lines.loc[lines["k_pan"] >= 0, ["line_no", "amount", "k_pan", "time"]]
    right = ours.loc[ours["k_pan"] >= 0, ["payment_id", "amount", "k_pan", "time", "status"]]
    if left.empty or right.empty:
        return pd.DataFrame(columns=columns)
    candidates = left.merge(right, on=["amount", "k_pan"], suffixes=("", "_ours"))
    candidates["gap"] = (candidates["time"] - candidates["time_ours"]).abs()
    candidates = candidates[candidates["gap"] <= pd.Timedelta(window)]
    candidates["uncharged"] = ~candidates["status"].isin(CHARGED)
    candidates = candidates.sort_values(["uncharged", "gap", "line_no", "payment_id"])
    chosen = []
    for _ in range(WINDOW_PASSES):
        if candidates.empty:
            break
        best = (candidates.drop_duplicates("line_no")
                .drop_duplicates("payment_id"))
        chosen.append(best[["line_no", "payment_id"]])
        candidates = candidates[~candidates["line_no"].isin(best["line_no"])
                                & ~candidates["payment_id"].isin(best["payment_id"])]
    if not chosen:
        return pd.DataFrame(columns=columns)
    return pd.concat(chosen, ignore_index=True).assign(matched_by="window")


def _bank_side(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename a frame's line columns to the result's ``bank_*`` names."""
    return frame.rename(columns={"txn_id": "bank_txn_id", "rrn": "bank_rrn",
                                 "operation": "bank_operation", "amount": "bank_amount",
                                 "masked_pan": "bank_masked_pan", "time": "bank_time"}).drop(
        columns=["k_txn", "k_rrn", "k_pan", "time_ours"], errors="ignore")


# --- refunds --------------------------------------------------------------------

def _refunds(lines: pd.DataFrame, refunds: pd.DataFrame,
             ours: pd.DataFrame) -> list[pd.DataFrame]:
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
    paired = pd.concat([exact.assign(klass="matched"),
                        differs.assign(klass="amount_differs")], ignore_index=True)
    paired = paired[["line_no", "refund_id", "klass"]].merge(
        lines.drop(columns=["n"]), on="line_no").merge(
        refunds[["refund_id", "payment_id", "amount"]].rename(columns={"amount": "our_amount"}),
        on="refund_id").assign(our_status=REFUND_STATUS, matched_by="txn")

    rest_lines = rest_lines[~rest_lines["line_no"].isin(differs["line_no"])]
    rest_refunds = rest_refunds[~rest_refunds["refund_id"].isin(differs["refund_id"])]
    # A line repeating an already paired (txn, amount): a duplicate; a refund of a
    # payment we know but never refunded so: status differs; otherwise unknown to us.
    seen = exact[["k_txn", "amount"]].drop_duplicates().assign(seen=True)
    rest_lines = rest_lines.merge(seen, on=["k_txn", "amount"], how="left")
    known = ours.loc[ours["k_txn"] >= 0, ["k_txn", "payment_id", "status"]].rename(
        columns={"status": "payment_status"})
    rest_lines = rest_lines.merge(known, on="k_txn", how="left")
    duplicate = rest_lines["seen"].eq(True)
    known_payment = rest_lines["payment_id"].notna()
    rest_lines["klass"] = np.select([duplicate, known_payment],
                                    ["duplicate_at_bank", "status_differs"], "missing_at_ours")
    rest_lines["our_status"] = rest_lines["payment_status"].where(
        rest_lines["klass"] == "status_differs", None)
    rest_lines["matched_by"] = np.where(known_payment, "txn", None)
    rest_lines = rest_lines.drop(columns=["n", "m", "seen", "payment_status"])
    expected = rest_refunds[rest_refunds["in_period"].astype(bool)]
    missing_bank = pd.DataFrame({
        "klass": "missing_at_bank", "payment_id": expected["payment_id"].astype("Int64"),
        "refund_id": expected["refund_id"].astype("Int64"), "our_amount": expected["amount"],
        "our_status": REFUND_STATUS})
    for frame in (paired, rest_lines):
        frame["payment_id"] = frame["payment_id"].astype("Int64")
    return [_bank_side(paired), _bank_side(rest_lines), missing_bank]


def _codes(*columns: pd.Series) -> tuple[np.ndarray, ...]:
    """Integer codes of several string columns over one shared vocabulary; -1 for empty."""
    joined = pd.concat([c.astype("object") for c in columns], ignore_index=True)
    joined = joined.where(joined.notna() & (joined.astype(str).str.strip() != ""), None)
    codes, _ = pd.factorize(joined, use_na_sentinel=True)
    out, start = [], 0
    for column in columns:
        out.append(codes[start:start + len(column)])
        start += len(column)
    return tuple(out)
