"""A reconciliation run's card, issue 15 points 6 and 8: its items by class with what was
done about each discrepancy («Что сделано», a comment), the manual pairing of a «нет у
нас» line with a «нет в реестре банка» payment (suggested pairs with their reasons, or
any two picked), and what is still open per run or month."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from core.actors import StaffActor
from core.app import App
from core.errors import DomainError
from core.finance import reconciliation as rec, resolutions, run_decisions as decide
from core.money import format_kopecks
from core.timefmt import moscow_date
from dashboard.widgets import (ask_confirmation, confirm_dialog, confirmed_button, fmt_dt,
                               page_request, pager, run_action, show_error)


def _text(number: int | None) -> str:
    return "" if number is None else str(number)


def items_part(app: App, actor: StaffActor, run: rec.RunView) -> None:
    counts = {c.klass: c for c in run.classes}
    first_open = next((c.klass for c in run.classes if c.open_count), "matched")
    klass = st.selectbox("Класс", list(rec.CLASSES),
                         index=list(rec.CLASSES).index(first_open), key="rec_klass",
                         format_func=lambda k: f"{rec.CLASS_LABELS[k]} "
                                               f"({counts[k].bank_count + counts[k].our_count})")
    try:
        detail = rec.run_detail(app, actor, run.id, klass, page_request("rec_items"))
    except DomainError as error:
        show_error(error)
        return
    items = detail.items
    if items.total == 0:
        st.info(f"В классе «{rec.CLASS_LABELS[klass]}» строк нет")
        return
    st.dataframe(pd.DataFrame([{
        # Ids as text: a row missing one gets «», not a mix of numbers and text.
        "Строка файла": _text(r.bank_line_no), "Операция": r.operation_label,
        "ID транзакции": r.bank_txn_id or "", "RRN": r.bank_rrn or "",
        "Карта": r.bank_masked_pan or "",
        "Время (банк)": fmt_dt(r.bank_time) if r.bank_time else "",
        "Сумма банка": format_kopecks(r.bank_amount) if r.bank_amount is not None else "",
        "Платёж №": _text(r.payment_id),
        "Сумма у нас": format_kopecks(r.our_amount) if r.our_amount is not None else "",
        "Статус у нас": r.our_status_label,
        "Что сделано": (resolutions.kind_label(r.resolution_kind)
                        if r.resolved_at and klass != "matched" else ""),
        "Решение": _decision(r, klass),
    } for r in items.items]), hide_index=True)
    pager("rec_items", items)
    if klass == "matched":
        return
    if run.closed_at is not None:
        st.caption("Сверка закрыта: чтобы изменить решение, откройте её заново")
        return
    options = {r.id: (f"строка {r.bank_line_no}" if r.bank_line_no else
                      f"платёж № {r.payment_id}") + (" · разрешено" if r.resolved_at else "")
               for r in items.items}
    item_id = st.selectbox("Расхождение", list(options), format_func=options.__getitem__,
                           key="rec_item")
    chosen = next(r for r in items.items if r.id == item_id)
    if chosen.paired_item_id is not None:
        _unpair(app, actor, chosen, options[item_id])
        return
    kind = st.selectbox("Что сделано", list(resolutions.CHOOSABLE), index=None,
                        format_func=resolutions.KINDS.__getitem__, key="rec_kind",
                        placeholder="выберите, что сделано")
    action_id = f"rec_resolve_{item_id}"
    if st.button("Разрешить", key="rec_resolve"):
        ask_confirmation(action_id)
    what = f"«{resolutions.KINDS[kind]}»" if kind else "не выбрано"
    confirm_dialog(action_id, "Разрешить расхождение?",
                   f"Расхождение ({options[item_id]}) будет отмечено как разрешённое: что "
                   f"сделано — {what}, с вашим комментарием (для «Списано» — причина "
                   "списания); это записывается в журнал действий.",
                   lambda comment: decide.resolve_item(app, actor, item_id, kind, comment),
                   "Расхождение разрешено", reason_label="Комментарий")


def _decision(r: rec.ItemRow, klass: str) -> str:
    if klass == "matched":
        return ""
    if r.resolved_at is None:
        return "не разрешено"
    paired = (f"пара: строка сверки № {r.paired_item_id}; "
              if r.paired_item_id is not None else "")
    return f"{paired}{r.resolution_comment} ({r.resolved_by}, {fmt_dt(r.resolved_at)})"


def _unpair(app: App, actor: StaffActor, item: rec.ItemRow, label: str) -> None:
    st.caption(f"{label}: сопоставлено вручную со строкой сверки № {item.paired_item_id}")
    action_id = f"rec_unpair_{item.id}"
    confirmed_button("Снять сопоставление", "rec_unpair", action_id, "Снять сопоставление?",
                     "Обе строки пары снова станут неразрешёнными, строка банка перестанет "
                     "называть платёж. Это записывается в журнал действий.",
                     lambda reason: decide.unpair_items(app, actor, item.id, reason),
                     "Сопоставление снято", reason_label="Причина")


def _side(amount: int | None, pan: str | None, moment) -> str:  # type: ignore[no-untyped-def]
    parts = [format_kopecks(amount) if amount is not None else "", pan or "",
             fmt_dt(moment) if moment is not None and not pd.isna(moment) else ""]
    return " · ".join(p for p in parts if p)


def pairs_part(app: App, actor: StaffActor, run: rec.RunView) -> None:
    """Likely pairs of «Нет у нас» lines and «Нет в реестре банка» payments, and the
    manual pairing of any two of them."""
    counts = {c.klass: c.open_count for c in run.classes}
    if run.closed_at is not None or not (counts["missing_at_ours"]
                                         and counts["missing_at_bank"]):
        return
    st.subheader("Сопоставление вручную")
    st.caption("Строка банка «Нет у нас» и платёж «Нет в реестре банка» могут быть одной "
               "операцией (банк удержал комиссию, время за полночью, опечатка в карте): "
               "сопоставленные, обе строки разрешаются как «Сопоставлено вручную».")
    try:
        found = decide.suggest_pairs(app, actor, run.id)
    except DomainError as error:
        show_error(error)
        return
    if found.items:
        st.markdown(f"**Возможные пары** (показано {len(found.items)} из {found.total})")
        st.dataframe(pd.DataFrame([{
            "Строка файла": _text(p.bank.bank_line_no),
            "В банке": _side(p.bank.amount, p.bank.masked_pan, p.bank.time),
            "Платёж №": _text(p.ours.payment_id),
            "У нас": _side(p.ours.amount, p.ours.masked_pan, p.ours.time),
            "Почему предложено": p.reason} for p in found.items]), hide_index=True)
        labels = {n: f"строка {p.bank.bank_line_no} ↔ платёж № {p.ours.payment_id}"
                  for n, p in enumerate(found.items)}
        number = st.selectbox("Пара", list(labels), format_func=labels.__getitem__,
                              key="rec_suggestion")
        pair = found.items[number]
        action_id = f"rec_pair_{pair.bank.item_id}_{pair.ours.item_id}"
        confirmed_button("Сопоставить", "rec_pair", action_id,
                         "Сопоставить строку банка с платежом?",
                         f"{labels[number]}: {pair.reason}. Обе строки будут разрешены как "
                         "«Сопоставлено вручную»; это записывается в журнал действий.",
                         lambda reason: decide.pair_items(app, actor, pair.bank.item_id,
                                                          pair.ours.item_id, reason),
                         "Строка банка сопоставлена с платежом", reason_label="Причина")
    else:
        st.caption("Похожих пар не найдено")
    try:
        lines = decide.open_items(app, actor, run.id, "missing_at_ours")
        payments = decide.open_items(app, actor, run.id, "missing_at_bank")
    except DomainError as error:
        show_error(error)
        return
    line_labels = {r.id: f"строка {r.bank_line_no} · "
                         f"{_side(r.bank_amount, r.bank_masked_pan, r.bank_time)}" for r in lines}
    payment_labels = {r.id: f"платёж № {r.payment_id} · {format_kopecks(r.our_amount or 0)}"
                      for r in payments}
    with st.form("rec_manual_pair"):
        line_id = st.selectbox("Строка банка («Нет у нас»)", list(line_labels), index=None,
                               format_func=line_labels.__getitem__, key="rec_pair_line",
                               placeholder="выберите строку")
        payment_id = st.selectbox("Платёж («Нет в реестре банка»)", list(payment_labels),
                                  index=None, format_func=payment_labels.__getitem__,
                                  key="rec_pair_payment", placeholder="выберите платёж")
        # A text input, not an area: the confirmations' area stays the page's last one.
        reason = st.text_input("Причина сопоставления", max_chars=500, key="rec_pair_reason")
        submitted = st.form_submit_button("Сопоставить вручную")
    if submitted:
        if line_id is None or payment_id is None:
            st.error("Строка банка и платёж: выберите обе строки пары")
        elif run_action(lambda: decide.pair_items(app, actor, line_id, payment_id, reason),
                        "Строка банка сопоставлена с платежом"):
            st.rerun()


def open_by_period_part(app: App, actor: StaffActor) -> None:
    """What is still open, per run or per month of the runs over a range of days."""
    with st.expander("Неразрешённые расхождения по периодам"):
        today = moscow_date(app.now())
        left, middle, right = st.columns(3)
        first = left.date_input("С", value=today.replace(day=1) - timedelta(days=62),
                                format="DD.MM.YYYY", key="rec_open_from")
        last = middle.date_input("По", value=today, format="DD.MM.YYYY", key="rec_open_to")
        by = right.radio("Группировка", list(decide.GROUPINGS), horizontal=True,
                         format_func=decide.GROUPINGS.__getitem__, key="rec_open_by")
        try:
            summary = decide.open_by_period(app, actor, first, last, by)
        except DomainError as error:
            show_error(error)
            return
        if not summary.rows:
            st.info("Сверок за эти дни нет")
            return
        rows = [*summary.rows, summary.total]
        st.dataframe(pd.DataFrame([{
            "Период сверок": r.label, "Сверок": r.runs, "Закрыто": r.closed_runs,
            "Не разрешено": r.open_count, "Сумма по банку": format_kopecks(r.bank_sum),
            "Сумма у нас": format_kopecks(r.our_sum)} for r in rows]), hide_index=True)
        st.caption("Суммы неразрешённых строк: оплаты минус возвраты; у нас — сумма платежа "
                   "с комиссией. Сверка за несколько дней относится к месяцу своего первого дня.")
