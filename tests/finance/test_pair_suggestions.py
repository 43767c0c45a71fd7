"""The likely pairs of open «нет у нас» lines and «нет в банке» payments
(core.finance.pair_suggestions): each rule, the ranking, the cap, and the size."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from core.finance.pair_suggestions import AMBIGUOUS, suggest

NOON = pd.Timestamp("2026-11-25 09:00:00", tz="UTC")
CARD = "220000******0004"


def _bank(*rows: tuple) -> pd.DataFrame:  # type: ignore[type-arg]
    return pd.DataFrame(rows, columns=["item_id", "rrn", "masked_pan", "amount", "time"])


def _ours(*rows: tuple) -> pd.DataFrame:  # type: ignore[type-arg]
    return pd.DataFrame(rows, columns=["item_id", "payment_id", "rrn", "masked_pan", "amount",
                                       "commission", "time"])


def _pairs(found: pd.DataFrame) -> list[tuple[int, int, str]]:
    return [(int(b), int(o), r) for b, o, r in
            zip(found["bank_item_id"], found["our_item_id"], found["rule"])]


def test_each_rule_finds_its_pair_with_the_reason_ranked_best_first():
    midnight = pd.Timestamp("2026-11-25 20:59:30", tz="UTC")  # 23:59:30 in Moscow
    bank = _bank((1, "612345678901", "", 10_000, NOON),  # RRN, days apart and no card
                 (2, "", CARD, 20_000, midnight + pd.Timedelta(minutes=1)),  # over midnight
                 (3, "", "220000******0007", 30_000, NOON),  # a digit of the card
                 (4, "", "220000******0009", 39_000, NOON),  # our commission taken off
                 (5, "", "220000******0009", 55_000, NOON))  # nothing like it
    ours = _ours((11, 101, "612345678901", "", 99_999, 0, NOON - pd.Timedelta(days=3)),
                 (12, 102, "", CARD, 20_000, 100, midnight),
                 (13, 103, "", "220000******0001", 30_000, 100, NOON + pd.Timedelta(hours=2)),
                 (14, 104, "", "220000******0009", 40_000, 1_000, NOON - pd.Timedelta(hours=1)),
                 (15, 105, "", "220000******0009", 50_000, 1_000, NOON))
    found, total = suggest(bank, ours, 10)
    assert _pairs(found) == [(1, 11, "rrn"), (2, 12, "card"), (3, 13, "digit"), (4, 14, "fee")]
    assert total == 4
    assert found["reason"].tolist() == [
        "Тот же RRN 612345678901, разница во времени 72 ч 0 мин",
        "Та же сумма и карта, разница во времени 1 мин",
        "Та же сумма, карта отличается одной цифрой (220000******0007 в банке, "
        "220000******0001 у нас), разница во времени 2 ч 0 мин",
        "Та же карта, сумма отличается на 10,00\u00a0₽ (не больше комиссии 10,00\u00a0₽), "
        "разница во времени 1 ч 0 мин"]
    # More than a day apart, or more than the commission: no pair.
    late = ours.assign(time=ours["time"] + pd.Timedelta(days=2))
    assert _pairs(suggest(bank, late, 10)[0]) == [(1, 11, "rrn")]
    assert suggest(bank.iloc[[3]], ours.assign(commission=999).iloc[[3]], 10)[1] == 0


def test_a_pair_found_twice_keeps_its_best_rule_and_the_list_is_capped():
    bank = _bank(*[(n, f"6{n:011d}", CARD, 10_000, NOON + pd.Timedelta(minutes=n))
                   for n in range(1, 6)])
    ours = _ours(*[(100 + n, n, f"6{n:011d}", CARD, 10_000, 0, NOON + pd.Timedelta(minutes=n))
                   for n in range(1, 6)])
    found, total = suggest(bank, ours, 3)
    assert total == 25  # 5 by RRN, 25 by amount and card (5 of them the same pairs)
    assert _pairs(found) == [(1, 101, "rrn"), (2, 102, "rrn"), (3, 103, "rrn")]
    assert suggest(bank, ours, 0)[0].empty
    nothing, none = suggest(bank.iloc[:0], ours, 5)
    assert nothing.empty and none == 0


def test_a_key_shared_by_many_on_both_sides_suggests_nothing():
    """The test card every payment uses: 60 x 60 lines of one amount are no suggestion."""
    many = range(60)
    bank = _bank(*[(n, "", CARD, 10_000, NOON) for n in many])
    ours = _ours(*[(1000 + n, n, "", CARD, 10_000, 0, NOON) for n in many])
    assert 60 * 60 > AMBIGUOUS
    found, total = suggest(bank, ours, 50)
    assert total == 0 and found.empty


def test_a_hundred_thousand_open_items_on_each_side_take_seconds_not_hours():
    rng = np.random.default_rng(15)
    size = 100_000

    def side(first_id: int) -> dict[str, object]:
        return {"item_id": np.arange(first_id, first_id + size),
                "rrn": rng.integers(10**11, 10**12, size).astype(str),
                "masked_pan": [f"220000******{x:04d}" for x in rng.integers(0, 10_000, size)],
                "amount": rng.integers(100, 500, size) * 100,
                "time": NOON + pd.to_timedelta(rng.integers(0, 3 * 86_400, size), unit="s")}

    bank = pd.DataFrame(side(0))
    ours = pd.DataFrame({**side(size), "payment_id": np.arange(size),
                         "commission": rng.integers(0, 3_000, size)})
    started = time.perf_counter()
    found, total = suggest(bank, ours, 50)
    elapsed = time.perf_counter() - started
    assert len(found) == 50 and total > 1_000
    assert found["rule"].iloc[0] == "card"
    assert elapsed < 15, elapsed  # about 1 s here; nested loops would be 10^10 comparisons
