"""«Сверка» (finance, admin): upload the bank's registry, see the classes side by side,
resolve discrepancies with a comment, export to Excel, open earlier runs."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import pandas as pd
import streamlit as st

from core.errors import DomainError
from core.money import format_kopecks
from core.timefmt import moscow_date
from core.finance import reconciliation as rec, resolutions, run_decisions as decide
from core.finance.bank_profile import DEFAULT, BankProfile
from dashboard import look
from dashboard.bank_profiles_part import profiles_part, upload_profile
from dashboard.run_fees_part import csv_export, fees_part
from dashboard.uploads import problems_table
from dashboard.widgets import (
    ask_confirmation, close_card_button, confirm_dialog, excel_export, fmt_dt, get_app, guard,
    linked_id, open_card, row_table,
    page_request, pager, plain, run_action, show_error,
)

CARD = "run"  # /reconciliation?run=7 opens that run (also set by an upload)
PAGE = "views/reconciliation.py"
RETRY = "rec_retry"  # the upload run again with the answer to its question


@dataclass(frozen=True)
class _Retry:
    """How to read the uploaded file (``file_id``) the next time «Сверить» runs it."""

    file_id: str
    profile: BankProfile | None
    confirm_overlap: bool


def _ask_again(retry: _Retry) -> None:
    st.session_state[RETRY] = retry

actor = guard("reconciliation")
app = get_app()
st.title("Сверка с реестром банка")


def _upload() -> None:
    st.caption("Реестр эквайера за день или период: дата операции, операция (оплата или "
               "возврат), ID транзакции, RRN, карта, сумма. CSV в UTF-8 или cp1251 с «;» или "
               "«,», или XLSX; строки заголовка над таблицей и строка «Итого» под ней "
               "допускаются. Период сверки определяется по датам операций в файле.")
    types = ["csv", "xlsx"]
    hint = look.russian_uploader("rec_file", types)
    # No form: the profile and the preview follow the file as soon as it is chosen.
    uploaded = st.file_uploader("Реестр банка (CSV или XLSX)", type=types, key="rec_file",
                                help=hint)
    profile = upload_profile(app, actor, uploaded)
    again = st.session_state.pop(RETRY, None)  # «Читать суммы как …», «Всё равно сверить»
    if not st.button("Сверить", type="primary", key="rec_run"):
        if again is None or uploaded is None or again.file_id != uploaded.file_id:
            return
        profile = again.profile
    elif uploaded is not None:
        again = _Retry(uploaded.file_id, profile, confirm_overlap=False)
    if uploaded is None or again is None:
        st.error("Файл: выберите реестр банка в формате CSV или XLSX")
        return
    bar = st.progress(0.0, text="Читаем файл…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"Сверка: {done} %")

    try:
        run = rec.reconcile(app, actor, uploaded.name, uploaded.getvalue(), progress,
                            profile=profile, confirm_overlap=again.confirm_overlap)
    except rec.FileAlreadyReconciled as error:
        st.warning(str(error))
        open_card(CARD, error.run_id)
    except rec.AmountUnitSuspected as error:
        show_error(error)
        unit = "копейки" if error.unit == "kopecks" else "рубли"
        st.button(f"Читать суммы как {unit}", key="rec_unit", on_click=_ask_again,
                  args=(replace(again, profile=replace(profile or DEFAULT,
                                                       amount_unit=error.unit)),))
    except rec.PeriodAlreadyReconciled as error:
        st.warning(str(error))
        for earlier in error.runs:
            st.page_link(PAGE, label=f"Сверка № {earlier.run_id} за {earlier.period_text}",
                         icon=":material/open_in_new:", query_params={CARD: str(earlier.run_id)})
        st.button("Всё равно сверить", key="rec_overlap", on_click=_ask_again,
                  args=(replace(again, confirm_overlap=True),))
    except rec.RegistryRejected as error:
        show_error(error)
        st.dataframe(problems_table(error.problems), hide_index=True)
    except DomainError as error:
        show_error(error)
    else:
        st.success(f"Сверка № {run.id} за {run.period_text} выполнена: строк в реестре "
                   f"{run.bank_lines}, расхождений {run.open_discrepancies}")
        open_card(CARD, run.id)
    bar.empty()


def _runs() -> None:
    st.subheader("Сверки")
    try:
        page = rec.list_runs(app, actor, page_request("rec_runs"))
    except DomainError as error:
        show_error(error)
        return
    if page.total == 0:
        st.info("Сверок пока нет")
        return
    row_table("rec_runs", pd.DataFrame([{
        "№": r.id, "Когда": fmt_dt(r.created_at), "Период": r.period_text, "Файл": r.file_name,
        "Провёл(а)": r.staff_name, "Строк банка": r.bank_lines,
        "Не разрешено": r.open_discrepancies,
        "Статус": "Закрыта" if r.closed_at else "Открыта"} for r in page.items]),
        [r.id for r in page.items], CARD)
    pager("rec_runs", page)


def summary_table(run: rec.RunView) -> pd.DataFrame:
    """The classes side by side. «Не разрешено» is text throughout: «Совпало» has nothing
    to resolve («—»), and a column of numbers and text made Arrow fail (and log) on every
    render."""
    rows = [{"Класс": c.label, "Строк банка": c.bank_count,
             "Сумма по банку": format_kopecks(c.bank_sum), "Операций у нас": c.our_count,
             "Сумма у нас": format_kopecks(c.our_sum),
             "Не разрешено": str(c.open_count) if c.klass != "matched" else "—"}
            for c in run.classes]
    rows.append({"Класс": "Итого", "Строк банка": run.bank_lines,
                 "Сумма по банку": format_kopecks(run.bank_total),
                 "Операций у нас": run.our_count, "Сумма у нас": format_kopecks(run.our_total),
                 "Не разрешено": str(run.open_discrepancies)})
    return pd.DataFrame(rows)


def _summary(run: rec.RunView) -> None:
    st.dataframe(summary_table(run), hide_index=True)
    st.caption(f"Итого по файлу банка: {run.bank_lines} строк на {format_kopecks(run.bank_total)}"
               f" · итого у нас за период: {run.our_count} операций на "
               f"{format_kopecks(run.our_total)} (оплаты минус возвраты; у нас — сумма "
               "платежа с комиссией, как списано с карты)")


def _text(number: int | None) -> str:
    return "" if number is None else str(number)


def _items(run: rec.RunView) -> None:
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
        _unpair(chosen, options[item_id])
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


def _unpair(item: rec.ItemRow, label: str) -> None:
    st.caption(f"{label}: сопоставлено вручную со строкой сверки № {item.paired_item_id}")
    action_id = f"rec_unpair_{item.id}"
    if st.button("Снять сопоставление", key="rec_unpair"):
        ask_confirmation(action_id)
    confirm_dialog(action_id, "Снять сопоставление?",
                   "Обе строки пары снова станут неразрешёнными, строка банка перестанет "
                   "называть платёж. Это записывается в журнал действий.",
                   lambda reason: decide.unpair_items(app, actor, item.id, reason),
                   "Сопоставление снято", reason_label="Причина")


def _side(amount: int | None, pan: str | None, moment) -> str:  # type: ignore[no-untyped-def]
    parts = [format_kopecks(amount) if amount is not None else "", pan or "",
             fmt_dt(moment) if moment is not None and not pd.isna(moment) else ""]
    return " · ".join(p for p in parts if p)


def _pairs(run: rec.RunView) -> None:
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
        if st.button("Сопоставить", key="rec_pair"):
            ask_confirmation(action_id)
        confirm_dialog(action_id, "Сопоставить строку банка с платежом?",
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


def _open_by_period() -> None:
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


def _run(run_id: int) -> None:
    try:
        run = rec.get_run(app, actor, run_id)
    except DomainError as error:
        show_error(error)
        return
    st.subheader(f"Сверка № {run.id} · период {run.period_text}")
    st.caption(f"Файл «{plain(run.file_name)}» · {fmt_dt(run.created_at)} · провёл(а) "
               f"{plain(run.staff_name)} · {run.status_text}")
    _summary(run)
    fees_part(app, actor, run)
    excel_export(f"rec_{run.id}", f"sverka_{run.id}.xlsx",
                 lambda: rec.export_run(app, actor, run.id))
    csv_export(app, actor, run)
    if run.closed_at is not None:
        action_id = f"rec_reopen_{run.id}"
        if st.button("Открыть заново", key="rec_reopen"):
            ask_confirmation(action_id)
        confirm_dialog(action_id, "Открыть сверку заново?",
                       f"Сверка № {run.id} снова станет открытой, решения по расхождениям "
                       "можно будет изменить. Это записывается в журнал действий.",
                       lambda reason: decide.reopen_run(app, actor, run.id, reason),
                       "Сверка открыта заново", reason_label="Причина")
    _items(run)
    _pairs(run)


_upload()
with st.expander("Профили банков"):
    profiles_part(app, actor)
_runs()
_open_by_period()
selected = linked_id(CARD, "сверки")
if selected is not None:
    close_card_button(CARD)
    _run(selected)
