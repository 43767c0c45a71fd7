"""Providers and their registers of personal accounts (SQLite and PostgreSQL)."""
from __future__ import annotations

import itertools
import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from core.actors import ActorKind, PermissionDenied, StaffRole
from core.db.models import AuditEntry, ProviderAccount, RegistryFile
from core.errors import NotFound, ValidationError
from core.files.readers import FileUnreadable
from core.billing import providers
from core.billing.providers import ProviderForm
from tests.factories.customers import make_staff
from tests.factories.dbstate import all_values, snapshot

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
FORM = ProviderForm(name="МУП «Пермводоканал»", inn="7707083893", contact_phone="8 800 100-39-00",
                    service_kind="water", account_pattern=r"\d{10}", account_hint="10 цифр",
                    commission_percent="1,5", commission_min="10")
# Providers of the sample registers: (file, pattern, hint, rows).
SAMPLE_RULES = {
    "accounts_vodokanal.csv": (r"\d{10}", "10 цифр", 30),
    "accounts_teplo_cp1251.csv": (r"\d{8}", "8 цифр", 25),
    "accounts_energo.xlsx": (r"\d{12}", "12 цифр", 40),
}
_seq = itertools.count(1)


def valid_inn(n: int) -> str:
    """A fresh organisation INN with a correct control digit (region 59, Perm)."""
    body = f"59{n:07d}"
    control = sum(int(d) * w for d, w in zip(body, (2, 4, 10, 3, 5, 9, 4, 6, 8))) % 11 % 10
    return body + str(control)


def new_provider(app, actor=None, **overrides) -> int:  # type: ignore[no-untyped-def]
    """A provider through the real service; a fresh name and INN unless given."""
    n = next(_seq)
    data: dict[str, object] = dict(name=f"Поставщик №{n}", inn=valid_inn(n))
    data.update(overrides)
    return providers.add_provider(app, actor, replace(FORM, **data))


def sample_provider(app, file_name: str) -> int:  # type: ignore[no-untyped-def]
    pattern, hint, _ = SAMPLE_RULES[file_name]
    return new_provider(app, account_pattern=pattern, account_hint=hint)


def load(app, provider_id, file_name, data=None, actor=None, progress=None):  # type: ignore[no-untyped-def]
    if data is None:
        data = (SAMPLES / file_name).read_bytes()
    return providers.import_account_register(app, actor, provider_id, file_name, data, progress)


def register(app, provider_id) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return {a.number: (a.address, a.payer_masked) for a in uow.session.scalars(
            select(ProviderAccount).where(ProviderAccount.provider_id == provider_id))}


def csv_file(*rows: str, header: str = "Лицевой счет;Адрес;ФИО плательщика") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


GOOD = ["1000000001;г. Пермь, ул. Ленина, д. 1, кв. 1;Иванов Иван Иванович",
        "1000000002;г. Пермь, ул. Мира, д. 2, кв. 5;Петрова Анна Сергеевна"]


@pytest.fixture
def admin(app):  # type: ignore[no-untyped-def]
    return make_staff(app, StaffRole.ADMIN)


# --- providers -----------------------------------------------------------------

def test_admin_adds_a_provider_and_sees_its_rule_and_commission_in_words(app, admin):
    provider_id = providers.add_provider(app, admin, FORM)
    info = providers.get_provider(app, provider_id)
    assert (info.name, info.inn, info.contact_phone, info.service_label) == (
        "МУП «Пермводоканал»", "7707083893", "+7 800 100-39-00", "Водоснабжение и водоотведение")
    assert info.account_rule == "10 цифр, например 1234567890"
    assert info.commission_text == "1,5\u00a0%, не менее 10,00\u00a0₽"
    assert (info.commission_bp, info.commission_min) == (150, 1000)
    assert info.invoicing_enabled and not info.ownership_proof
    assert (info.accounts_count, info.register_loaded_at) == (0, None)
    assert info.as_form() == replace(FORM, contact_phone="+7 800 100-39-00", commission_min="10,00")
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "provider.add"))
        assert entry.staff_id == admin.staff_id and entry.after["inn"] == "7707083893"


def test_provider_added_from_the_command_line_is_journaled_as_the_system(app):
    providers.add_provider(app, None, FORM)
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "provider.add"))
        assert entry.actor_kind is ActorKind.SYSTEM and entry.staff_id is None


@pytest.mark.parametrize("overrides, label", [
    pytest.param({"name": "  "}, "Название поставщика: обязательное поле", id="no-name"),
    pytest.param({"name": "Я" * 201}, "Название поставщика: не длиннее 200", id="long-name"),
    pytest.param({"inn": "7707083894"}, "ИНН: неверная контрольная цифра", id="inn-checksum"),
    pytest.param({"inn": "77070838"}, "ИНН: 10 цифр", id="inn-short"),
    pytest.param({"contact_phone": "123"}, "Телефон поставщика:", id="phone"),
    pytest.param({"service_kind": "beer"}, "Вид услуг: один из", id="kind"),
    pytest.param({"account_pattern": r"(\d{10}"}, "Правило номера счёта: это не регулярное",
                 id="pattern-does-not-compile"),
    pytest.param({"account_pattern": r"\d*"}, "Правило номера счёта: правило не должно",
                 id="pattern-takes-empty"),
    pytest.param({"account_hint": ""}, "Подсказка к номеру счёта: обязательное поле", id="hint"),
    pytest.param({"commission_percent": "1,555"}, "Комиссия, %:", id="percent-decimals"),
    pytest.param({"commission_percent": "150"}, "Комиссия, %: не больше 100", id="percent-big"),
    pytest.param({"commission_min": "-1"}, "Минимальная комиссия, ₽:", id="min-negative"),
    pytest.param({"commission_min": "десять"}, "Минимальная комиссия, ₽:", id="min-text"),
])
def test_bad_provider_form_is_refused_naming_the_field_and_changes_nothing(app, admin,
                                                                         overrides, label):
    before = snapshot(app)
    with pytest.raises(ValidationError) as error:
        providers.add_provider(app, admin, replace(FORM, **overrides))
    assert str(error.value).startswith(label)
    assert snapshot(app) == before


@pytest.mark.parametrize("overrides, label", [
    ({"inn": "7736050003"}, "Название поставщика: поставщик с таким названием уже есть"),
    ({"name": "Другой"}, "ИНН: поставщик с таким ИНН уже есть"),
])
def test_provider_name_and_inn_are_unique(app, admin, overrides, label):
    providers.add_provider(app, admin, FORM)
    before = snapshot(app)
    with pytest.raises(ValidationError, match=f"^{label}"):
        providers.add_provider(app, admin, replace(FORM, **overrides))
    assert snapshot(app) == before


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.FINANCE, StaffRole.MANAGER])
def test_only_an_admin_adds_or_changes_providers(app, role):
    provider_id = new_provider(app)
    actor = make_staff(app, role)
    before = snapshot(app)
    with pytest.raises(PermissionDenied):
        providers.add_provider(app, actor, replace(FORM, name="Новый", inn="7736050003"))
    with pytest.raises(PermissionDenied):
        providers.update_provider(app, actor, provider_id, replace(FORM, name="Другое"))
    assert snapshot(app) == before


def test_update_changes_the_provider_and_journals_only_what_changed(app, admin):
    provider_id = providers.add_provider(app, admin, FORM)
    providers.update_provider(app, admin, provider_id,
                              replace(FORM, commission_percent="2", ownership_proof=True,
                                      invoicing_enabled=False))
    info = providers.get_provider(app, provider_id)
    assert (info.commission_bp, info.ownership_proof, info.invoicing_enabled) == (200, True, False)
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry)
                                   .where(AuditEntry.action == "provider.update"))
    assert entry.before == {"provider_id": provider_id, "commission_bp": 150,
                            "ownership_proof": False, "invoicing_enabled": True}
    assert entry.after == {"provider_id": provider_id, "commission_bp": 200,
                           "ownership_proof": True, "invoicing_enabled": False}
    before = snapshot(app)
    providers.update_provider(app, admin, provider_id, info.as_form())  # nothing changed
    assert snapshot(app) == before


def test_update_refuses_a_name_taken_by_another_provider(app, admin):
    first = providers.add_provider(app, admin, FORM)
    second = new_provider(app, name="Теплосеть")
    before = snapshot(app)
    with pytest.raises(ValidationError, match="^Название поставщика: поставщик с таким"):
        providers.update_provider(app, admin, second, replace(FORM, inn="7736050003"))
    providers.update_provider(app, admin, first, replace(FORM, name="МУП «Пермводоканал»"))
    assert snapshot(app) == before


@pytest.mark.parametrize("provider_id", [999, -1, "abc", None])
def test_unknown_provider_is_not_found(app, admin, provider_id):
    with pytest.raises(NotFound):
        providers.get_provider(app, provider_id)
    with pytest.raises(NotFound):
        providers.update_provider(app, admin, provider_id, FORM)


def test_list_providers_by_name_and_invoicing_only(app):
    new_provider(app, name="Б-Теплосеть")
    new_provider(app, name="А-Газ", invoicing_enabled=False)
    new_provider(app, name="В-Энергосбыт")
    assert [p.name for p in providers.list_providers(app)] == ["А-Газ", "Б-Теплосеть",
                                                               "В-Энергосбыт"]
    assert [p.name for p in providers.list_providers(app, invoicing_only=True)] == [
        "Б-Теплосеть", "В-Энергосбыт"]


# --- register import: the samples --------------------------------------------------

@pytest.mark.parametrize("file_name", list(SAMPLE_RULES))
def test_each_sample_register_imports_whole(app, file_name, clock):
    provider_id = sample_provider(app, file_name)
    report = load(app, provider_id, file_name)
    rows = SAMPLE_RULES[file_name][2]
    assert report.accepted and not report.already_loaded
    assert (report.rows, report.created, report.updated, report.unchanged) == (rows, rows, 0, 0)
    accounts = register(app, provider_id)
    assert len(accounts) == rows
    pattern = SAMPLE_RULES[file_name][0]
    assert all(re.fullmatch(pattern, number) for number in accounts)
    assert all(re.fullmatch(r"\w{1,2}\*\*\*\w?( \w\.){0,2}", payer)
               for _, payer in accounts.values())
    info = providers.get_provider(app, provider_id)
    assert info.accounts_count == rows and info.register_loaded_at == clock.now()


def test_register_numbers_are_stored_normalised_and_payers_masked(app):
    provider_id = sample_provider(app, "accounts_vodokanal.csv")
    load(app, provider_id, "accounts_vodokanal.csv")
    accounts = register(app, provider_id)
    assert "4713160265" in accounts  # «47-1316-0265» in the file
    assert accounts["4700340220"] == ("г. Пермь, ул. Монастырская, д. 114, кв. 32", "Но***а Д. К.")


def test_full_payer_names_are_never_stored(app):
    provider_id = sample_provider(app, "accounts_vodokanal.csv")
    data = (SAMPLES / "accounts_vodokanal.csv").read_bytes()
    load(app, provider_id, "accounts_vodokanal.csv", data)
    names = {line.rsplit(",", 1)[1] for line in data.decode().splitlines()[1:]}
    surnames = {n.split()[0] for n in names}
    stored = " ".join(all_values(app))
    assert not any(surname in stored for surname in surnames)


def test_import_is_recorded_and_journaled(app, admin):
    provider_id = sample_provider(app, "accounts_energo.xlsx")
    report = load(app, provider_id, "accounts_energo.xlsx", actor=admin)
    with app.uow(write=False) as uow:
        registry = uow.session.get(RegistryFile, report.registry_file_id)
        entry = uow.session.scalar(select(AuditEntry)
                                   .where(AuditEntry.action == "provider.register_import"))
    assert (registry.kind, registry.file_name, registry.rows, registry.created,
            registry.staff_id) == ("accounts", "accounts_energo.xlsx", 40, 40, admin.staff_id)
    assert len(registry.sha256) == 64
    assert entry.staff_id == admin.staff_id
    assert entry.after["rows"] == 40 and entry.after["created"] == 40


def test_the_same_file_again_is_recognised_and_adds_nothing(app):
    provider_id = sample_provider(app, "accounts_teplo_cp1251.csv")
    first = load(app, provider_id, "accounts_teplo_cp1251.csv")
    before = snapshot(app)
    calls = []
    again = load(app, provider_id, "renamed.csv",
                 (SAMPLES / "accounts_teplo_cp1251.csv").read_bytes(),
                 progress=lambda *a: calls.append(a))
    assert again.already_loaded and again.accepted
    assert (again.created, again.updated, again.registry_file_id) == (0, 0,
                                                                      first.registry_file_id)
    assert "уже был загружен" in again.summary
    assert snapshot(app) == before and calls == []


def test_the_same_file_for_another_provider_is_a_new_load(app):
    first = sample_provider(app, "accounts_vodokanal.csv")
    second = sample_provider(app, "accounts_vodokanal.csv")
    load(app, first, "accounts_vodokanal.csv")
    report = load(app, second, "accounts_vodokanal.csv")
    assert not report.already_loaded and report.created == 30


def test_a_newer_register_adds_new_accounts_and_updates_known_ones(app):
    provider_id = new_provider(app)
    load(app, provider_id, "v1.csv", csv_file(*GOOD))
    report = load(app, provider_id, "v2.csv", csv_file(
        "1000000001;г. Пермь, ул. Ленина, д. 1, кв. 1;Иванов Иван Иванович",  # unchanged
        "10-0000-0002;г. Пермь, ул. Мира, д. 2, кв. 6;Сидорова Анна Сергеевна",  # moved, renamed
        "1000000003;г. Пермь, ул. Мира, д. 9;Ким Ир Сен"))  # new
    assert (report.rows, report.created, report.updated, report.unchanged) == (3, 1, 1, 1)
    assert register(app, provider_id) == {
        "1000000001": ("г. Пермь, ул. Ленина, д. 1, кв. 1", "Ив***в И. И."),
        "1000000002": ("г. Пермь, ул. Мира, д. 2, кв. 6", "Си***а А. С."),
        "1000000003": ("г. Пермь, ул. Мира, д. 9", "К*** И. С."),
    }
    assert report.summary == ("Реестр загружен: строк 3, новых счетов 1, обновлено 1, "
                              "без изменений 1")


def test_progress_is_reported_per_chunk(app, monkeypatch):
    monkeypatch.setattr(providers, "CHUNK", 10)
    provider_id = sample_provider(app, "accounts_teplo_cp1251.csv")
    calls: list[tuple[int, int]] = []
    load(app, provider_id, "accounts_teplo_cp1251.csv",
         progress=lambda done, total: calls.append((done, total)))
    assert calls == [(10, 25), (20, 25), (25, 25)]


def test_a_large_register_loads_in_chunks_and_updates_across_chunks(app):
    provider_id = new_provider(app)
    n = 6_500  # more than three chunks
    rows = [f"{2000000000 + i};г. Пермь, ул. Ленина, д. {i % 200 + 1}, кв. {i % 97 + 1};"
            f"Иванов Иван Иванович" for i in range(n)]
    assert load(app, provider_id, "big.csv", csv_file(*rows)).created == n
    rows[5000] = rows[5000].replace("Иванов Иван", "Петров Пётр")
    report = load(app, provider_id, "big2.csv", csv_file(*rows))
    assert (report.created, report.updated, report.unchanged) == (0, 1, n - 1)
    assert register(app, provider_id)["2000005000"][1] == "Пе***в П. И."


# --- register import: bad files change nothing --------------------------------------

def test_bad_sample_changes_nothing_and_reports_every_bad_row(app):
    provider_id = sample_provider(app, "accounts_vodokanal.csv")
    before = snapshot(app)
    report = load(app, provider_id, "accounts_bad.csv")
    assert not report.accepted and not report.already_loaded
    assert report.rows == 9
    assert [(p.row, p.column) for p in report.problems] == [
        (3, "Лицевой счёт"), (4, "Лицевой счёт"), (5, "Адрес"), (6, "ФИО плательщика"),
        (7, "Лицевой счёт"), (8, "Лицевой счёт"),
        (9, "Лицевой счёт"), (9, "Адрес"), (9, "ФИО плательщика")]
    reasons = {(p.row, p.column): p.reason for p in report.problems}
    assert reasons[(3, "Лицевой счёт")] == "10 цифр, например 1234567890"
    assert reasons[(5, "Адрес")] == "обязательное поле"
    assert reasons[(7, "Лицевой счёт")] == "счёт 4700340220 повторяется: он уже есть в строке 2"
    assert reasons[(8, "Лицевой счёт")].startswith("обязательное поле")
    assert reasons[(9, "Адрес")] == "не длиннее 300 символов"
    assert report.summary.startswith("Файл «accounts_bad.csv» не принят, ничего не сохранено")
    assert "строк с ошибками: 7" in report.summary
    assert snapshot(app) == before


@pytest.mark.parametrize("row, column, reason", [
    pytest.param("12345;ул. Мира;Иванов Иван", "Лицевой счёт", "10 цифр, например 1234567890",
                 id="short-number"),
    pytest.param("10000000ab;ул. Мира;Иванов Иван", "Лицевой счёт",
                 "10 цифр, например 1234567890", id="letters"),
    pytest.param(";ул. Мира;Иванов Иван", "Лицевой счёт",
                 "обязательное поле; 10 цифр, например 1234567890", id="no-number"),
    pytest.param("1000000009;;Иванов Иван", "Адрес", "обязательное поле", id="no-address"),
    pytest.param("1000000009;" + "д" * 301 + ";Иванов Иван", "Адрес", "не длиннее 300 символов",
                 id="long-address"),
    pytest.param("1000000009;ул. Мира;", "ФИО плательщика", "обязательное поле", id="no-payer"),
    pytest.param("1000000009;ул. Мира;12345", "ФИО плательщика",
                 "ожидается фамилия, имя и отчество", id="digits-payer"),
    pytest.param("1000000009;ул. Мира;" + "Я" * 151, "ФИО плательщика",
                 "не длиннее 150 символов", id="long-payer"),
    pytest.param("10-0000-0001;ул. Мира;Иванов Иван", "Лицевой счёт",
                 "счёт 1000000001 повторяется: он уже есть в строке 2", id="duplicate"),
])
def test_one_bad_row_refuses_the_whole_file(app, row, column, reason):
    provider_id = new_provider(app)
    before = snapshot(app)
    report = load(app, provider_id, "r.csv", csv_file(*GOOD, row))
    assert [(p.row, p.column, p.reason) for p in report.problems] == [(4, column, reason)]
    assert snapshot(app) == before


def test_missing_column_is_reported_for_the_header(app):
    provider_id = new_provider(app)
    before = snapshot(app)
    report = load(app, provider_id, "r.csv", csv_file("1000000001;ул. Мира",
                                                      header="Лицевой счет;Адрес"))
    assert [(p.row, p.column) for p in report.problems] == [(None, "ФИО плательщика")]
    assert report.problems[0].text.startswith("Заголовок файла, «ФИО плательщика»: нет такого")
    assert snapshot(app) == before


@pytest.mark.parametrize("data, message", [
    (csv_file(), "в файле нет ни одной строки с данными"),
    (b"just some text\nwithout a header\n", "нет такого столбца"),
])
def test_file_without_data_is_refused(app, data, message):
    provider_id = new_provider(app)
    before = snapshot(app)
    report = load(app, provider_id, "r.csv", data)
    assert not report.accepted and message in report.problems[0].reason
    assert snapshot(app) == before


def test_register_checked_by_another_providers_rule_is_refused_row_by_row(app):
    provider_id = new_provider(app)  # 10 digits; the heating register has 8
    report = load(app, provider_id, "accounts_teplo_cp1251.csv")
    assert len(report.problems) == 25 and report.problems[0].row == 3


@pytest.mark.parametrize("data, error", [
    (b"", ValidationError), (b"\x89PNG\r\n\x1a\n\x00\x00\x00", FileUnreadable),
    (b"PK\x03\x04broken", FileUnreadable),
])
def test_unreadable_file_raises_and_changes_nothing(app, data, error):
    provider_id = new_provider(app)
    before = snapshot(app)
    with pytest.raises(error, match="^Файл: "):
        load(app, provider_id, "r.xlsx", data)
    assert snapshot(app) == before


def test_too_big_file_is_refused(app, monkeypatch):
    monkeypatch.setattr(providers, "MAX_FILE_BYTES", 100)
    provider_id = new_provider(app)
    with pytest.raises(ValidationError, match="^Файл: не больше"):
        load(app, provider_id, "r.csv", csv_file(*GOOD))


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.MANAGER])
def test_only_admin_and_finance_load_registers(app, role):
    provider_id = new_provider(app)
    before = snapshot(app)
    with pytest.raises(PermissionDenied):
        load(app, provider_id, "r.csv", csv_file(*GOOD), actor=make_staff(app, role))
    finance = make_staff(app, StaffRole.FINANCE)
    assert load(app, provider_id, "r.csv", csv_file(*GOOD), actor=finance).created == 2
    assert before != snapshot(app)


def test_register_of_an_unknown_provider_is_not_found(app):
    with pytest.raises(NotFound):
        load(app, 999, "r.csv", csv_file(*GOOD))
