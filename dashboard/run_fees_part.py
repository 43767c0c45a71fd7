"""A reconciliation run's card, issue 15 points 7 and 9: the bank's commission and net
(totals, the tariff check, the lines off the tariff, the payout of each day against ours
and the booked settlement), and «Выгрузить в CSV» beside the Excel export."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actors import StaffActor
from core.app import App
from core.errors import DomainError
from core.finance import bank_fees, reconciliation as rec, run_export
from core.money import format_kopecks
from core.timefmt import format_date
from dashboard.downloads import download
from dashboard.widgets import show_error

CSV_MIME = "text/csv"
OFF_TARIFF_SHOWN = 100  # lines off the tariff listed on the card (the exports have all)


def csv_export(app: App, actor: StaffActor, run: rec.RunView) -> None:
    """«Выгрузить в CSV»: built (and journaled) when asked for, not on every rerun."""
    key = f"rec_{run.id}_csv"
    if st.button("Выгрузить в CSV", key=f"{key}_build"):
        try:
            st.session_state[key] = run_export.export_run_csv(app, actor, run.id)
        except DomainError as error:
            show_error(error)
    data = st.session_state.get(key)
    if data:
        download("Скачать CSV", data, f"sverka_{run.id}.csv", CSV_MIME, key=f"{key}_download")


def _money(value: int | None) -> str:
    return "—" if value is None else format_kopecks(value)


def day_table(fees: bank_fees.FeeSummary) -> pd.DataFrame:
    """The payout of each Moscow day: the bank's, ours and the booked settlement (text
    columns, so that «—» and amounts share a column without Arrow's complaints)."""
    return pd.DataFrame([{
        "День": format_date(d.day), "Оборот банка": _money(d.bank_gross),
        "Комиссия банка": _money(d.bank_fee), "Банк перечисляет": _money(d.bank_net),
        "Наш оборот": _money(d.our_gross), "Комиссия по тарифу": _money(d.our_fee),
        "Ожидаем": _money(d.our_net), "Разница": _money(d.difference),
        "Расчёт с эквайером": "не проведён" if d.settled is None else _money(d.settled),
        "Разница с расчётом": _money(d.settled_difference)} for d in fees.days])


def fees_part(app: App, actor: StaffActor, run: rec.RunView) -> None:
    """The run's fees, when its file listed the bank's commission or net amount."""
    fees = run.fees
    if fees is None:
        return
    st.markdown("**Комиссия банка и перечисление**")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Оборот по реестру", format_kopecks(fees.gross))
    c2.metric("Комиссия банка", format_kopecks(fees.fee))
    c3.metric("Банк перечисляет", format_kopecks(fees.net))
    if fees.fee_rate_bp is None:
        c4.metric("Комиссия не по тарифу", "—")
    else:
        c4.metric("Комиссия не по тарифу", f"{fees.differ_count} из {fees.checked}",
                  delta=format_kopecks(fees.differ_sum) if fees.differ_count else None,
                  delta_color="inverse")
    st.caption(f"Тариф эквайринга: {fees.tariff_text}. Ожидаем: наши списанные платежи "
               "минус возвраты минус комиссия по тарифу; расчёт с эквайером — проведённый "
               "в учёте за день (оплаты минус возвраты).")
    st.dataframe(day_table(fees), hide_index=True)
    if fees.differ_count:
        _off_tariff(app, actor, run)


def _off_tariff(app: App, actor: StaffActor, run: rec.RunView) -> None:
    """The lines whose commission is not the tariff's (every class)."""
    try:
        rows = run_export.off_tariff(app, actor, run.id, OFF_TARIFF_SHOWN)
    except DomainError as error:
        show_error(error)
        return
    count = run.fees.differ_count if run.fees else len(rows)
    with st.expander(f"Строки с комиссией не по тарифу: {count}"):
        st.dataframe(pd.DataFrame([{
            "Строка файла": r.bank_line_no, "ID транзакции": r.bank_txn_id or "",
            "RRN": r.bank_rrn or "", "Сумма банка": _money(r.bank_amount),
            "Комиссия банка": _money(r.bank_fee), "По тарифу": _money(r.expected_fee),
            "Разница": _money((r.bank_fee or 0) - (r.expected_fee or 0)),
            "Класс": rec.CLASS_LABELS[r.klass]} for r in rows]), hide_index=True)
        if count > len(rows):
            st.caption(f"Показаны первые {len(rows)}; все строки — в выгрузке (столбец "
                       "«Комиссия не по тарифу»).")
