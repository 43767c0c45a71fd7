"""Bank profiles through the use cases: stored, changed, deleted, exported and imported,
each change journaled; a built-in profile read-only; bad input changes nothing. SQLite
and PostgreSQL."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from core.actors import PermissionDenied, StaffRole
from core.db.models import AuditEntry, BankProfileRecord
from core.errors import NotFound, ValidationError
from core.finance import bank_profile
from core.finance import bank_profiles as bp
from core.staff import audit
from core.paging import PageRequest
from tests.factories.customers import make_staff

REAL_SHIPPED = bank_profile.SHIPPED
BUILTIN = bank_profile.BankProfile(
    name="Встроенный банк", columns={"time": ("Дата",), "operation": ("Операция",),
                                     "rrn": ("RRN",), "amount": ("Сумма",)},
    payment_words=("Оплата",), refund_words=("Возврат",))


def raw(name: str = "Банк Восток", **changes: Any) -> dict[str, Any]:
    profile = {"name": name,
               "columns": {"date": ["Дата операции"], "clock": ["Время"],
                           "operation": ["Тип операции"], "rrn": ["RRN"],
                           "amount": ["Сумма, коп."]},
               "payment_words": ["Оплата услуг", "Покупка"], "refund_words": ["Возврат"],
               "amount_unit": "kopecks", "date_format": "%d.%m.%Y", "encoding": "cp1251",
               "fee_rate_bp": 180, "fee_min": 0}
    profile.update(changes)
    return profile


@pytest.fixture(autouse=True)
def one_builtin(monkeypatch):  # type: ignore[no-untyped-def]
    """A known shipped profile, whatever the product ships."""
    monkeypatch.setattr(bank_profile, "SHIPPED", (BUILTIN,), raising=False)


def _stored(app) -> list[tuple[str, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return [(r.name, r.profile) for r in uow.session.scalars(
            select(BankProfileRecord).order_by(BankProfileRecord.id))]


def _journal(app, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                        .order_by(AuditEntry.id)))


def _journal_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action.like("bank_profile.%"))) or 0


def test_a_saved_profile_is_listed_after_the_builtin_ones_and_reads_back(app, finance):
    bp.save_profile(app, finance, raw("Банк Восток"))
    bp.save_profile(app, finance, raw("альфа"))
    entries = bp.list_profiles(app, finance)
    assert [(e.name, e.builtin) for e in entries] == [
        ("Встроенный банк", True), ("альфа", False), ("Банк Восток", False)]
    stored = entries[2]
    assert stored.updated_by == f"Сотрудник {finance.login}" and stored.updated_at
    assert stored.profile == bank_profile.from_dict(raw("Банк Восток"))
    assert bp.get_profile(app, finance, "БАНК восток").profile.amount_unit == "kopecks"
    assert bp.get_profile(app, finance, "встроенный БАНК").builtin

    [entry] = _journal(app, "bank_profile.add")[:1]
    assert entry.after["name"] == "Банк Восток" and entry.after["fee_rate_bp"] == 180
    row = audit.list_entries(app, make_staff(app, StaffRole.ADMIN),
                             audit.AuditFilter(action="bank_profile.add"),
                             PageRequest(1, 10)).items[-1]
    assert row.action_label == "Новый профиль банка"
    assert row.details.startswith("Профиль банка «Банк Восток» создан; столбцы: Дата "
                                  "операции — «Дата операции»")
    assert "единица сумм: копейки" in row.details and "кодировка: Windows-1251" in row.details


def test_a_name_is_unique_whatever_its_case_and_a_builtin_name_cannot_be_taken(app, finance):
    bp.save_profile(app, finance, raw("Банк Восток"))
    with pytest.raises(ValidationError, match="Название профиля: профиль «Банк Восток» уже "
                                              "есть"):
        bp.save_profile(app, finance, raw("банк  ВОСТОК"))
    with pytest.raises(ValidationError, match="«Встроенный банк» — встроенный профиль"):
        bp.save_profile(app, finance, raw("встроенный банк"))
    assert [n for n, _ in _stored(app)] == ["Банк Восток"]
    assert len(_journal(app, "bank_profile.add")) == 1


def test_an_edit_journals_what_changed_and_may_rename(app, finance):
    bp.save_profile(app, finance, raw("Банк Восток"))
    bp.save_profile(app, finance, raw("Восток", fee_rate_bp=200), original="банк восток")
    assert _stored(app) == [("Восток", {**raw("Восток"), "fee_rate_bp": 200})]
    [entry] = _journal(app, "bank_profile.update")
    assert entry.before == {"name": "Банк Восток", "fee_rate_bp": 180}
    assert entry.after == {"name": "Восток", "fee_rate_bp": 200}
    bp.save_profile(app, finance, raw("Восток", fee_rate_bp=200), original="Восток")
    assert len(_journal(app, "bank_profile.update")) == 1  # nothing changed: nothing told


def test_a_builtin_profile_is_never_changed_or_deleted_but_saved_as_a_copy(app, finance):
    with pytest.raises(ValidationError, match="встроенный профиль, его не изменить: "
                                              "сохраните изменения как новый профиль"):
        bp.save_profile(app, finance, raw("Встроенный банк"), original="Встроенный банк")
    with pytest.raises(ValidationError, match="встроенный профиль, его не удалить"):
        bp.delete_profile(app, finance, "Встроенный банк")
    copy = {**BUILTIN.to_dict(), "name": "Встроенный банк (копейки)", "amount_unit": "kopecks"}
    bp.save_profile(app, finance, copy)
    assert [n for n, _ in _stored(app)] == ["Встроенный банк (копейки)"]
    assert bank_profile.SHIPPED == (BUILTIN,)


def test_a_bad_field_is_named_and_nothing_is_stored(app, finance):
    with pytest.raises(ValidationError, match="Единица сумм"):
        bp.save_profile(app, finance, raw(amount_unit="штуки"))
    bp.save_profile(app, finance, raw())
    with pytest.raises(ValidationError, match="Столбец «Сумма»"):
        bp.save_profile(app, finance, raw(columns={"time": ["Дата"], "operation": ["Оп"],
                                              "rrn": ["RRN"]}), original="Банк Восток")
    assert _stored(app) == [("Банк Восток", raw())]
    assert _journal_count(app) == 1


def test_delete_removes_the_profile_and_journals_it(app, finance):
    bp.save_profile(app, finance, raw())
    bp.delete_profile(app, finance, "банк восток")
    assert _stored(app) == []
    [entry] = _journal(app, "bank_profile.delete")
    assert entry.before["name"] == "Банк Восток" and entry.before["amount_unit"] == "kopecks"
    with pytest.raises(NotFound, match="Профиль банка «Банк Восток» не найден"):
        bp.delete_profile(app, finance, "Банк Восток")


def test_export_then_import_elsewhere_sets_the_bank_up_once(app, finance):
    bp.save_profile(app, finance, raw("Банк Восток"))
    bp.save_profile(app, finance, raw("Банк Запад", amount_unit="rubles"))
    data = bp.export_profiles(app, finance, ["Банк Восток", "Банк Запад", "Встроенный банк"])
    document = json.loads(data)
    assert document["format"] == bp.FORMAT and document["version"] == bp.VERSION
    assert [p["name"] for p in document["profiles"]] == ["Банк Восток", "Банк Запад",
                                                         "Встроенный банк"]
    assert _journal(app, "bank_profile.export")[0].after["rows"] == 3

    bp.delete_profile(app, finance, "Банк Восток")
    bp.delete_profile(app, finance, "Банк Запад")
    only_stored = {**document, "profiles": document["profiles"][:2]}
    names = bp.import_profiles(app, finance, "profiles.json",
                               json.dumps(only_stored, ensure_ascii=False).encode())
    assert names == ("Банк Восток", "Банк Запад")
    assert _stored(app) == [("Банк Восток", raw("Банк Восток")),
                            ("Банк Запад", raw("Банк Запад", amount_unit="rubles"))]
    journaled = _journal(app, "bank_profile.import")
    assert [(e.after["name"], e.after["file_name"]) for e in journaled] == [
        ("Банк Восток", "profiles.json"), ("Банк Запад", "profiles.json")]


def _file(*profiles: Any, **document: Any) -> bytes:
    return json.dumps({"format": bp.FORMAT, "version": 1, "profiles": list(profiles),
                       **document}, ensure_ascii=False).encode()


@pytest.mark.parametrize(("data", "problems"), [
    (b"{\"format\": ", ["не JSON: строка 1, позиция 12"]),
    (b"\xff\xfe{}", ["файл не в кодировке UTF-8 — это не файл профилей банков"]),
    (json.dumps({"profiles": []}).encode(),
     [f"неизвестный формат: ожидается файл профилей банков («format»: «{bp.FORMAT}»)"]),
    (_file(raw(), version=2), ["версия «2» не поддерживается (поддерживается 1)"]),
    (_file(), ["в файле нет профилей («profiles»: пустой список или не список)"]),
    (_file(raw("Новый"), raw("Кривой", amount_unit="штуки"), raw("Уже есть"),
           raw("Встроенный банк"), raw("новый"), "строка"),
     ["Профиль 2 («Кривой»): Единица сумм: одно из: рубли, копейки",
      "Профиль 3 («Уже есть»): Название профиля: профиль «Уже есть» уже есть",
      "Профиль 4 («Встроенный банк»): Название профиля: «Встроенный банк» — встроенный "
      "профиль; выберите другое название",
      "Профиль 5 («новый»): Название профиля: то же название, что у профиля 1 этого файла",
      "Профиль 6: Профиль: ожидается описание профиля (объект JSON)"]),
])
def test_a_bad_profiles_file_names_every_problem_and_imports_nothing(app, finance, data,
                                                                      problems):
    bp.save_profile(app, finance, raw("Уже есть"))
    before = _journal_count(app)
    with pytest.raises(bp.ProfilesRejected) as caught:
        bp.import_profiles(app, finance, "p.json", data)
    assert list(caught.value.problems) == problems
    assert str(caught.value).startswith(f"Файл «p.json» не загружен, ничего не сохранено: "
                                        f"ошибок {len(problems)}")
    assert [n for n, _ in _stored(app)] == ["Уже есть"]
    assert _journal_count(app) == before


def test_export_of_nothing_or_an_unknown_name_is_refused(app, finance):
    with pytest.raises(ValidationError, match="Профили: выберите хотя бы один профиль"):
        bp.export_profiles(app, finance, [])
    with pytest.raises(NotFound, match="«Нет такого»"):
        bp.export_profiles(app, finance, ["Нет такого"])
    assert _journal(app, "bank_profile.export") == []


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.MANAGER])
def test_only_finance_and_admins_keep_profiles(app, role):
    member = make_staff(app, role)
    with pytest.raises(PermissionDenied):
        bp.list_profiles(app, member)
    with pytest.raises(PermissionDenied):
        bp.save_profile(app, member, raw())
    assert _stored(app) == []


def test_the_profiles_shipped_with_the_product_come_first_and_are_read_only(app, finance,
                                                                           monkeypatch):
    monkeypatch.setattr(bank_profile, "SHIPPED", REAL_SHIPPED)
    bp.save_profile(app, finance, raw())
    entries = bp.list_profiles(app, finance)
    assert [e.name for e in entries] == [p.name for p in REAL_SHIPPED] + ["Банк Восток"]
    assert [e.builtin for e in entries] == [True] * len(REAL_SHIPPED) + [False]
    first = REAL_SHIPPED[0].name
    with pytest.raises(ValidationError, match="встроенный профиль; выберите другое название"):
        bp.save_profile(app, finance, {**REAL_SHIPPED[0].to_dict(), "name": first.upper()})
    exported = json.loads(bp.export_profiles(app, finance, [first]))
    assert bank_profile.from_dict(exported["profiles"][0]) == REAL_SHIPPED[0]
