"""Service providers and their registers of personal accounts.

An administrator (or an operator at the command line, ``actor=None``) adds a
provider with its number rule and commission, then loads the provider's
register file: the accounts customers may bind. A register import is one
transaction: a file with any bad row saves nothing and comes back as a report
of every bad row; the same file loaded again is recognised by its checksum.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.actors import StaffActor, StaffRole, require_role
from core.app import App
from core.db.models import Provider, ProviderAccount, RegistryFile
from core.billing.account_rules import (SERVICE_KINDS, account_rule, clean_account_hint,
                                        clean_payer_name, clean_provider_name,
                                        clean_register_address, commission_text, format_percent,
                                        mask_payer, normalize_account_number,
                                        normalize_contact_phone, parse_commission_min,
                                        parse_commission_percent, validate_account_pattern,
                                        validate_inn, validate_service_kind)
from core.errors import DomainError, NotFound, ValidationError
from core.billing.registry_files import earlier_file
from core.files import uploads
from core.files.readers import RowProblem, extra_cell_problems, read_columns
from core.money import Money
from core.staff import audit, permissions

ADMINS = permissions.ADMINS
REGISTER_LOADERS = permissions.MONEY_MOVERS
REGISTER_KIND = "accounts"
CHUNK = 2000  # rows per executemany and per progress call
MAX_FILE_BYTES = 100 * 1024 * 1024
REGISTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("лицевой счет", "номер лицевого счета", "лицевой счет абонента", "лс", "л/с",
               "номер счета", "account", "account number", "ls"),
    "address": ("адрес", "адрес помещения", "адрес объекта", "адрес плательщика", "address"),
    "payer": ("фио", "фио плательщика", "плательщик", "абонент", "собственник",
              "фио собственника", "payer", "payer name", "full name"),
}
COLUMN_LABELS = {"number": "Лицевой счёт", "address": "Адрес", "payer": "ФИО плательщика"}


@dataclass(frozen=True)
class ProviderForm:
    """What the «Поставщик» form (or ``providers add``) sends; text as typed."""

    name: str
    inn: str
    contact_phone: str
    service_kind: str  # a key of core.billing.account_rules.SERVICE_KINDS
    account_pattern: str  # regular expression over the number without spaces/dashes
    account_hint: str  # the rule in words, e.g. «10 цифр»
    invoicing_enabled: bool = True
    commission_percent: str = "0"  # «1,5»
    commission_min: str = "0"  # rubles, «10» or «12,50»
    ownership_proof: bool = False


@dataclass(frozen=True)
class ProviderInfo:
    id: int
    name: str
    inn: str
    contact_phone: str
    service_kind: str
    service_label: str  # «Водоснабжение и водоотведение»
    account_pattern: str
    account_hint: str
    account_rule: str  # «10 цифр, например 1234567890»
    invoicing_enabled: bool
    commission_bp: int  # 150 = 1.5 %
    commission_min: int  # kopecks
    commission_text: str  # «1,5 %, не менее 10,00 ₽» / «без комиссии»
    ownership_proof: bool
    accounts_count: int  # accounts in the register
    register_loaded_at: datetime | None  # the last register file loaded
    created_at: datetime

    def as_form(self) -> ProviderForm:
        """The current values, to prefill an edit form."""
        return ProviderForm(
            name=self.name, inn=self.inn, contact_phone=self.contact_phone,
            service_kind=self.service_kind, account_pattern=self.account_pattern,
            account_hint=self.account_hint, invoicing_enabled=self.invoicing_enabled,
            commission_percent=format_percent(self.commission_bp),
            commission_min=f"{Money(self.commission_min).amount:.2f}".replace(".", ","),
            ownership_proof=self.ownership_proof)


@dataclass(frozen=True)
class RegisterReport:
    """What a register import did, or why it saved nothing."""

    provider_id: int
    file_name: str
    rows: int  # data rows in the file
    created: int  # accounts new to the register
    updated: int  # accounts whose address or payer changed
    unchanged: int
    already_loaded: bool  # this very file was loaded before: nothing was done
    problems: tuple[RowProblem, ...]  # every bad row; non-empty means nothing was saved
    registry_file_id: int | None = None

    @property
    def accepted(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        if self.problems:
            bad = len({p.row for p in self.problems if p.row is not None})
            return (f"Файл «{self.file_name}» не принят, ничего не сохранено: ошибок — "
                    f"{len(self.problems)} (строк с ошибками: {bad})")
        if self.already_loaded:
            return (f"Файл «{self.file_name}» уже был загружен раньше: "
                    "ничего не добавлено и не изменено")
        return (f"Реестр загружен: строк {self.rows}, новых счетов {self.created}, "
                f"обновлено {self.updated}, без изменений {self.unchanged}")


# --- providers -------------------------------------------------------------

def _cleaned(form: ProviderForm) -> dict[str, object]:
    return dict(
        name=clean_provider_name(form.name),
        inn=validate_inn(form.inn),
        contact_phone=normalize_contact_phone(form.contact_phone),
        service_kind=validate_service_kind(form.service_kind),
        account_pattern=validate_account_pattern(form.account_pattern),
        account_hint=clean_account_hint(form.account_hint),
        invoicing_enabled=bool(form.invoicing_enabled),
        commission_bp=parse_commission_percent(form.commission_percent),
        commission_min=parse_commission_min(form.commission_min),
        ownership_proof=bool(form.ownership_proof),
    )


def _ensure_unique(s: Session, values: dict[str, object], provider_id: int | None) -> None:
    others = select(Provider.id).where(Provider.id != provider_id) if provider_id \
        else select(Provider.id)
    if s.scalar(others.where(Provider.name == values["name"])) is not None:
        raise ValidationError("Название поставщика", "поставщик с таким названием уже есть",
                              field="name")
    if s.scalar(others.where(Provider.inn == values["inn"])) is not None:
        raise ValidationError("ИНН", "поставщик с таким ИНН уже есть", field="inn")


def _check_actor(actor: StaffActor | None, allowed: set[StaffRole], what: str) -> None:
    if actor is not None:  # None: the command line, run by whoever runs the server
        require_role(actor, allowed, what)


def add_provider(app: App, actor: StaffActor | None, form: ProviderForm) -> int:
    _check_actor(actor, ADMINS, "добавление поставщика")
    values = _cleaned(form)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        _ensure_unique(s, values, None)
        provider = Provider(**values, created_at=now)
        s.add(provider)
        try:
            s.flush()
        except IntegrityError:  # a concurrent add won the race
            s.rollback()
            _ensure_unique(s, values, None)
            raise
        audit.record(s, at=now, action="provider.add", actor=actor,
                     after={"provider_id": provider.id, **values})
        uow.commit()
        return provider.id


def update_provider(app: App, actor: StaffActor | None, provider_id: int,
                    form: ProviderForm) -> None:
    """Change a provider; only what changed goes to the journal."""
    _check_actor(actor, ADMINS, "изменение поставщика")
    values = _cleaned(form)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        provider = _get(s, provider_id)
        _ensure_unique(s, values, provider.id)
        before = {k: getattr(provider, k) for k, v in values.items() if getattr(provider, k) != v}
        if not before:
            return
        after = {k: values[k] for k in before}
        for key, value in after.items():
            setattr(provider, key, value)
        audit.record(s, at=now, action="provider.update", actor=actor,
                     before={"provider_id": provider.id, **before},
                     after={"provider_id": provider.id, **after})
        uow.commit()


def _get(s: Session, provider_id: int) -> Provider:
    try:
        provider = s.get(Provider, int(provider_id))
    except (TypeError, ValueError):
        provider = None
    if provider is None:
        raise NotFound("Поставщик не найден")
    return provider


def _info(p: Provider, accounts: int, loaded_at: datetime | None) -> ProviderInfo:
    return ProviderInfo(
        id=p.id, name=p.name, inn=p.inn, contact_phone=p.contact_phone,
        service_kind=p.service_kind, service_label=SERVICE_KINDS.get(p.service_kind,
                                                                     p.service_kind),
        account_pattern=p.account_pattern, account_hint=p.account_hint,
        account_rule=account_rule(p.account_pattern, p.account_hint),
        invoicing_enabled=p.invoicing_enabled, commission_bp=p.commission_bp,
        commission_min=p.commission_min,
        commission_text=commission_text(p.commission_bp, p.commission_min),
        ownership_proof=p.ownership_proof, accounts_count=accounts,
        register_loaded_at=loaded_at, created_at=p.created_at)


def _infos(s: Session, providers: list[Provider]) -> list[ProviderInfo]:
    ids = [p.id for p in providers]
    if not ids:
        return []
    counts = dict(s.execute(select(ProviderAccount.provider_id, func.count())
                            .where(ProviderAccount.provider_id.in_(ids))
                            .group_by(ProviderAccount.provider_id)).all())
    loaded = dict(s.execute(select(RegistryFile.provider_id, func.max(RegistryFile.imported_at))
                            .where(RegistryFile.provider_id.in_(ids),
                                   RegistryFile.kind == REGISTER_KIND)
                            .group_by(RegistryFile.provider_id)).all())
    return [_info(p, int(counts.get(p.id, 0)), loaded.get(p.id)) for p in providers]


def list_providers(app: App, *, invoicing_only: bool = False) -> list[ProviderInfo]:
    with app.uow(write=False) as uow:
        query = select(Provider).order_by(Provider.name)
        if invoicing_only:
            query = query.where(Provider.invoicing_enabled.is_(True))
        return _infos(uow.session, list(uow.session.scalars(query)))


def provider_names(app: App) -> dict[int, str]:
    """Every provider's name by id, in the order of names: what a filter lists. Without
    ``list_providers``' counts of accounts, which cost a list page 30 ms a rerun at
    200,000 accounts."""
    with app.uow(write=False) as uow:
        return {int(i): str(n) for i, n in uow.session.execute(
            select(Provider.id, Provider.name).order_by(Provider.name))}


def get_provider(app: App, provider_id: int) -> ProviderInfo:
    with app.uow(write=False) as uow:
        return _infos(uow.session, [_get(uow.session, provider_id)])[0]


# --- the register of accounts -----------------------------------------------

@dataclass(frozen=True)
class _Account:
    row: int
    number: str
    address: str
    payer_masked: str


def import_account_register(app: App, actor: StaffActor | None, provider_id: int,
                            file_name: str, data: bytes,
                            progress: Callable[[int, int], None] | None = None
                            ) -> RegisterReport:
    """Load a provider's register: all rows or none; new accounts added, known ones updated.

    ``progress(done, total)`` is called after every chunk of rows written.
    """
    _check_actor(actor, REGISTER_LOADERS, "загрузка реестра лицевых счетов")
    name = uploads.clean_file_name(file_name, fallback="реестр")
    if not data:
        raise ValidationError("Файл", "файл пустой", field="file")
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError("Файл", f"не больше {MAX_FILE_BYTES // 1024 // 1024} МБ",
                              field="file")
    digest = uploads.checksum(data)
    with app.uow(write=False) as uow:
        provider = _get(uow.session, provider_id)
        pattern, hint = provider.account_pattern, provider.account_hint
        known = earlier_file(uow.session, provider.id, REGISTER_KIND, digest)
    if known is not None:
        return _already(provider_id, name, known)
    # Parsing and checking run outside the write transaction: a big file must
    # not hold SQLite's write lock while it is read.
    accounts, problems, total = _check_rows(name, data, pattern, hint)
    if problems:
        return RegisterReport(provider_id, name, total, 0, 0, 0, False, tuple(problems))
    now = app.now()
    try:
        with app.uow() as uow:
            s = uow.session
            provider = _get(s, provider_id)
            if provider.account_pattern != pattern:  # changed meanwhile: check again
                raise DomainError("Файл: правило номера счёта у поставщика только что "
                                  "изменилось, загрузите файл ещё раз", field="file")
            known = earlier_file(s, provider.id, REGISTER_KIND, digest)
            if known is not None:
                return _already(provider_id, name, known)
            registry = RegistryFile(provider_id=provider.id, kind=REGISTER_KIND, file_name=name,
                                    sha256=digest, rows=len(accounts), created=0,
                                    imported_at=now,
                                    staff_id=actor.staff_id if actor else None)
            s.add(registry)
            s.flush()  # claims the checksum first: a concurrent load of this file waits here
            created, updated = 0, 0
            existing = _known_accounts(s, provider.id)
            for start in range(0, len(accounts), CHUNK):
                chunk = accounts[start:start + CHUNK]
                c, u = _save_chunk(s, provider.id, chunk, existing, now)
                created, updated = created + c, updated + u
                if progress is not None:
                    progress(start + len(chunk), len(accounts))
            registry.created = created
            report = RegisterReport(provider_id, name, len(accounts), created, updated,
                                    len(accounts) - created - updated, False, (), registry.id)
            audit.record(s, at=now, action="provider.register_import", actor=actor,
                         after={"provider_id": provider.id, "file_name": name,
                                "sha256": digest, "rows": report.rows, "created": created,
                                "updated": updated})
            uow.commit()
            return report
    except IntegrityError:
        # Another import of this provider committed first (the same file, or rows
        # that overlap): report the file as loaded, or ask to retry.
        with app.uow(write=False) as uow:
            known = earlier_file(uow.session, provider_id, REGISTER_KIND, digest)
        if known is not None:
            return _already(provider_id, name, known)
        raise DomainError("Файл: реестр этого поставщика сейчас загружает другой сотрудник; "
                          "повторите загрузку через минуту", field="file") from None


def _already(provider_id: int, name: str, known: RegistryFile) -> RegisterReport:
    return RegisterReport(provider_id, name, known.rows, 0, 0, known.rows, True, (), known.id)


def _check_rows(name: str, data: bytes, pattern: str,
                hint: str) -> tuple[list[_Account], list[RowProblem], int]:
    """Every good row as an account, and every problem of every bad row."""
    table = read_columns(name, data, REGISTER_COLUMNS)
    rows, missing = table.rows(), table.missing
    problems = [RowProblem(None, COLUMN_LABELS[c], "нет такого столбца в заголовке; ожидается "
                           "один из: " + ", ".join(f"«{s}»" for s in REGISTER_COLUMNS[c][:3]))
                for c in missing]
    if problems:
        return [], problems, len(rows)
    if not rows:
        return [], [RowProblem(None, COLUMN_LABELS["number"],
                               "в файле нет ни одной строки с данными")], 0
    accounts: list[_Account] = []
    seen: dict[str, int] = {}
    wide = {problem.row: problem for problem in extra_cell_problems(table)}
    for row in rows:
        row_problems: list[RowProblem] = []
        number = address = payer = ""
        try:
            number = normalize_account_number(row.values["number"], pattern, hint)
        except ValidationError as error:
            row_problems.append(RowProblem(row.number, COLUMN_LABELS["number"],
                                           _problem_text(error)))
        else:
            if number in seen:
                row_problems.append(RowProblem(row.number, COLUMN_LABELS["number"],
                                               f"счёт {number} повторяется: он уже есть "
                                               f"в строке {seen[number]}"))
            else:
                seen[number] = row.number
        try:
            address = clean_register_address(row.values["address"])
        except ValueError as error:
            row_problems.append(RowProblem(row.number, COLUMN_LABELS["address"], str(error)))
        try:
            payer = mask_payer(clean_payer_name(row.values["payer"]))
        except ValueError as error:
            row_problems.append(RowProblem(row.number, COLUMN_LABELS["payer"], str(error)))
        if row.number in wide:
            row_problems.append(wide[row.number])
        if row_problems:
            problems.extend(row_problems)
        else:
            accounts.append(_Account(row.number, number, address, payer))
    return accounts, problems, len(rows)


def _problem_text(error: ValidationError) -> str:
    """«Лицевой счёт: 10 цифр» -> «10 цифр»: the report names the column itself."""
    return re.sub(r"^[^:]+:\s*", "", str(error), count=1)


_Known = tuple[int, str, str]  # id, address, payer_masked of an account already in the register


def _known_accounts(s: Session, provider_id: int) -> dict[str, _Known]:
    """The provider's register as it is, read once in one streamed query.

    One pass over the provider's rows beats a lookup per chunk: an IN list of
    thousands of numbers costs more than reading the rows, and the file's rows
    are in memory already, so this at most doubles that.
    """
    table = ProviderAccount.__table__
    result = s.execute(select(table.c.number, table.c.id, table.c.address, table.c.payer_masked)
                       .where(table.c.provider_id == provider_id)
                       .execution_options(yield_per=5000))
    return {number: (id_, address, payer) for number, id_, address, payer in result}


def _save_chunk(s: Session, provider_id: int, chunk: list[_Account], existing: dict[str, _Known],
                now: datetime) -> tuple[int, int]:
    """Insert the new accounts and update the changed ones: two executemany calls."""
    table = ProviderAccount.__table__
    new = [dict(provider_id=provider_id, number=a.number, address=a.address,
                payer_masked=a.payer_masked, loaded_at=now)
           for a in chunk if a.number not in existing]
    changed = [dict(b_id=existing[a.number][0], b_address=a.address, b_payer=a.payer_masked,
                    b_at=now)
               for a in chunk if a.number in existing
               and existing[a.number][1:] != (a.address, a.payer_masked)]
    if new:
        s.execute(insert(table), new)
    if changed:
        s.execute(update(table).where(table.c.id == bindparam("b_id"))
                  .values(address=bindparam("b_address"), payer_masked=bindparam("b_payer"),
                          loaded_at=bindparam("b_at")), changed)
    return len(new), len(changed)
