"""``python -m core reconcile FILE [--profile NAME]``: the page's reconciliation, scheduled.

The command runs as the system (no one logs in to a cron job): the run's «Кто провёл» and
the journal say «командная строка», as ``payouts make`` does. Its exit code tells a
scheduler the outcome: ``MATCHED`` every line and operation agree, ``DISCREPANCIES``
something is left to resolve on the «Сверка» page, ``REFUSED`` nothing was stored (a bad
file, an unknown profile, a file already reconciled).
"""
from __future__ import annotations

from core.app import App
from core.errors import NotFound
from core.finance import bank_profiles
from core.finance.bank_profile import BankProfile
from core.finance.reconciliation import RunView
from core.money import Money
from core.timefmt import format_date

MATCHED, DISCREPANCIES, REFUSED = 0, 1, 2


def profile_by_name(app: App, name: str) -> BankProfile:
    """A shipped or stored profile by its name (case does not matter), else ``NotFound``
    naming the profiles there are."""
    profile = bank_profiles.find_profile(app, " ".join(name.split()))
    if profile is None:
        known = ", ".join(f"«{n}»" for n in bank_profiles.profile_names(app)) or "нет ни одного"
        raise NotFound(f"--profile: профиль банка «{name}» не найден; есть: {known}")
    return profile


def exit_code(view: RunView) -> int:
    return MATCHED if view.open_discrepancies == 0 else DISCREPANCIES


def summary_lines(view: RunView) -> list[str]:
    """The run's summary as the command prints it (Russian, amounts in rubles)."""
    lines = [f"Сверка № {view.id}: файл «{view.file_name}», период {view.period_text}, "
             f"провёл(а): {view.staff_name}",
             f"Реестр банка: строк {view.bank_lines} на {Money(view.bank_total)}; у нас: "
             f"операций {view.our_count} на {Money(view.our_total)}"]
    for c in view.classes:
        if c.bank_count or c.our_count:
            still = f", не разрешено {c.open_count}" if c.klass != "matched" else ""
            lines.append(f"  {c.label}: в банке {c.bank_count} на {Money(c.bank_sum)}, у нас "
                         f"{c.our_count} на {Money(c.our_sum)}{still}")
    fees = view.fees
    if fees is not None:
        lines.append(f"Комиссия банка: {Money(fees.fee)}; оборот {Money(fees.gross)}, к "
                     f"перечислению {Money(fees.net)}; тариф: {fees.tariff_text}")
        if fees.fee_rate_bp is not None:
            lines.append(f"  Комиссия не по тарифу: строк {fees.differ_count} из "
                         f"{fees.checked}, разница {Money(fees.differ_sum)}")
        for d in fees.days:
            expected = "—" if d.our_net is None else str(Money(d.our_net))
            difference = "—" if d.difference is None else str(Money(d.difference))
            settled = ("не проведён" if d.settled is None
                       else f"{Money(d.settled)} (разница {Money(d.settled_difference or 0)})")
            lines.append(f"  {format_date(d.day)}: банк перечисляет {Money(d.bank_net)}, мы "
                         f"ожидаем {expected} (разница {difference}); расчёт с эквайером: "
                         f"{settled}")
    if view.open_discrepancies:
        lines.append(f"Расхождений не разрешено: {view.open_discrepancies}; разберите их на "
                     "странице «Сверка»")
    else:
        lines.append("Расхождений нет: сверка закрыта")
    return lines


__all__ = ["DISCREPANCIES", "MATCHED", "REFUSED", "exit_code", "profile_by_name",
           "summary_lines"]
