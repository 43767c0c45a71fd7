"""The one upload widget for providers' files (account registers, billing registries):
provider, file, «Загрузить», a progress bar, then the summary and every bad row."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import pandas as pd
import streamlit as st

from core.errors import DomainError
from core.files.readers import RowProblem
from dashboard import look
from dashboard.widgets import show_error


class ImportResult(Protocol):
    accepted: bool
    problems: tuple[RowProblem, ...]

    @property
    def summary(self) -> str: ...

    @property
    def already_loaded(self) -> bool: ...


def problems_table(problems: Sequence[RowProblem]) -> pd.DataFrame:
    """A file's bad rows. «Строка» is text throughout: a problem of the header has no row
    number («заголовок»), and numbers mixed with text made Arrow fail on every render."""
    return pd.DataFrame([{"Строка": "заголовок" if p.row is None else str(p.row),
                          "Колонка": p.column, "Причина": p.reason} for p in problems],
                        columns=["Строка", "Колонка", "Причина"])


Importer = Callable[[int, str, bytes, Callable[[int, int], None]], ImportResult]


def registry_upload(key: str, providers: dict[int, str], run: Importer, *,
                    label: str) -> None:
    types = ["csv", "xlsx"]
    hint = look.russian_uploader(f"{key}_file", types)
    with st.form(f"{key}_upload_form", clear_on_submit=False):
        provider_id = st.selectbox("Поставщик", list(providers),
                                   format_func=providers.__getitem__, key=f"{key}_provider")
        uploaded = st.file_uploader(label, type=types, key=f"{key}_file", help=hint)
        submitted = st.form_submit_button("Загрузить", type="primary")
    if submitted:
        if uploaded is None or provider_id is None:
            st.error("Файл: выберите поставщика и файл CSV или XLSX")
        else:
            bar = st.progress(0.0, text="Проверяем файл…")

            def progress(done: int, total: int) -> None:
                bar.progress(min(done / total, 1.0) if total else 1.0,
                             text=f"Загружено строк: {done} из {total}")

            try:
                st.session_state[f"{key}_report"] = run(int(provider_id), uploaded.name,
                                                        uploaded.getvalue(), progress)
            except DomainError as error:
                st.session_state.pop(f"{key}_report", None)
                show_error(error)
            bar.empty()
    report: ImportResult | None = st.session_state.get(f"{key}_report")
    if report is None:
        return
    if not report.accepted:
        st.error(report.summary)
        st.dataframe(problems_table(report.problems), hide_index=True)
    elif report.already_loaded:
        st.info(report.summary)
    else:
        st.success(report.summary)
