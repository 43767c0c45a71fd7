"""A page of one file uploader as «Сверка» draws it (dashboard/look.py), served by
tests/browser/test_charts_in_russian.py: the uploader's words, without the staff login."""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import look  # noqa: E402

hint = look.russian_uploader("rec_file", ["csv", "xlsx"])
st.file_uploader("Реестр банка (CSV или XLSX)", type=["csv", "xlsx"], key="rec_file",
                 help=hint)
