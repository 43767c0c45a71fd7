"""Likely pairs among a run's open «нет у нас» lines and «нет в банке» payments: pure pandas.

A line the bank lists and a payment it does not are often the same operation that the
matching could not pair: the bank's reference instead of ours, a fee taken off, a minute
over midnight, a typo in the card mask. Each rule is one hash join on whole columns:

``rrn``     the same RRN (the bank's own retrieval reference: no time limit);
``card``    the same amount and card within a day;
``digit``   the same amount within a day, the card differing in one digit;
``fee``     the same card within a day, the amounts differing by no more than our
            commission of that payment (the bank listed the amount without it, or a
            fee taken twice).

A key shared by many lines and many payments (a test card every payment uses, a round
amount) pairs nothing in particular, and its join would grow as the product of both
sides (100,000 open items each): such keys are left out (``AMBIGUOUS``), so the joins stay
about as large as their inputs. A pair found by several rules keeps its best one; pairs
are ranked by rule, then time apart, then the difference of the amounts.
"""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from core.money import format_kopecks

BANK_COLUMNS = ("item_id", "rrn", "masked_pan", "amount", "time")
OUR_COLUMNS = ("item_id", "payment_id", "rrn", "masked_pan", "amount", "commission", "time")
RESULT_COLUMNS = ("bank_item_id", "our_item_id", "rule", "gap", "difference", "reason")
RULES = ("rrn", "card", "digit", "fee")  # best first
DAY = timedelta(days=1)
AMBIGUOUS = 50  # a key pairing more line × payment combinations suggests nothing


def suggest(bank: pd.DataFrame, ours: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, int]:
    """The ``limit`` best pairs (``RESULT_COLUMNS``) and how many were found in all."""
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in RESULT_COLUMNS})
    if bank.empty or ours.empty:
        return empty, 0
    left = _prepared(bank, list(BANK_COLUMNS))
    right = _prepared(ours, list(OUR_COLUMNS))
    found = [frame for frame in (_by_rrn(left, right), _by_card(left, right),
                                 _by_digit(left, right), _by_fee(left, right))
             if not frame.empty]
    if not found:
        return empty, 0
    pairs = pd.concat(found, ignore_index=True)
    pairs["rank"] = pairs["rule"].map({rule: n for n, rule in enumerate(RULES)})
    pairs["gap_s"] = pairs["gap"].dt.total_seconds().fillna(np.inf)
    pairs["abs_diff"] = pairs["difference"].abs()
    pairs = pairs.sort_values(["rank", "gap_s", "abs_diff", "bank_item_id", "our_item_id"],
                              kind="stable")
    pairs = pairs.drop_duplicates(["bank_item_id", "our_item_id"])
    total = len(pairs)
    top = pairs.head(limit).copy()
    top["reason"] = [_reason(row) for row in top.itertuples(index=False)]  # ≤ limit rows
    return top[list(RESULT_COLUMNS)].reset_index(drop=True), total


def _prepared(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame[columns].copy()
    for text in ("rrn", "masked_pan"):
        out[text] = out[text].fillna("").astype("str").str.strip()
    out["amount"] = out["amount"].astype("int64")
    if "commission" in out:
        out["commission"] = out["commission"].fillna(0).astype("int64")
    out["time"] = pd.to_datetime(out["time"], utc=True)
    return out


def _join(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Inner join on ``keys``, leaving out keys whose combinations exceed ``AMBIGUOUS``.

    The keys become one integer code over both sides first, so counting a key's rows
    and the join itself work on one int64 column."""
    if left.empty or right.empty:
        return pd.DataFrame()
    code = np.zeros(len(left) + len(right), dtype="int64")
    for key in keys:
        codes, uniques = pd.factorize(pd.concat([left[key], right[key]], ignore_index=True))
        code = code * (len(uniques) + 1) + codes
    inverse = np.unique(code, return_inverse=True)[1].reshape(-1)
    code_left, code_right = inverse[:len(left)], inverse[len(left):]
    size = int(inverse.max()) + 1
    combinations = (np.bincount(code_left, minlength=size)
                    * np.bincount(code_right, minlength=size))
    usable = (combinations > 0) & (combinations <= AMBIGUOUS)
    keep_left, keep_right = usable[code_left], usable[code_right]
    if not keep_left.any():
        return pd.DataFrame()
    left = left[keep_left].drop(columns=keys).assign(k=code_left[keep_left])
    right = right[keep_right].assign(k=code_right[keep_right])
    shared = right[["k", *keys]]
    right = right.drop(columns=keys)
    pairs = left.merge(right, on="k", suffixes=("_bank", "_ours"))
    # The keys' values once, from our side (they are equal on both).
    return pairs.merge(shared.drop_duplicates("k"), on="k").drop(columns="k")


def _finish(pairs: pd.DataFrame, rule: str) -> pd.DataFrame:
    if pairs.empty:
        return pairs
    bank_amount = pairs["amount_bank"] if "amount_bank" in pairs else pairs["amount"]
    our_amount = pairs["amount_ours"] if "amount_ours" in pairs else pairs["amount"]
    return pd.DataFrame({
        "bank_item_id": pairs["item_id_bank"].astype("int64"),
        "our_item_id": pairs["item_id_ours"].astype("int64"),
        "rule": rule, "gap": (pairs["time_bank"] - pairs["time_ours"]).abs(),
        "difference": (bank_amount - our_amount).astype("int64"),
        "bank_amount": bank_amount.astype("int64"), "our_amount": our_amount.astype("int64"),
        "bank_pan": _column(pairs, "masked_pan"), "our_pan": _column(pairs, "masked_pan", False),
        "rrn": _column(pairs, "rrn"), "commission": pairs["commission"].astype("int64"),
    })


def _column(pairs: pd.DataFrame, name: str, bank: bool = True) -> pd.Series:
    side = f"{name}_bank" if bank else f"{name}_ours"
    return pairs[side] if side in pairs else pairs[name]


def _within_a_day(pairs: pd.DataFrame) -> pd.DataFrame:
    if pairs.empty:
        return pairs
    return pairs[(pairs["time_bank"] - pairs["time_ours"]).abs() <= DAY]


def _by_rrn(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    pairs = _join(left[left["rrn"] != ""], right[right["rrn"] != ""], ["rrn"])
    return _finish(pairs, "rrn")


def _by_card(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    keys = ["amount", "masked_pan"]
    pairs = _join(left[left["masked_pan"] != ""], right[right["masked_pan"] != ""], keys)
    return _finish(_within_a_day(pairs), "card")


def _by_fee(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    pairs = _within_a_day(_join(left[left["masked_pan"] != ""],
                                right[right["masked_pan"] != ""], ["masked_pan"]))
    if pairs.empty:
        return pairs
    difference = (pairs["amount_bank"] - pairs["amount_ours"]).abs()
    return _finish(pairs[(difference > 0) & (difference <= pairs["commission"])], "fee")


def _by_digit(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Cards one digit apart meet on the card with that digit blanked: one join per
    position of the mask (at most 19), each on whole columns; the blanking is done on
    the distinct cards only."""
    left = left[left["masked_pan"] != ""]
    right = right[right["masked_pan"] != ""]
    if left.empty or right.empty:
        return pd.DataFrame()
    codes, uniques = pd.factorize(pd.concat([left["masked_pan"], right["masked_pan"]],
                                            ignore_index=True))
    cards = pd.Series(uniques, dtype="str")
    found = []
    for position in range(int(cards.str.len().max())):
        digit = cards.str[position].str.isdigit().fillna(False).to_numpy(dtype=bool)
        if not digit.any():
            continue
        blanked = (cards.str[:position] + "?" + cards.str[position + 1:]).to_numpy(dtype=object)
        row_blanked = blanked[codes]
        row_digit = digit[codes]
        sides = [left.assign(blanked=row_blanked[:len(left)])[row_digit[:len(left)]],
                 right.assign(blanked=row_blanked[len(left):])[row_digit[len(left):]]]
        pairs = _within_a_day(_join(sides[0], sides[1], ["amount", "blanked"]))
        if not pairs.empty:
            found.append(pairs[pairs["masked_pan_bank"] != pairs["masked_pan_ours"]])
    found = [f for f in found if not f.empty]
    if not found:
        return pd.DataFrame()
    return _finish(pd.concat(found, ignore_index=True), "digit")


def _minutes(gap: pd.Timedelta) -> str:
    if pd.isna(gap):
        return ""
    minutes = int(gap.total_seconds() // 60)
    if minutes < 1:
        return "меньше минуты"
    if minutes < 60:
        return f"{minutes} мин"
    return f"{minutes // 60} ч {minutes % 60} мин"


def _reason(row) -> str:  # type: ignore[no-untyped-def]
    apart = _minutes(row.gap)
    when = f", разница во времени {apart}" if apart else ""
    if row.rule == "rrn":
        return f"Тот же RRN {row.rrn}{when}"
    if row.rule == "card":
        return f"Та же сумма и карта{when}"
    if row.rule == "digit":
        return (f"Та же сумма, карта отличается одной цифрой ({row.bank_pan} в банке, "
                f"{row.our_pan} у нас){when}")
    return (f"Та же карта, сумма отличается на {format_kopecks(abs(row.difference))} (не больше "
            f"комиссии {format_kopecks(row.commission)}){when}")
