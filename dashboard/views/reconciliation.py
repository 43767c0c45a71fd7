"""«Сверка» (finance, admin): upload the bank's registry, see the classes side by side,
resolve discrepancies with a comment, export to Excel, open earlier runs."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import DomainError
from core.money import format_kopecks
from core.finance import reconciliation as rec
from dashboard import look
from dashboard.bank_profiles_part import profiles_part, upload_profile
from dashboard.uploads import problems_table
from dashboard.widgets import (
    ask_confirmation, close_card_button, confirm_dialog, excel_export, fmt_dt, get_app, guard,
    linked_id, open_card, row_table,
    page_request, pager, plain, show_error,
)

CARD = "run"  # /reconciliation?run=7 opens that run (also set by an upload)

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
    if not st.button("Сверить", type="primary", key="rec_run"):
        return
    if uploaded is None:
        st.error("Файл: выберите реестр банка в формате CSV или XLSX")
        return
    bar = st.progress(0.0, text="Читаем файл…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"Сверка: {done} %")

    try:
        run = rec.reconcile(app, actor, uploaded.name, uploaded.getvalue(), progress,
                            profile=profile)
    except rec.FileAlreadyReconciled as error:
        st.warning(str(error))
        open_card(CARD, error.run_id)
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
        "Решение": ("" if klass == "matched" else
                    f"{r.resolution_comment} ({r.resolved_by}, {fmt_dt(r.resolved_at)})"
                    if r.resolved_at else "не разрешено"),
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
    action_id = f"rec_resolve_{item_id}"
    if st.button("Разрешить", key="rec_resolve"):
        ask_confirmation(action_id)
    confirm_dialog(action_id, "Разрешить расхождение?",
                   f"Расхождение ({options[item_id]}) будет отмечено как разрешённое с вашим "
                   "комментарием; это записывается в журнал действий.",
                   lambda comment: rec.resolve_item(app, actor, item_id, comment),
                   "Расхождение разрешено", reason_label="Комментарий")


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
    excel_export(f"rec_{run.id}", f"sverka_{run.id}.xlsx",
                 lambda: rec.export_run(app, actor, run.id))
    if run.closed_at is not None:
        action_id = f"rec_reopen_{run.id}"
        if st.button("Открыть заново", key="rec_reopen"):
            ask_confirmation(action_id)
        confirm_dialog(action_id, "Открыть сверку заново?",
                       f"Сверка № {run.id} снова станет открытой, решения по расхождениям "
                       "можно будет изменить. Это записывается в журнал действий.",
                       lambda reason: rec.reopen_run(app, actor, run.id, reason),
                       "Сверка открыта заново", reason_label="Причина")
    _items(run)


_upload()
with st.expander("Профили банков"):
    profiles_part(app, actor)
_runs()
selected = linked_id(CARD, "сверки")
if selected is not None:
    close_card_button(CARD)
    _run(selected)
