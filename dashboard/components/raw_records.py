"""«Исходная запись»: the stored record behind a row shown in words, one click away."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st


def raw_records(key: str, records: Mapping[str, Mapping[str, Any]]) -> None:
    """An expander holding the raw record of the row picked by its label (as stored)."""
    if not records:
        return
    with st.expander("Исходная запись"):
        labels = list(records)
        chosen = st.selectbox("Строка", labels, key=f"{key}_raw_row") if len(labels) > 1 \
            else labels[0]
        st.json(dict(records.get(chosen, records[labels[0]])), expanded=True)
