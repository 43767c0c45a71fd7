"""The bank's commission and net in a reconciliation (issue 15, point 7).

Where the bank's file lists its commission (``fee``) and what it pays for a line
(``net``), the run keeps both per line and totals them; each payment line's fee is
checked against the profile's acquiring tariff (``BankProfile.fee_rate_bp`` basis points
of the line's amount, rounded half up to a kopeck, at least ``fee_min``; no tariff: no
check). Refund lines are not checked: whether a bank returns its commission on a refund
differs by contract, and the tariff says nothing of it.

Per Moscow day of the run the bank's gross (payments minus refunds), fee and net stand
against what we expect (our charged payments minus our succeeded refunds, minus the
tariff's fee on those payments) and against the acquirer settlement booked for the day
(``core.finance.settlement``: what the ledger moved to the bank account).

Signs: a line's amount is positive with its operation; a refund line's net counts as
money the bank takes back (minus its magnitude). The fee is summed as written, so a
refund line that returns the commission with a minus lowers the day's fee.

Pure pandas on whole columns: ``assess`` adds nothing to a run whose file has neither
column (the common case, and the 1M-line benchmark).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from core.files import exports
from core.finance import matching
from core.finance.bank_profile import BankProfile
from core.money import Money
from core.timefmt import MOSCOW


@dataclass(frozen=True)
class FeeDay:
    """One Moscow day: the bank's figures, ours, the booked settlement (kopecks)."""

    day: date
    bank_gross: int
    bank_fee: int
    bank_net: int
    our_gross: int
    our_fee: int | None  # the tariff's fee on our charged payments; None: no tariff
    settled: int | None  # the booked settlement (payments − refunds); None: not booked

    @property
    def our_net(self) -> int | None:
        return None if self.our_fee is None else self.our_gross - self.our_fee

    @property
    def difference(self) -> int | None:
        """The bank's net minus what we expect it to pay (None without a tariff)."""
        return None if self.our_net is None else self.bank_net - self.our_net

    @property
    def settled_difference(self) -> int | None:
        """The booked settlement minus the bank's net (None: nothing booked)."""
        return None if self.settled is None else self.settled - self.bank_net


@dataclass(frozen=True)
class FeeSummary:
    """A run's fees: totals, the tariff check and the days (stored in the run's summary)."""

    gross: int  # the file's payments minus refunds
    fee: int
    net: int
    fee_rate_bp: int | None
    fee_min: int
    checked: int  # payment lines whose fee was checked against the tariff
    differ_count: int
    differ_sum: int  # the bank's fee minus the tariff's, over the lines that differ
    days: tuple[FeeDay, ...]

    @property
    def tariff_text(self) -> str:
        if self.fee_rate_bp is None:
            return "тариф не указан в профиле: комиссия не проверялась"
        rate = f"{self.fee_rate_bp / 100:.2f}".rstrip("0").rstrip(".").replace(".", ",")
        minimum = f", не меньше {Money(self.fee_min)}" if self.fee_min else ""
        return f"{rate} % от суммы{minimum}"

    def to_json(self) -> dict[str, Any]:
        return {"gross": self.gross, "fee": self.fee, "net": self.net,
                "fee_rate_bp": self.fee_rate_bp, "fee_min": self.fee_min,
                "checked": self.checked, "differ_count": self.differ_count,
                "differ_sum": self.differ_sum,
                "days": [{"day": d.day.isoformat(), "bank_gross": d.bank_gross,
                          "bank_fee": d.bank_fee, "bank_net": d.bank_net,
                          "our_gross": d.our_gross, "our_fee": d.our_fee,
                          "settled": d.settled} for d in self.days]}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> FeeSummary | None:
        if not raw:
            return None
        days = tuple(FeeDay(day=date.fromisoformat(d["day"]), bank_gross=int(d["bank_gross"]),
                            bank_fee=int(d["bank_fee"]), bank_net=int(d["bank_net"]),
                            our_gross=int(d["our_gross"]),
                            our_fee=None if d.get("our_fee") is None else int(d["our_fee"]),
                            settled=None if d.get("settled") is None else int(d["settled"]))
                     for d in raw.get("days") or ())
        rate = raw.get("fee_rate_bp")
        return cls(gross=int(raw["gross"]), fee=int(raw["fee"]), net=int(raw["net"]),
                   fee_rate_bp=None if rate is None else int(rate),
                   fee_min=int(raw.get("fee_min") or 0), checked=int(raw["checked"]),
                   differ_count=int(raw["differ_count"]), differ_sum=int(raw["differ_sum"]),
                   days=days)


def has_fees(lines: pd.DataFrame) -> bool:
    """Whether the file listed a commission or a net amount on any line."""
    return any(name in lines and bool(lines[name].notna().any()) for name in ("fee", "net"))


def tariff_fee(amounts: pd.Series, profile: BankProfile | None) -> pd.Series:
    """The tariff's fee of each amount (kopecks), <NA> everywhere without a tariff."""
    if profile is None or profile.fee_rate_bp is None:
        return pd.Series(pd.NA, index=amounts.index, dtype="Int64")
    values = amounts.astype("int64").to_numpy()
    fee = (values * profile.fee_rate_bp + 5_000) // 10_000  # half up, to a kopeck
    return pd.Series(np.maximum(fee, profile.fee_min), index=amounts.index, dtype="Int64")


def line_fees(lines: pd.DataFrame, profile: BankProfile | None) -> pd.DataFrame:
    """Per line (indexed by ``line_no``): ``bank_fee``, ``bank_net`` (as the file lists
    them) and ``expected_fee`` (the tariff's, payment lines only)."""
    fee = _kopecks(lines, "fee")
    net = _kopecks(lines, "net")
    expected = tariff_fee(lines["amount"], profile)
    expected = expected.where((lines["operation"] == "payment") & fee.notna())
    return pd.DataFrame({"bank_fee": fee.to_numpy(), "bank_net": net.to_numpy(),
                         "expected_fee": expected.astype("Int64").to_numpy()},
                        index=lines["line_no"].astype("int64").to_numpy())


def assess(lines: pd.DataFrame, ours: pd.DataFrame, refunds: pd.DataFrame,
           profile: BankProfile | None,
           settlements: Mapping[date, int]) -> tuple[pd.DataFrame, FeeSummary] | None:
    """The per-line fees and the run's ``FeeSummary``; None when the file lists neither
    a fee nor a net amount. ``ours`` / ``refunds`` are the frames matching took
    (``matching.OUR_COLUMNS`` / ``REFUND_COLUMNS``); ``settlements`` the booked net of
    each Moscow day."""
    if not has_fees(lines):
        return None
    per_line = line_fees(lines, profile)
    sign = np.where(lines["operation"].to_numpy() == "refund", -1, 1)
    amount = lines["amount"].astype("int64").to_numpy()
    fee = per_line["bank_fee"].fillna(0).astype("int64").to_numpy()
    net = per_line["bank_net"].astype("Int64")
    # A line without a net amount is paid its amount less its fee.
    line_net = np.where(net.isna().to_numpy(), sign * amount - fee,
                        sign * np.abs(net.fillna(0).astype("int64").to_numpy()))
    checked = per_line["expected_fee"].notna().to_numpy()
    expected = per_line["expected_fee"].fillna(0).astype("int64").to_numpy()
    differs = checked & (fee != expected)
    bank = pd.DataFrame({"day": _days(lines["time"]), "gross": sign * amount, "fee": fee,
                         "net": line_net}).groupby("day").sum()
    our_days = _our_days(ours, refunds, profile)
    days = []
    for day in sorted(set(bank.index) | set(our_days.index)):
        has_bank, has_ours = day in bank.index, day in our_days.index
        our_fee = int(our_days.at[day, "fee"]) if has_ours else 0
        days.append(FeeDay(
            day=day,
            bank_gross=int(bank.at[day, "gross"]) if has_bank else 0,
            bank_fee=int(bank.at[day, "fee"]) if has_bank else 0,
            bank_net=int(bank.at[day, "net"]) if has_bank else 0,
            our_gross=int(our_days.at[day, "gross"]) if has_ours else 0,
            our_fee=None if profile is None or profile.fee_rate_bp is None else our_fee,
            settled=settlements.get(day)))
    summary = FeeSummary(
        gross=int((sign * amount).sum()), fee=int(fee.sum()), net=int(line_net.sum()),
        fee_rate_bp=None if profile is None else profile.fee_rate_bp,
        fee_min=0 if profile is None else profile.fee_min, checked=int(checked.sum()),
        differ_count=int(differs.sum()), differ_sum=int((fee - expected)[differs].sum()),
        days=tuple(days))
    return per_line, summary


TOTALS_COLUMNS = (exports.Column("Показатель", width=40), exports.Column("Значение", "mixed", 20))
DAY_COLUMNS = (exports.Column("День", "date", 12), exports.Column("Оборот банка", "money", 16),
               exports.Column("Комиссия банка", "money", 16),
               exports.Column("Банк перечисляет", "money", 16),
               exports.Column("Наш оборот", "money", 16),
               exports.Column("Комиссия по тарифу", "money", 16),
               exports.Column("Ожидаем к перечислению", "money", 18),
               exports.Column("Разница (банк − ожидаем)", "money", 18),
               exports.Column("Расчёт с эквайером проведён", "money", 18),
               exports.Column("Разница (проведено − банк)", "money", 18))


def total_rows(fees: FeeSummary) -> list[tuple[str, object]]:
    """The run's fee totals as label and value (the card and the exports)."""
    rows: list[tuple[str, object]] = [
        ("Оборот по реестру (оплаты минус возвраты)", exports.Typed(fees.gross, "money")),
        ("Комиссия банка", exports.Typed(fees.fee, "money")),
        ("Банк перечисляет", exports.Typed(fees.net, "money")),
        ("Тариф эквайринга", fees.tariff_text)]
    if fees.fee_rate_bp is not None:
        rows += [("Строк оплаты проверено по тарифу", exports.Typed(fees.checked, "int")),
                 ("Комиссия не по тарифу, строк", exports.Typed(fees.differ_count, "int")),
                 ("Комиссия не по тарифу, разница", exports.Typed(fees.differ_sum, "money"))]
    return rows


def day_rows(fees: FeeSummary) -> list[tuple[object, ...]]:
    return [(d.day, d.bank_gross, d.bank_fee, d.bank_net, d.our_gross, d.our_fee, d.our_net,
             d.difference, d.settled, d.settled_difference) for d in fees.days]


def sheets(fees: FeeSummary) -> list[exports.Sheet]:
    """The XLSX sheets of a run's fees: the totals and the days."""
    return [exports.Sheet("Комиссия", TOTALS_COLUMNS, total_rows(fees)),
            exports.Sheet("Перечисления по дням", DAY_COLUMNS, day_rows(fees))]


def _kopecks(lines: pd.DataFrame, name: str) -> pd.Series:
    if name not in lines:
        return pd.Series(pd.NA, index=lines.index, dtype="Int64")
    return pd.to_numeric(lines[name], errors="coerce").astype("Int64")


def _days(times: pd.Series) -> np.ndarray:
    if times.empty:
        return np.array([], dtype=object)
    return pd.to_datetime(times, utc=True).dt.tz_convert(MOSCOW).dt.date.to_numpy()


def _our_days(ours: pd.DataFrame, refunds: pd.DataFrame,
              profile: BankProfile | None) -> pd.DataFrame:
    """Per Moscow day of the period: our charged payments minus succeeded refunds
    (``gross``) and the tariff's fee on those payments (``fee``)."""
    charged = ours[ours["in_period"].astype(bool) & ours["status"].isin(matching.CHARGED)]
    done = refunds[refunds["in_period"].astype(bool)]
    amounts = charged["amount"].astype("int64")
    fees = tariff_fee(amounts, profile).fillna(0).astype("int64")
    frame = pd.concat([
        pd.DataFrame({"day": _days(charged["time"]), "gross": amounts.to_numpy(),
                      "fee": fees.to_numpy()}),
        pd.DataFrame({"day": _days(done["time"]),
                      "gross": -done["amount"].astype("int64").to_numpy(),
                      "fee": np.zeros(len(done), dtype="int64")})], ignore_index=True)
    if frame.empty:
        return pd.DataFrame({"gross": pd.Series(dtype="int64"),
                             "fee": pd.Series(dtype="int64")})
    return frame.groupby("day").sum()


__all__ = ["DAY_COLUMNS", "FeeDay", "FeeSummary", "assess", "day_rows", "has_fees",
           "line_fees", "sheets", "tariff_fee", "total_rows"]
