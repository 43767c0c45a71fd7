"""«Сверка» › «Профили банков» in AppTest: finance lists, creates, changes, copies a
built-in one, deletes, exports and imports profiles; bad input is named and stores
nothing."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.actors import StaffRole
from core.db.models import BankProfileRecord
from core.finance import bank_profile
from core.finance import bank_profiles as bp
from dashboard.bank_profiles_part import _token
from tests.dashboard.helpers import button, confirm, shown, table_with, texts

PAGE = "views/reconciliation.py"
BUILTIN = bank_profile.BankProfile(
    name="Встроенный банк", columns={"time": ("Дата",), "operation": ("Операция",),
                                     "rrn": ("RRN",), "amount": ("Сумма",)},
    payment_words=("Оплата",), refund_words=("Возврат",))


@pytest.fixture(autouse=True)
def one_builtin(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(bank_profile, "SHIPPED", (BUILTIN,), raising=False)


def _stored(app) -> dict[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    with app.uow(write=False) as uow:
        return {r.name: r.profile for r in uow.session.scalars(select(BankProfileRecord))}


def _fill(at, shown_name: str, **values: str):  # type: ignore[no-untyped-def]
    """Type into the form of the profile shown (``""``: a new one)."""
    key = f"rec_prof_{_token(shown_name)}"
    for field, value in values.items():
        at.text_input(key=f"{key}_{field}").input(value)
    return at


def _open(logged_in):  # type: ignore[no-untyped-def]
    at, actor = logged_in(StaffRole.FINANCE)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at, actor


def test_finance_creates_a_profile_and_sees_it_listed_after_the_builtin_ones(dash_app,
                                                                              logged_in):
    at, actor = _open(logged_in)
    listed = table_with(at, "Профиль")
    assert listed["Профиль"].tolist() == ["Встроенный банк"]
    assert listed["Вид"].tolist() == ["встроенный"]

    _fill(at, "", name="Банк *Восток*", col_date="Дата операции", col_clock="Время",
          col_operation="Тип операции", col_rrn="RRN", col_amount="Сумма, коп.",
          pay="Оплата услуг; Покупка", refund="Возврат", rate="180")
    at.selectbox(key=f"rec_prof_{_token('')}_unit").set_value("kopecks")
    button(at, "Сохранить").click().run()
    assert not at.exception, at.exception
    assert "Профиль сохранён" in texts(at)
    stored = _stored(dash_app)["Банк *Восток*"]
    assert stored["columns"] == {"date": ["Дата операции"], "clock": ["Время"],
                                 "operation": ["Тип операции"], "rrn": ["RRN"],
                                 "amount": ["Сумма, коп."]}
    assert stored["payment_words"] == ["Оплата услуг", "Покупка"]
    assert (stored["amount_unit"], stored["fee_rate_bp"]) == ("kopecks", 180)
    listed = table_with(at, "Профиль")
    assert listed["Профиль"].tolist() == ["Встроенный банк", "Банк *Восток*"]  # as typed
    assert listed["Кем"].tolist()[1] == f"Сотрудник {actor.login}"
    assert at.selectbox(key="rec_prof_pick").value == "Банк *Восток*"

    # Changed: the form of the stored profile saves it under its name.
    _fill(at, "Банк *Восток*", min="300")
    button(at, "Сохранить").click().run()
    assert _stored(dash_app)["Банк *Восток*"]["fee_min"] == 300


def test_a_bad_field_is_named_and_nothing_is_stored(dash_app, logged_in):
    at, _ = _open(logged_in)
    _fill(at, "", name="Без суммы", col_time="Дата", col_operation="Операция", col_rrn="RRN",
          pay="Оплата", refund="Возврат")
    button(at, "Сохранить").click().run()
    assert [shown(e.value) for e in at.error] == [
        "Столбец «Сумма»: укажите название столбца в файле банка"]
    assert _stored(dash_app) == {}


def test_a_builtin_profile_is_saved_only_as_a_copy_under_another_name(dash_app, logged_in):
    at, _ = _open(logged_in)
    at.selectbox(key="rec_prof_pick").set_value("Встроенный банк").run()
    labels = [b.label for b in at.button]
    assert "Сохранить как новый" in labels and "Сохранить" not in labels
    assert "Удалить профиль" not in labels
    button(at, "Сохранить как новый").click().run()
    assert [shown(e.value) for e in at.error] == [
        "Название профиля: «Встроенный банк» — встроенный профиль; выберите другое название"]
    _fill(at, "Встроенный банк", name="Встроенный банк, копейки")
    at.selectbox(key=f"rec_prof_{_token('Встроенный банк')}_unit").set_value("kopecks")
    button(at, "Сохранить как новый").click().run()
    stored = _stored(dash_app)
    assert list(stored) == ["Встроенный банк, копейки"]
    assert stored["Встроенный банк, копейки"]["amount_unit"] == "kopecks"


def _a_stored_one(app, actor, name: str = "Банк Восток") -> None:  # type: ignore[no-untyped-def]
    bp.save_profile(app, actor, {**BUILTIN.to_dict(), "name": name})


def test_delete_asks_first_then_removes_the_profile(dash_app, logged_in):
    at, actor = _open(logged_in)
    _a_stored_one(dash_app, actor)
    at.run()
    at.selectbox(key="rec_prof_pick").set_value("Банк Восток").run()
    button(at, "Удалить профиль").click().run()
    assert "Банк Восток" in _stored(dash_app)  # only asked
    confirm(at)
    assert not at.exception, at.exception
    assert _stored(dash_app) == {}
    at.run()
    assert table_with(at, "Профиль")["Профиль"].tolist() == ["Встроенный банк"]
    assert at.selectbox(key="rec_prof_pick").value == ""


def test_export_gives_the_profiles_file_and_import_refuses_a_bad_one_naming_each_problem(
        dash_app, logged_in):
    at, actor = _open(logged_in)
    _a_stored_one(dash_app, actor)
    at.run()
    at.multiselect(key="rec_prof_export_names").select("Банк Восток").run()
    button(at, "Выгрузить профили").click().run()
    assert [b.proto.label for b in at.get("download_button")] == ["Скачать файл профилей"]
    exported = json.loads(at.session_state["rec_prof_export_data"])
    assert [p["name"] for p in exported["profiles"]] == ["Банк Восток"]

    bad = {**exported, "profiles": [exported["profiles"][0],
                                    {**exported["profiles"][0], "name": "Другой",
                                     "amount_unit": "штуки"}]}
    at.file_uploader(key="rec_prof_file").set_value(
        ("profiles.json", json.dumps(bad, ensure_ascii=False).encode(), "application/json"))
    button(at, "Загрузить профили").click().run()
    assert any("не загружен, ничего не сохранено: ошибок 2" in shown(e.value)
               for e in at.error)
    assert table_with(at, "Ошибка")["Ошибка"].tolist() == [
        "Профиль 1 («Банк Восток»): Название профиля: профиль «Банк Восток» уже есть",
        "Профиль 2 («Другой»): Единица сумм: одно из: рубли, копейки"]
    assert list(_stored(dash_app)) == ["Банк Восток"]

    good = {**exported, "profiles": [{**exported["profiles"][0], "name": "Банк Запад"}]}
    at.file_uploader(key="rec_prof_file").set_value(
        ("profiles.json", json.dumps(good, ensure_ascii=False).encode(), "application/json"))
    button(at, "Загрузить профили").click().run()
    assert not at.exception, at.exception
    assert "Загружено профилей: 1" in texts(at)
    assert sorted(_stored(dash_app)) == ["Банк Восток", "Банк Запад"]



KOPECKS_PROFILE = {
    "name": "Банк в копейках",
    "columns": {"time": ["Дата операции"], "operation": ["Операция"],
                "txn_id": ["ID транзакции"], "rrn": ["RRN"], "masked_pan": ["Карта"],
                "amount": ["Сумма в копейках"]},
    "payment_words": ["Оплата ЖКУ"], "refund_words": ["Возврат"], "amount_unit": "kopecks"}


def _kopecks_registry(app) -> tuple[bytes, list[str]]:  # type: ignore[no-untyped-def]
    """The page test's registry (two of our payments and a stranger) as a bank writes it
    in kopecks under «Сумма в копейках», a purchase called «Оплата ЖКУ»; and its amounts
    in rubles as written in our format."""
    from tests.dashboard.test_reconciliation_page import _registry

    lines = [line.split(";") for line in _registry(app).decode("utf-8-sig").splitlines()
             if line]
    assert lines[0][-1] == "Сумма" and lines[1][1] == "Оплата"
    rubles = [cells[-1] for cells in lines[1:]]
    out = [";".join([*lines[0][:-1], "Сумма в копейках"])]
    out += [";".join([cells[0], "Оплата ЖКУ", *cells[2:-1],
                      cells[-1].replace(",", "").replace(" ", "").replace("\u00a0", "")])
            for cells in lines[1:]]
    return ("\r\n".join(out) + "\r\n").encode(), rubles


def test_the_profile_is_detected_from_the_header_and_the_preview_reads_as_the_run(
        dash_app, logged_in):
    data, rubles = _kopecks_registry(dash_app)
    at, actor = _open(logged_in)
    bp.save_profile(dash_app, actor, KOPECKS_PROFILE)
    at.run()
    assert at.selectbox(key="rec_profile").value == ""  # «Определить по заголовку»
    at.file_uploader(key="rec_file").set_value(("kop.csv", data, "text/csv")).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.text] == ["Определён профиль: Банк в копейках"]
    preview = table_with(at, "Комиссия банка")
    assert len(preview) == 3 and preview["Операция"].tolist() == ["Оплата"] * 3
    assert [v.replace("\u00a0", "") for v in preview["Сумма"]] == [
        r.replace("\u00a0", "").replace(" ", "") + "₽" for r in rubles]
    assert not at.warning
    assert _runs(dash_app) == 0  # only a preview
    button(at, "Сверить").click().run()
    assert not at.exception, at.exception
    assert "Сверка № 1 за" in texts(at) and "расхождений 1" in texts(at)
    summary = table_with(at, "Класс")
    assert dict(zip(summary["Класс"], summary["Строк банка"]))["Совпало"] == 2


def _runs(app) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func

    from core.db.models import ReconciliationRun

    with app.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(ReconciliationRun)) or 0


def test_a_file_no_profile_reads_says_so_and_the_preview_names_the_problem(dash_app,
                                                                          logged_in):
    at, _ = _open(logged_in)
    odd = "Когда;Что;Сколько\r\n01.12.2026 10:00:00;Оплата;10,00\r\n".encode()
    at.file_uploader(key="rec_file").set_value(("odd.csv", odd, "text/csv")).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.text][0].startswith("Профиль по заголовку не определён")
    assert any("В первых строках ошибок" in w.value for w in at.warning)
    assert "Колонка" in table_with(at, "Колонка").columns


def test_the_profile_picked_at_upload_reads_the_file(dash_app, logged_in):
    """The kopecks registry, its profile picked by hand: reconciled by it."""
    data, _ = _kopecks_registry(dash_app)
    at, actor = _open(logged_in)
    bp.save_profile(dash_app, actor, KOPECKS_PROFILE)
    bp.save_profile(dash_app, actor, {**KOPECKS_PROFILE, "name": "Тот же, в рублях",
                                      "amount_unit": "rubles"})
    at.run()
    at.selectbox(key="rec_profile").set_value("Банк в копейках").run()
    at.file_uploader(key="rec_file").set_value(("kop.csv", data, "text/csv"))
    button(at, "Сверить").click().run()
    assert not at.exception, at.exception
    assert not at.text  # nothing detected: the profile was picked
    assert "Сверка № 1 за" in texts(at) and "расхождений 1" in texts(at), texts(at)
    summary = table_with(at, "Класс")
    assert dict(zip(summary["Класс"], summary["Строк банка"]))["Совпало"] == 2
