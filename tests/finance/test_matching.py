"""The matching on its own: frames in, one class per line and per operation out."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from core.finance import matching

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PAN, PAN2 = "411111******1111", "411111******2222"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def line(no, txn, amount, minutes=0, op="payment", rrn="", pan=PAN):  # type: ignore[no-untyped-def]
    return {"line_no": no, "txn_id": txn, "rrn": rrn, "masked_pan": pan, "amount": amount,
            "operation": op, "time": at(minutes)}


def ours(pid, txn, amount, status="succeeded", minutes=0, rrn=None, pan=PAN,  # type: ignore[no-untyped-def]
         in_period=True):
    return {"payment_id": pid, "txn_id": txn, "rrn": rrn, "masked_pan": pan, "amount": amount,
            "status": status, "time": at(minutes), "in_period": in_period}


def refund(rid, pid, txn, amount, in_period=True, minutes=30, pan=PAN, rrn=None):  # type: ignore[no-untyped-def]
    return {"refund_id": rid, "payment_id": pid, "txn_id": txn, "rrn": rrn, "masked_pan": pan,
            "amount": amount, "time": at(minutes), "in_period": in_period}


def classes(result: pd.DataFrame) -> dict[str, list[tuple[object, object]]]:
    """klass -> sorted (line_no, payment_id) pairs, None for a missing side."""
    out: dict[str, list[tuple[object, object]]] = {}
    for row in result.itertuples():
        pair = (None if pd.isna(row.line_no) else int(row.line_no),
                None if pd.isna(row.payment_id) else int(row.payment_id))
        out.setdefault(row.klass, []).append(pair)
    return {k: sorted(v, key=str) for k, v in out.items()}


def run(bank_rows, our_rows, refund_rows=()):  # type: ignore[no-untyped-def]
    bank = pd.DataFrame(bank_rows, columns=list(matching.BANK_COLUMNS))
    frame = pd.DataFrame(our_rows, columns=list(matching.OUR_COLUMNS))
    refunds = pd.DataFrame(list(refund_rows), columns=list(matching.REFUND_COLUMNS))
    return matching.match(bank, frame, refunds)


def test_every_class_is_found_and_each_line_and_payment_is_in_exactly_one_row():
    result = run(
        [line(2, "a", 1000), line(3, "b", 999, 1), line(4, "c", 500, 2),
         line(5, "a", 1000), line(6, "zz", 700, 3, pan=PAN2),
         line(7, "bank-own", 800, 4, pan=PAN2),
         line(8, "a", 100, 5, op="refund"), line(9, "a", 100, 5, op="refund"),
         line(10, "b", 50, 5, op="refund")],
        [ours(1, "a", 1000, "partially_refunded"), ours(2, "b", 1000, minutes=1),
         ours(3, "c", 500, "pending", 2), ours(4, "d", 600, minutes=2),
         ours(5, None, 800, minutes=6, pan=PAN2), ours(6, "e", 800, "declined", 4, pan=PAN2),
         ours(7, "old", 900, in_period=False)],
        [refund(1, 1, "a", 100), refund(2, 4, "d", 100)])
    found = classes(result)
    assert found == {
        "matched": [(2, 1), (7, 5), (8, 1)],
        "amount_differs": [(3, 2)],
        "status_differs": [(10, 2), (4, 3)],
        "missing_at_bank": [(None, 4), (None, 4)],
        "missing_at_ours": [(6, None)],
        "duplicate_at_bank": [(5, 1), (9, 1)],
    }
    # Every line once; a declined attempt and another period's payment are not in the run.
    assert sorted(result["line_no"].dropna().astype(int)) == list(range(2, 11))
    assert result.loc[result["klass"] == "matched", "matched_by"].tolist() == [
        "txn", "window", "txn"]


def test_class_sums_add_up_to_both_sides_totals():
    bank_rows = [line(2, "a", 1000), line(3, "a", 1000), line(4, "b", 700, 1),
                 line(5, "a", 250, 3, op="refund"), line(6, "x", 40, 9)]
    result = run(bank_rows, [ours(1, "a", 1000), ours(2, "b", 900, minutes=1),
                             ours(3, "c", 300, minutes=2)], [refund(1, 1, "a", 250)])
    summary = matching.summarise(result)
    assert set(summary) == set(matching.CLASSES)
    assert sum(c["bank_count"] for c in summary.values()) == len(bank_rows)
    assert sum(c["bank_sum"] for c in summary.values()) == 1000 + 1000 + 700 - 250 + 40
    assert sum(c["our_count"] for c in summary.values()) == 4  # three payments, one refund
    assert sum(c["our_sum"] for c in summary.values()) == 1000 + 900 + 300 - 250
    assert summary["duplicate_at_bank"] == {"bank_count": 1, "bank_sum": 1000,
                                            "our_count": 0, "our_sum": 0}


def test_rrn_pairs_a_line_whose_transaction_id_is_the_banks_own():
    result = run([line(2, "BANK-1", 1000, rrn="600000000001")],
                 [ours(1, "sim-1", 1000, rrn="600000000001", minutes=50)])
    assert classes(result) == {"matched": [(2, 1)]}
    assert result["matched_by"].tolist() == ["rrn"]


@pytest.mark.parametrize("gap, expected", [(9, "matched"), (11, "missing")])
def test_the_time_window_is_ten_minutes(gap, expected):
    result = run([line(2, "BANK-1", 1000, minutes=gap)], [ours(1, None, 1000)])
    if expected == "matched":
        assert classes(result) == {"matched": [(2, 1)]}
    else:
        assert classes(result) == {"missing_at_bank": [(None, 1)], "missing_at_ours": [(2, None)]}


def test_two_partial_refunds_of_the_same_amount_are_two_matches_not_a_duplicate():
    result = run([line(2, "a", 1000), line(3, "a", 100, 5, op="refund"),
                  line(4, "a", 100, 6, op="refund"), line(5, "a", 70, 7, op="refund")],
                 [ours(1, "a", 1000, "partially_refunded")],
                 [refund(1, 1, "a", 100), refund(2, 1, "a", 100), refund(3, 1, "a", 60)])
    assert classes(result) == {"matched": [(2, 1), (3, 1), (4, 1)],
                               "amount_differs": [(5, 1)]}


def test_thousands_of_rows_are_matched_on_whole_columns():
    n = 20_000
    rng = np.random.default_rng(7)
    amounts = rng.integers(100, 10**6, n)
    bank = pd.DataFrame({"line_no": np.arange(2, n + 2), "txn_id": [f"t{i}" for i in range(n)],
                         "rrn": "", "masked_pan": PAN, "amount": amounts,
                         "operation": "payment", "time": pd.Timestamp(T0)})
    frame = pd.DataFrame({"payment_id": np.arange(1, n + 1),
                          "txn_id": [f"t{i}" for i in range(n)], "rrn": None,
                          "masked_pan": PAN, "amount": amounts, "status": "succeeded",
                          "time": pd.Timestamp(T0), "in_period": True})
    frame.loc[0, "amount"] += 1
    result = matching.match(bank, frame)
    assert len(result) == n
    assert result["klass"].value_counts().to_dict() == {"matched": n - 1, "amount_differs": 1}


def test_a_line_with_the_day_alone_pairs_by_amount_and_card_on_that_moscow_day():
    midnight = pd.Timestamp("2026-11-24 21:00", tz="UTC")  # 25.11 00:00 in Moscow
    rows = [{**line(2, "", 1000), "time": midnight, "day_only": True},
            {**line(3, "", 2000), "time": midnight, "day_only": True},
            {**line(4, "", 3000), "time": midnight, "day_only": False}]
    bank = pd.DataFrame(rows)
    frame = pd.DataFrame([ours(1, None, 1000, minutes=600),  # 19:00 Moscow the same day
                          ours(2, None, 2000, minutes=900),  # 00:00 Moscow the next day
                          ours(3, None, 3000, minutes=60)], columns=list(matching.OUR_COLUMNS))
    result = matching.match(bank, frame, None)
    assert classes(result) == {"matched": [(2, 1)],
                               "missing_at_bank": [(None, 2), (None, 3)],
                               "missing_at_ours": [(3, None), (4, None)]}
    assert result.loc[result["klass"] == "matched", "matched_by"].tolist() == ["window"]


def _refund_pairs(result: pd.DataFrame) -> dict[str, list[tuple[int, int]]]:
    """klass -> sorted (line_no, refund_id) of the rows with both a refund line and ours."""
    rows = result[result["line_no"].notna() & result["refund_id"].notna()]
    out: dict[str, list[tuple[int, int]]] = {}
    for row in rows.itertuples():
        out.setdefault(row.klass, []).append((int(row.line_no), int(row.refund_id)))
    return {k: sorted(v) for k, v in out.items()}


def test_a_refund_line_without_our_transaction_id_pairs_by_the_cards_amount_nearest_first():
    # Two refunds of 300 on one card a quarter of an hour apart, each line nearest its own;
    # a line 22 minutes from the only refund of its card and amount is not it.
    result = run(
        [line(2, "a", 1000), line(3, "b", 1000, 1), line(4, "c", 500, 2, pan=PAN2),
         line(5, "", 300, 44, op="refund", rrn="700000000005"),
         line(6, "", 300, 31, op="refund", rrn="700000000006"),
         line(7, "", 200, 52, op="refund", rrn="700000000007", pan=PAN2)],
        [ours(1, "a", 1000, "partially_refunded"), ours(2, "b", 1000, "partially_refunded", 1),
         ours(3, "c", 500, "partially_refunded", 2, pan=PAN2)],
        [refund(1, 1, "a", 300, minutes=30), refund(2, 2, "b", 300, minutes=45),
         refund(3, 3, "c", 200, minutes=30, pan=PAN2)])
    assert _refund_pairs(result) == {"matched": [(5, 2), (6, 1)]}
    assert classes(result) == {"matched": [(2, 1), (3, 2), (4, 3), (5, 2), (6, 1)],
                               "missing_at_bank": [(None, 3)], "missing_at_ours": [(7, None)]}
    refunds = result[result["refund_id"].notna() & result["line_no"].notna()]
    assert refunds["matched_by"].tolist() == ["window", "window"]
    assert refunds["our_status"].tolist() == [matching.REFUND_STATUS] * 2
    summary = matching.summarise(result)
    assert summary["matched"]["our_sum"] == 1000 + 1000 + 500 - 300 - 300


def test_a_lone_refund_line_on_a_card_pairs_with_its_lone_refund_as_amount_differs():
    lone = run([line(2, "a", 1000), line(3, "", 350, 31, op="refund", rrn="700000000003")],
               [ours(1, "a", 1000, "partially_refunded")], [refund(1, 1, "a", 300)])
    assert _refund_pairs(lone) == {"amount_differs": [(3, 1)]}
    assert lone.loc[lone["line_no"] == 3, "matched_by"].tolist() == ["card"]
    # Two refunds of that card in the window: which one the bank changed is a guess.
    two = run([line(2, "a", 1000), line(3, "b", 1000, 1),
               line(4, "", 350, 31, op="refund", rrn="700000000004")],
              [ours(1, "a", 1000, "partially_refunded"),
               ours(2, "b", 1000, "partially_refunded", 1)],
              [refund(1, 1, "a", 300), refund(2, 2, "b", 200, minutes=33)])
    assert _refund_pairs(two) == {}
    assert classes(two)["missing_at_ours"] == [(4, None)]
    assert classes(two)["missing_at_bank"] == [(None, 1), (None, 2)]


def test_a_refund_line_with_the_day_alone_pairs_with_a_refund_of_that_moscow_day():
    midnight = pd.Timestamp("2026-11-24 21:00", tz="UTC")  # 25.11 00:00 in Moscow
    bank = pd.DataFrame([{**line(2, "a", 1000), "day_only": True, "time": midnight},
                         {**line(3, "", 300, op="refund"), "day_only": True, "time": midnight},
                         {**line(4, "", 400, op="refund"), "day_only": True, "time": midnight}])
    frame = pd.DataFrame([ours(1, "a", 1000, "partially_refunded")],
                         columns=list(matching.OUR_COLUMNS))
    refunds = pd.DataFrame([refund(1, 1, "a", 300, minutes=600),  # 22:00 Moscow that day
                            refund(2, 1, "a", 400, minutes=900)],  # 02:00 the next day
                           columns=list(matching.REFUND_COLUMNS))
    result = matching.match(bank, frame, refunds)
    assert _refund_pairs(result) == {"matched": [(3, 1)]}
    assert classes(result)["missing_at_ours"] == [(4, None)]


def test_a_payment_line_repeating_a_paired_lines_rrn_is_a_duplicate():
    # By RRN, by the window (our payment has no RRN stored) and by the transaction id.
    by_rrn = run([line(2, "", 1000, rrn="600000000001"), line(3, "", 1000, rrn="600000000001")],
                 [ours(1, None, 1000, rrn="600000000001", minutes=50)])
    assert classes(by_rrn) == {"matched": [(2, 1)], "duplicate_at_bank": [(3, 1)]}
    # The second line must not take the payer's second payment of the same amount.
    by_window = run([line(2, "", 1000, 1, rrn="600000000001"),
                     line(3, "", 1000, 1, rrn="600000000001")],
                    [ours(1, None, 1000), ours(2, None, 1000, minutes=3)])
    assert classes(by_window) == {"matched": [(2, 1)], "duplicate_at_bank": [(3, 1)],
                                  "missing_at_bank": [(None, 2)]}
    by_txn = run([line(2, "a", 1000, rrn="600000000001"), line(3, "", 1000, rrn="600000000001")],
                 [ours(1, "a", 1000, rrn="600000000001")])
    assert classes(by_txn) == {"matched": [(2, 1)], "duplicate_at_bank": [(3, 1)]}
    for result in (by_rrn, by_window, by_txn):
        dup = result[result["klass"] == "duplicate_at_bank"]
        assert dup["our_amount"].isna().all() and dup["matched_by"].tolist() == ["rrn"]
        assert matching.summarise(result)["duplicate_at_bank"]["our_count"] == 0


def test_a_refund_line_without_our_transaction_id_pairs_with_our_refund_by_its_own_rrn():
    # The bank's times put each of the two 300s nearer the other refund; the RRN says which.
    result = run(
        [line(2, "a", 1000), line(3, "b", 1000, 1), line(4, "c", 500, 2, pan=PAN2),
         line(5, "", 300, 31, op="refund", rrn="700000000002"),
         line(6, "", 300, 44, op="refund", rrn="700000000001"),
         # Another amount, with a second refund on the card: the card alone would not say.
         line(7, "", 250, 80, op="refund", rrn="700000000003", pan=PAN2),
         # Not our refund's RRN (a refund made before we kept it): the card and amount.
         line(8, "", 100, 51, op="refund", rrn="799999999999"),
         # The same refund listed again: its duplicate, not «нет у нас».
         line(9, "", 300, 46, op="refund", rrn="700000000002")],
        [ours(1, "a", 1000, "partially_refunded"), ours(2, "b", 1000, "partially_refunded", 1),
         ours(3, "c", 500, "partially_refunded", 2, pan=PAN2)],
        [refund(1, 1, "a", 300, minutes=30, rrn="700000000001"),
         refund(2, 2, "b", 300, minutes=45, rrn="700000000002"),
         refund(3, 3, "c", 200, minutes=30, pan=PAN2, rrn="700000000003"),
         refund(4, 2, "b", 100, minutes=50),
         refund(5, 3, "c", 50, minutes=81, pan=PAN2, rrn="700000000005")])
    assert _refund_pairs(result) == {"matched": [(5, 2), (6, 1), (8, 4)],
                                     "amount_differs": [(7, 3)]}
    by = dict(zip(result["line_no"], result["matched_by"]))
    assert [by[n] for n in (5, 6, 7, 8, 9)] == ["rrn", "rrn", "rrn", "window", "rrn"]
    dup = result[result["line_no"] == 9]
    assert dup["klass"].tolist() == ["duplicate_at_bank"] and dup["payment_id"].tolist() == [2]
    assert dup["our_amount"].isna().all()
    assert classes(result)["missing_at_bank"] == [(None, 3)]  # refund 5: the bank lost it
    summary = matching.summarise(result)
    assert summary["duplicate_at_bank"]["our_count"] == 0
    assert sum(c["our_count"] for c in summary.values()) == 3 + 5


def test_a_refund_line_repeating_the_rrn_of_a_refund_paired_by_transaction_id_is_its_duplicate():
    # Before: the repeat took the payment's other refund of 300 by card and amount.
    result = run([line(2, "a", 1000), line(3, "a", 300, 30, op="refund", rrn="700000000001"),
                  line(4, "", 300, 31, op="refund", rrn="700000000001")],
                 [ours(1, "a", 1000, "partially_refunded")],
                 [refund(1, 1, "a", 300, minutes=30, rrn="700000000001"),
                  refund(2, 1, "a", 300, minutes=32)])
    assert classes(result) == {"matched": [(2, 1), (3, 1)], "missing_at_bank": [(None, 1)],
                               "duplicate_at_bank": [(4, 1)]}
    assert result.loc[result["line_no"] == 4, "matched_by"].tolist() == ["rrn"]
    assert result.loc[result["klass"] == "missing_at_bank", "refund_id"].tolist() == [2]


def test_an_rrn_two_of_our_refunds_share_pairs_nothing_by_itself():
    result = run([line(2, "a", 1000), line(3, "", 300, 31, op="refund", rrn="700000000001")],
                 [ours(1, "a", 1000, "partially_refunded")],
                 [refund(1, 1, "a", 300, minutes=30, rrn="700000000001"),
                  refund(2, 1, "a", 300, minutes=45, rrn="700000000001")])
    # The card and amount then, nearest first.
    assert _refund_pairs(result) == {"matched": [(3, 1)]}
    assert result.loc[result["line_no"] == 3, "matched_by"].tolist() == ["window"]


def test_text_read_in_batches_matches_as_text_read_whole():
    """Our side read by ADBC comes in batches: Arrow text of several chunks per column."""
    def chunked(frame: pd.DataFrame) -> pd.DataFrame:
        # Concatenating Arrow-backed halves keeps two chunks per column, as batches do.
        half = len(frame) // 2
        parts = [frame.iloc[:half], frame.iloc[half:]]
        texts = ("txn_id", "rrn", "masked_pan", "status")
        typed = [p.astype({c: "str" for c in texts if c in p}) for p in parts]
        return pd.concat(typed, ignore_index=True)

    bank = [line(2, "a", 1000), line(3, "b", 999, 1), line(4, "", 800, 4, pan=PAN2),
            line(5, "zz", 70, 5)]
    payments = [ours(1, "a", 1000), ours(2, "b", 1000, minutes=1), ours(3, "", 800, minutes=6,
                                                                         pan=PAN2, rrn=""),
                ours(4, "d", 600, minutes=2)]
    frame = pd.DataFrame(payments, columns=list(matching.OUR_COLUMNS)).fillna({"rrn": ""})
    batched = chunked(frame)
    assert isinstance(pa.array(batched["txn_id"].array), pa.ChunkedArray)
    assert pa.array(batched["txn_id"].array).num_chunks == 2
    lines = pd.DataFrame(bank, columns=list(matching.BANK_COLUMNS))
    expected = classes(matching.match(lines, frame))
    assert classes(matching.match(lines, batched)) == expected
    assert expected["matched"] == [(2, 1), (4, 3)]
