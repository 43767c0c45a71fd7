"""The amount unit suspected from our amounts (issue 15, point 3), without a database."""
from __future__ import annotations

import numpy as np

from core.finance.amount_unit import suspected_unit

OURS = np.array([139_11, 1_500_00, 2_345_67, 99_90, 10_000_00, 777_00, 1_234_50, 560_00])


def test_kopecks_read_as_rubles_are_suspected_with_a_few_strangers():
    bank = np.concatenate([OURS * 100, [12_345_00, 1_00]])  # two lines not ours at all
    guess = suspected_unit(bank, OURS)
    assert guess is not None and guess.unit == "kopecks"
    assert guess.share == 0.8 and guess.share_as_read == 0


def test_rubles_read_as_kopecks_are_suspected():
    bank = OURS[OURS % 100 == 0] // 100
    guess = suspected_unit(bank, OURS)
    assert guess is not None and guess.unit == "rubles" and guess.share == 1


def test_the_medians_alone_tell_when_no_amount_meets_ours():
    # Other payments (none of ours by amount), about a hundredfold: still suspected.
    bank = OURS * 100 + 1_00
    assert suspected_unit(bank, OURS).unit == "kopecks"  # type: ignore[union-attr]


def test_a_right_file_and_an_unrelated_one_are_not_suspected():
    assert suspected_unit(OURS, OURS) is None
    right_with_discrepancies = np.concatenate([OURS, OURS[:3] + 50, [12_345_00]])
    assert suspected_unit(right_with_discrepancies, OURS) is None
    assert suspected_unit(OURS * 3 + 1, OURS) is None
    assert suspected_unit(OURS, np.array([], dtype="int64")) is None
