"""«Сверка» (finance, admin): upload the bank's registry, see the classes side by side,
resolve discrepancies with a comment, export to Excel, open earlier runs."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from core.errors import DomainError
from core.money import format_kopecks
from core.finance import reconciliation as rec, run_decisions as decide
from core.finance.bank_profile import DEFAULT, BankProfile
from dashboard import look
from dashboard.bank_profiles_part import profiles_part, upload_profile
from dashboard.run_decisions_part import items_part, open_by_period_part, pairs_part
from dashboard.run_fees_part import csv_export, fees_part
from dashboard.uploads import problems_table
from dashboard.widgets import (
    close_card_button, confirmed_button, excel_export, fmt_dt, get_app, guard,
    linked_id, open_card, row_table,
    page_request, pager, plain, show_error,
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
    st.caption("Реестр эквайера за день или период, как его выгружает банк: дата (и время) "
               "операции, операция, ID транзакции или RRN, карта, сумма, если есть — "
               "комиссия и сумма к перечислению. Столбцы, слова операций, единицу сумм и "
               "кодировку банка задаёт его профиль («Профили банков» ниже); профиль "
               "определяется по заголовку файла. CSV в UTF-8 или cp1251 с «;» или «,», или "
               "XLSX; строки над таблицей и строка «Итого» под ней допускаются. Период сверки "
               "определяется по датам операций в файле.")
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
        confirmed_button("Открыть заново", "rec_reopen", action_id, "Открыть сверку заново?",
                         f"Сверка № {run.id} снова станет открытой, решения по расхождениям "
                         "можно будет изменить. Это записывается в журнал действий.",
                         lambda reason: decide.reopen_run(app, actor, run.id, reason),
                         "Сверка открыта заново", reason_label="Причина")
    items_part(app, actor, run)
    pairs_part(app, actor, run)


_upload()
with st.expander("Профили банков"):
    profiles_part(app, actor)
_runs()
open_by_period_part(app, actor)
selected = linked_id(CARD, "сверки")
if selected is not None:
    close_card_button(CARD)
    _run(selected)
