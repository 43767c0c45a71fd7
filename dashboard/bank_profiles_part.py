"""The bank profile of an upload (picked, or detected from the file's header) and
«Профили банков» on «Сверка»: the list, a form to create or change a profile (a
built-in one is saved as a copy), delete with confirmation, export and import a
profiles file. What people typed (names, header spellings, words) is shown as text:
in tables and inputs, never as markdown."""
from __future__ import annotations

import zlib

import pandas as pd
import streamlit as st

from core.actors import StaffActor
from core.app import App
from core.errors import DomainError
from core.finance import bank_profiles as bp
from core.finance.bank_profile import (AMOUNT_UNITS, COLUMN_LABELS, DEFAULT, ENCODINGS,
                                       BankProfile)
from core.finance.registry_preview import detect_profile, preview_registry
from dashboard.downloads import download
from dashboard.uploads import problems_table
from dashboard.widgets import confirmed_button, flash, fmt_dt, run_action, show_error

AUTO = ""  # the upload's «Определить по заголовку»
UPLOAD_PICK = "rec_profile"
NEW = ""  # the picker's «Новый профиль»
PICK = "rec_prof_pick"
PICK_NEXT = "rec_prof_pick_next"  # the profile to show after a save (set before the rerun)
EXPORT = "rec_prof_export_data"
JSON_MIME = "application/json"
PREVIEW_ROWS = 20


def upload_profile(app: App, actor: StaffActor, uploaded: object) -> BankProfile | None:
    """«Профиль банка» at upload: the profile to read the file by (None: the reader's
    default, our format and the common spellings)."""
    try:
        entries = bp.list_profiles(app, actor)
    except DomainError as error:
        show_error(error)
        return None
    by_name = {e.name: e.profile for e in entries}
    if st.session_state.get(UPLOAD_PICK) not in (AUTO, *by_name):  # deleted meanwhile
        st.session_state[UPLOAD_PICK] = AUTO
    choice = st.selectbox("Профиль банка", [AUTO, *by_name], key=UPLOAD_PICK,
                          format_func=lambda n: n or "Определить по заголовку")
    if uploaded is None:
        return by_name.get(choice)
    name, data = uploaded.name, uploaded.getvalue()  # type: ignore[attr-defined]
    profile = by_name.get(choice)
    if choice == AUTO:
        profile = detect_profile(name, data, list(by_name.values()))
        # st.text: a profile's name is typed by people, never markdown.
        st.text(f"Определён профиль: {profile.name}" if profile else
                "Профиль по заголовку не определён: ни один профиль не находит в файле нужных "
                "столбцов. Выберите профиль или создайте его в «Профили банков»")
    _preview(name, data, profile or DEFAULT)
    return profile


def _preview(file_name: str, data: bytes, profile: BankProfile) -> None:
    """The first rows as the run will read them, and their problems, before «Сверить»."""
    with st.expander("Предпросмотр", expanded=True):
        try:
            preview = preview_registry(file_name, data, profile, rows=PREVIEW_ROWS)
        except DomainError as error:
            show_error(error)
            return
        st.caption(f"Первые строки файла (до {PREVIEW_ROWS}) так, как сверка их прочитает: "
                   "суммы в рублях, время московское")
        if preview.problems:
            st.warning(f"В первых строках ошибок: {len(preview.problems)}. Сверка такой файл "
                       "не примет; проверьте профиль банка или исправьте файл")
            st.dataframe(problems_table(preview.problems), hide_index=True,
                         key="rec_preview_problems")
        st.dataframe(preview.rows, hide_index=True, key="rec_preview")


def profiles_part(app: App, actor: StaffActor) -> None:
    try:
        entries = bp.list_profiles(app, actor)
    except DomainError as error:
        show_error(error)
        return
    st.caption("Профиль говорит, как читать файл банка: названия столбцов, слова для оплаты и "
               "возврата, единица сумм, формат даты, кодировка и тариф эквайринга. Встроенные "
               "профили не меняются: измените и сохраните копию под своим названием.")
    st.dataframe(profiles_table(entries), hide_index=True, key="rec_prof_list")
    by_name = {e.name: e for e in entries}
    if st.session_state.get(PICK_NEXT) is not None:
        st.session_state[PICK] = st.session_state.pop(PICK_NEXT)
    if st.session_state.get(PICK) not in (NEW, *by_name):
        st.session_state[PICK] = NEW
    name = st.selectbox("Профиль", [NEW, *by_name], key=PICK,
                        format_func=lambda n: n or "Новый профиль")
    entry = by_name.get(name)
    _form(app, actor, entry)
    if entry is not None and not entry.builtin:
        _delete(app, actor, entry.name)
    _export(app, actor, list(by_name))
    _import(app, actor)


def profiles_table(entries: list[bp.ProfileEntry]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Профиль": e.name, "Вид": "встроенный" if e.builtin else "сохранён",
        "Столбцы": "; ".join(f"{COLUMN_LABELS[k]}: {', '.join(v)}"
                             for k, v in e.profile.columns.items()),
        "Оплата": ", ".join(e.profile.payment_words),
        "Возврат": ", ".join(e.profile.refund_words),
        "Суммы в": AMOUNT_UNITS[e.profile.amount_unit],
        "Кодировка": ENCODINGS.get(e.profile.encoding, e.profile.encoding),
        "Изменён": fmt_dt(e.updated_at) if e.updated_at else "",
        "Кем": e.updated_by or "",
    } for e in entries], columns=["Профиль", "Вид", "Столбцы", "Оплата", "Возврат", "Суммы в",
                                  "Кодировка", "Изменён", "Кем"])


def _token(name: str) -> str:
    """Form keys per profile shown, so that picking another one fills the form anew."""
    return f"{zlib.crc32(name.encode()):08x}"


def _form(app: App, actor: StaffActor, entry: bp.ProfileEntry | None) -> None:
    profile: BankProfile | None = entry.profile if entry else None
    key = f"rec_prof_{_token(entry.name if entry else NEW)}"
    with st.form(f"{key}_form"):
        raw: dict[str, object] = {
            "name": st.text_input("Название профиля", value=profile.name if profile else "",
                                  key=f"{key}_name", max_chars=80)}
        st.caption("Названия столбцов в файле банка; несколько вариантов — через «;». "
                   "Пустое поле: такого столбца в файле нет.")
        columns = {}
        for column, label in COLUMN_LABELS.items():
            spellings = profile.columns.get(column, ()) if profile else ()
            columns[column] = st.text_input(label, value="; ".join(spellings),
                                            key=f"{key}_col_{column}")
        raw["columns"] = columns
        raw["payment_words"] = st.text_input(
            "Слова для оплаты (через «;»)", key=f"{key}_pay",
            value="; ".join(profile.payment_words) if profile else "")
        raw["refund_words"] = st.text_input(
            "Слова для возврата (через «;»)", key=f"{key}_refund",
            value="; ".join(profile.refund_words) if profile else "")
        units = list(AMOUNT_UNITS)
        raw["amount_unit"] = st.selectbox(
            "Единица сумм", units, format_func=AMOUNT_UNITS.__getitem__, key=f"{key}_unit",
            index=units.index(profile.amount_unit) if profile else 0)
        raw["date_format"] = st.text_input(
            "Формат даты", value=profile.date_format if profile else "", key=f"{key}_date",
            help="Например %d.%m.%Y %H:%M:%S; пусто — любое из привычных написаний")
        encodings = list(ENCODINGS)
        raw["encoding"] = st.selectbox(
            "Кодировка", encodings, format_func=ENCODINGS.__getitem__, key=f"{key}_enc",
            index=encodings.index(profile.encoding) if profile else 0)
        rate = profile.fee_rate_bp if profile else None
        raw["fee_rate_bp"] = st.text_input(
            "Тариф эквайринга, б. п.", value="" if rate is None else str(rate),
            key=f"{key}_rate", help="Базисные пункты от суммы: 180 — 1,8 %; пусто — не "
                                    "проверять комиссию банка")
        raw["fee_min"] = st.text_input(
            "Минимальная комиссия, коп.", value=str(profile.fee_min) if profile else "0",
            key=f"{key}_min")
        editable = entry is not None and not entry.builtin
        save = st.form_submit_button("Сохранить", type="primary") if (
            entry is None or editable) else False
        save_as = st.form_submit_button("Сохранить как новый") if entry is not None else False
    if save or save_as:
        original = entry.name if (save and editable) else None
        done = run_action(lambda: _save(app, actor, raw, original),
                          "Профиль сохранён")
        if done:
            st.rerun()


def _save(app: App, actor: StaffActor, raw: dict[str, object], original: str | None) -> None:
    profile = bp.save_profile(app, actor, raw, original)
    st.session_state[PICK_NEXT] = profile.name


def _delete(app: App, actor: StaffActor, name: str) -> None:
    action_id = f"rec_prof_delete_{_token(name)}"
    confirmed_button("Удалить профиль", "rec_prof_delete", action_id, "Удалить профиль банка?",
                     f"Профиль «{name}» будет удалён; файлы этого банка придётся читать по "
                     "другому профилю. Это записывается в журнал действий.",
                     lambda _: _deleted(app, actor, name), "Профиль удалён")


def _deleted(app: App, actor: StaffActor, name: str) -> None:
    bp.delete_profile(app, actor, name)
    st.session_state[PICK_NEXT] = NEW


def _export(app: App, actor: StaffActor, names: list[str]) -> None:
    chosen = st.multiselect("Профили для выгрузки", names, key="rec_prof_export_names")
    if st.button("Выгрузить профили", key="rec_prof_export"):
        try:
            st.session_state[EXPORT] = bp.export_profiles(app, actor, chosen)
        except DomainError as error:
            st.session_state.pop(EXPORT, None)
            show_error(error)
    data = st.session_state.get(EXPORT)
    if data:
        download("Скачать файл профилей", data, "bank_profiles.json", JSON_MIME,
                 key="rec_prof_download")


def _import(app: App, actor: StaffActor) -> None:
    uploaded = st.file_uploader("Файл профилей (JSON)", type=["json"], key="rec_prof_file")
    if not st.button("Загрузить профили", key="rec_prof_import"):
        return
    if uploaded is None:
        st.error("Файл профилей: выберите файл JSON, выгруженный из «Профили банков»")
        return
    try:
        names = bp.import_profiles(app, actor, uploaded.name, uploaded.getvalue())
    except bp.ProfilesRejected as error:
        show_error(error)
        st.dataframe(pd.DataFrame({"Ошибка": list(error.problems)}), hide_index=True,
                     key="rec_prof_problems")
        return
    except DomainError as error:
        show_error(error)
        return
    flash(f"Загружено профилей: {len(names)}")
    st.rerun()
