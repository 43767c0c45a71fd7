"""Bank profiles finance keeps: list, save, delete, export to a file, import from one.

The profiles shipped with the product (``bank_profile.SHIPPED``) come first and are
read-only: their names cannot be taken, and a change is saved as a copy under another
name («Сохранить как»). The stored ones live in ``bank_profiles`` as their file form;
names are unique case-insensitively (``name_key``). Every change is journaled with the
profile before and after. A profiles file is a small JSON document (``FORMAT``,
``VERSION``, ``profiles``) so that a bank set up once is set up everywhere; an import
is all or nothing and names every problem it found.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from core.actors import StaffActor, require_role
from core.app import App
from core.db.models import BankProfileRecord, StaffUser
from core.errors import DomainError, NotFound, ValidationError
from core.files import uploads
from core.finance import bank_profile
from core.finance.bank_profile import BankProfile, from_dict
from core.staff import audit, permissions

EDITORS = permissions.MONEY_MOVERS
WHAT = "профили банков"
FORMAT = "utility-payments.bank-profiles"
VERSION = 1
MAX_FILE_BYTES = 1024 * 1024  # hundreds of profiles; anything larger is not such a file
MAX_FILE_PROFILES = 500
NAME_LABEL = "Название профиля"


@dataclass(frozen=True)
class ProfileEntry:
    """A profile as the list shows it: shipped or stored, and who changed it last."""

    profile: BankProfile
    builtin: bool
    updated_at: datetime | None = None  # None for a shipped profile
    updated_by: str | None = None

    @property
    def name(self) -> str:
        return self.profile.name


class ProfilesRejected(DomainError):
    """A profiles file with problems: nothing is imported; ``problems`` lists every one."""

    code = "bank_profiles_rejected"

    def __init__(self, file_name: str, problems: Sequence[str]) -> None:
        shown = "; ".join(problems[:3]) + (f" и ещё {len(problems) - 3}"
                                           if len(problems) > 3 else "")
        super().__init__(f"Файл «{file_name}» не загружен, ничего не сохранено: ошибок "
                         f"{len(problems)}: {shown}", field="file")
        self.problems = tuple(problems)


def shipped() -> tuple[BankProfile, ...]:
    """The profiles shipped with the product, marked built-in."""
    return tuple(replace(p, builtin=True) for p in bank_profile.SHIPPED)


def _key(name: str) -> str:
    return name.casefold()


def _builtin(name: str) -> BankProfile | None:
    return next((p for p in shipped() if _key(p.name) == _key(name)), None)


def _record(s: Session, name: str) -> BankProfileRecord | None:
    return s.scalar(select(BankProfileRecord).where(BankProfileRecord.name_key == _key(name)))


def _detail(profile: BankProfile) -> dict[str, Any]:
    """The profile as the journal keeps it (its file form)."""
    return profile.to_dict()


def _refuse_taken(s: Session, name: str, own_id: int | None = None) -> None:
    builtin = _builtin(name)
    if builtin is not None:
        raise ValidationError(NAME_LABEL, f"«{builtin.name}» — встроенный профиль; выберите "
                              "другое название", field="name")
    other = _record(s, name)
    if other is not None and other.id != own_id:
        raise ValidationError(NAME_LABEL, f"профиль «{other.name}» уже есть", field="name")


# --- reading -----------------------------------------------------------------------

def list_profiles(app: App, actor: StaffActor) -> list[ProfileEntry]:
    """The shipped profiles first (built-in), then the stored ones by name."""
    require_role(actor, EDITORS, WHAT)
    editor = aliased(StaffUser)
    with app.uow(write=False) as uow:
        rows = uow.session.execute(
            select(BankProfileRecord, editor.name)
            .join(editor, editor.id == BankProfileRecord.updated_by_staff_id)
            .order_by(BankProfileRecord.name_key)).all()
        stored = [ProfileEntry(from_dict(r.profile), False, r.updated_at, who)
                  for r, who in rows]
    return [ProfileEntry(p, True) for p in shipped()] + stored


def find_profile(app: App, name: str) -> BankProfile | None:
    """A shipped or stored profile by name, any case, for the system's own runs (the
    command line acts as no staff member; people go through ``get_profile``)."""
    builtin = _builtin(str(name or ""))
    if builtin is not None:
        return builtin
    with app.uow(write=False) as uow:
        record = _record(uow.session, str(name or ""))
        return from_dict(record.profile) if record is not None else None


def profile_names(app: App) -> list[str]:
    """Every profile's name, the shipped ones first (what an unknown name is told)."""
    with app.uow(write=False) as uow:
        stored = list(uow.session.scalars(select(BankProfileRecord.name)
                                          .order_by(BankProfileRecord.name_key)))
    return [p.name for p in shipped()] + stored


def get_profile(app: App, actor: StaffActor, name: str) -> ProfileEntry:
    require_role(actor, EDITORS, WHAT)
    builtin = _builtin(str(name or ""))
    if builtin is not None:
        return ProfileEntry(builtin, True)
    with app.uow(write=False) as uow:
        record = _record(uow.session, str(name or ""))
        if record is None:
            raise NotFound(f"Профиль банка «{name}» не найден")
        who = uow.session.get(StaffUser, record.updated_by_staff_id)
        return ProfileEntry(from_dict(record.profile), False, record.updated_at,
                            who.name if who else None)


# --- changes -----------------------------------------------------------------------

def save_profile(app: App, actor: StaffActor, raw: Mapping[str, Any],
                 original: str | None = None) -> BankProfile:
    """Create a profile (``original`` None) or change the stored one named ``original``
    (its name may change too). A built-in profile is never changed: save it under
    another name."""
    require_role(actor, EDITORS, WHAT)
    if original is not None and _builtin(original) is not None:
        raise ValidationError("Профиль", f"«{original}» — встроенный профиль, его не изменить: "
                              "сохраните изменения как новый профиль под другим названием",
                              field="name")
    profile = from_dict(raw)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        if original is None:
            _refuse_taken(s, profile.name)
            record = BankProfileRecord(name=profile.name, name_key=_key(profile.name),
                                       profile=profile.to_dict(), created_at=now,
                                       created_by_staff_id=actor.staff_id, updated_at=now,
                                       updated_by_staff_id=actor.staff_id)
            s.add(record)
            _flush(s, profile.name)
            audit.record(s, at=now, action="bank_profile.add", actor=actor,
                         after={"name": profile.name, **_detail(profile)})
            uow.commit()
            return profile
        record = _record(s, original)
        if record is None:
            raise NotFound(f"Профиль банка «{original}» не найден")
        _refuse_taken(s, profile.name, record.id)
        old = _detail(from_dict(record.profile))
        new = _detail(profile)
        changed = [k for k in new if old.get(k) != new[k]]
        if not changed:
            return profile
        record.name, record.name_key = profile.name, _key(profile.name)
        record.profile = profile.to_dict()
        record.updated_at, record.updated_by_staff_id = now, actor.staff_id
        _flush(s, profile.name)
        # The name on both sides (the journal names the profile even when it kept it).
        audit.record(s, at=now, action="bank_profile.update", actor=actor,
                     before={"name": old["name"], **{k: old.get(k) for k in changed}},
                     after={"name": new["name"], **{k: new[k] for k in changed}})
        uow.commit()
        return profile


def _flush(s: Session, name: str) -> None:
    try:
        s.flush()
    except IntegrityError:  # the same name, saved by someone else a moment ago
        s.rollback()
        raise ValidationError(NAME_LABEL, f"профиль «{name}» уже есть", field="name") from None


def delete_profile(app: App, actor: StaffActor, name: str) -> None:
    require_role(actor, EDITORS, WHAT)
    if _builtin(str(name or "")) is not None:
        raise ValidationError("Профиль", f"«{name}» — встроенный профиль, его не удалить",
                              field="name")
    with app.uow() as uow:
        s = uow.session
        record = _record(s, str(name or ""))
        if record is None:
            raise NotFound(f"Профиль банка «{name}» не найден")
        detail = _detail(from_dict(record.profile))
        s.delete(record)
        audit.record(s, at=app.now(), action="bank_profile.delete", actor=actor,
                     before={"name": record.name, **detail})
        uow.commit()


# --- the file ----------------------------------------------------------------------

def export_profiles(app: App, actor: StaffActor, names: Sequence[str]) -> bytes:
    """The named profiles (shipped or stored) as a profiles file (audited)."""
    require_role(actor, EDITORS, WHAT)
    wanted = list(dict.fromkeys(str(n) for n in names))
    if not wanted:
        raise ValidationError("Профили", "выберите хотя бы один профиль", field="names")
    profiles = [get_profile(app, actor, name).profile for name in wanted]
    data = json.dumps({"format": FORMAT, "version": VERSION,
                       "profiles": [p.to_dict() for p in profiles]},
                      ensure_ascii=False, indent=2).encode("utf-8")
    with app.uow() as uow:
        audit.record(uow.session, at=app.now(), action="bank_profile.export", actor=actor,
                     after={"names": [p.name for p in profiles], "rows": len(profiles),
                            "format": "json"})
        uow.commit()
    return data


def import_profiles(app: App, actor: StaffActor, file_name: str,
                    data: bytes) -> tuple[str, ...]:
    """Every profile of a profiles file, or none: ``ProfilesRejected`` names each
    problem (not JSON, another format or version, a bad field, a name already taken).
    Returns the names imported."""
    require_role(actor, EDITORS, WHAT)
    name = uploads.clean_file_name(file_name)
    raws = _file_profiles(name, data)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        problems: list[str] = []
        profiles: list[BankProfile] = []
        seen: dict[str, int] = {}
        for number, raw in enumerate(raws, start=1):
            label = f"Профиль {number}"
            if isinstance(raw, Mapping) and str(raw.get("name") or "").strip():
                label += f" («{' '.join(str(raw['name']).split())[:80]}»)"
            try:
                profile = from_dict(raw)
                if _key(profile.name) in seen:
                    raise ValidationError(NAME_LABEL, f"то же название, что у профиля "
                                          f"{seen[_key(profile.name)]} этого файла",
                                          field="name")
                seen[_key(profile.name)] = number
                _refuse_taken(s, profile.name)
            except ValidationError as error:
                problems.append(f"{label}: {error}")
                continue
            profiles.append(profile)
        if problems:
            raise ProfilesRejected(name, problems)
        for profile in profiles:
            s.add(BankProfileRecord(name=profile.name, name_key=_key(profile.name),
                                    profile=profile.to_dict(), created_at=now,
                                    created_by_staff_id=actor.staff_id, updated_at=now,
                                    updated_by_staff_id=actor.staff_id))
            audit.record(s, at=now, action="bank_profile.import", actor=actor,
                         after={"name": profile.name, "file_name": name,
                                **_detail(profile)})
        try:
            s.flush()
        except IntegrityError:  # a name saved by someone else meanwhile
            s.rollback()
            raise ProfilesRejected(name, ["название одного из профилей только что занято; "
                                          "загрузите файл ещё раз"]) from None
        uow.commit()
    return tuple(p.name for p in profiles)


def _file_profiles(name: str, data: bytes) -> list[Any]:
    """The profiles list of a profiles file; ``ProfilesRejected`` if it is not one."""
    if len(data) > MAX_FILE_BYTES:
        raise ProfilesRejected(name, [f"файл больше {MAX_FILE_BYTES // 1024} КБ — это не "
                                      "файл профилей банков"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProfilesRejected(name, ["файл не в кодировке UTF-8 — это не файл профилей "
                                      "банков"]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProfilesRejected(name, [f"не JSON: строка {error.lineno}, позиция "
                                      f"{error.colno}"]) from None
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise ProfilesRejected(name, [f"неизвестный формат: ожидается файл профилей банков "
                                      f"(«format»: «{FORMAT}»)"])
    if document.get("version") != VERSION:
        raise ProfilesRejected(name, [f"версия «{document.get('version')}» не поддерживается "
                                      f"(поддерживается {VERSION})"])
    profiles = document.get("profiles")
    if not isinstance(profiles, list) or not profiles:
        raise ProfilesRejected(name, ["в файле нет профилей («profiles»: пустой список или "
                                      "не список)"])
    if len(profiles) > MAX_FILE_PROFILES:
        raise ProfilesRejected(name, [f"профилей больше {MAX_FILE_PROFILES}"])
    return profiles


__all__ = ["FORMAT", "VERSION", "ProfileEntry", "ProfilesRejected", "delete_profile",
           "export_profiles", "get_profile", "import_profiles", "list_profiles",
           "save_profile", "shipped"]
