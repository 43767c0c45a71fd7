"""Billing-registry import: a provider's file of charge lines becomes invoices.

A billing registry («реестр начислений») has one row per charge line. The import
is all-or-nothing per file: every bad row is reported and nothing is saved, or
every invoice is saved in one transaction. The same file (by SHA-256, per
provider) loads once; a second time it adds nothing. Rows are checked column by
column outside the write transaction (a column's distinct texts parsed once; a
bad row is then worded by the row rules) and inserted in chunks, on SQLite
through the driver's executemany: 100,000 XLSX rows load in about 2.7 s, 0.9 s
of it calamine's read (benchmarks/excel.py).
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.billing.registry_files import earlier_file
from core.files import uploads
from core.actors import StaffActor, require_role
from core.app import App
from core.db.models import Invoice, InvoiceLine, Provider, ProviderAccount, RegistryFile
from core.billing import invoice_rules as rules
from core.billing.account_rules import normalize_account_number
from core.errors import NotFound, ValidationError
from core.text import CONTROL_PROBLEM, has_control_characters
from core.files.readers import (RowProblem, SourceTable, extra_cell_problems, parse_decimal,
                                read_columns)
from core.money import Money, MoneyFormatError, parse_rubles
from core.staff import audit, permissions
from core.notifications import outbox
from core.timefmt import MOSCOW, format_datetime_msk

IMPORTERS = permissions.MONEY_MOVERS
REGISTRY_KIND = "invoices"
SAVE_CHUNK = 5000  # invoices per executemany (with their lines)
LOOKUP_CHUNK = 900  # ids or numbers per IN (...) list
MAX_AMOUNT = 1_000_000_000  # kopecks (10 млн ₽): a cell or an invoice above it is a typo
MAX_VOLUME = Decimal("99999999999.999")  # Numeric(14, 3)

# Canonical column -> header spellings accepted (compared by core.files.readers.header_key:
# case, spaces, punctuation and «ё» do not matter).
COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("Лицевой счет", "ЛС", "Л/с", "Лицевой", "Номер лицевого счета", "Номер ЛС",
                "account", "account number", "account_no"),
    "period": ("Период", "Расчетный период", "Месяц", "Период начисления", "period",
               "billing period", "month"),
    "service": ("Услуга", "Наименование услуги", "Вид услуги", "service"),
    "unit": ("Ед. изм.", "Единица измерения", "Ед.", "unit", "units"),
    "volume": ("Объем", "Объем, ед.", "Количество", "Расход", "volume", "quantity"),
    "tariff": ("Тариф", "Тариф, руб.", "Цена", "tariff", "rate", "price"),
    "accrued": ("Начислено", "Начислено, руб.", "Начисление", "accrued", "charged"),
    "recalculation": ("Перерасчет", "Перерасчет, руб.", "Перерасчеты", "recalculation",
                      "adjustment"),
    "debt": ("Долг/аванс", "Долг (+)/аванс (-)", "Долг(+)/аванс(-), руб.", "Долг/аванс, руб.",
             "Задолженность/переплата", "Сальдо", "debt", "debt/prepayment", "balance"),
    "total": ("Итого к оплате", "Итого к оплате, руб.", "К оплате", "Сумма к оплате", "total",
              "total due", "amount due"),
    "due_date": ("Срок оплаты", "Оплатить до", "Дата оплаты", "due date", "due", "pay by"),
}
LABELS = {"account": "Лицевой счёт", "period": "Период", "service": "Услуга",
          "unit": "Ед. изм.", "volume": "Объём", "tariff": "Тариф", "accrued": "Начислено",
          "recalculation": "Перерасчёт", "debt": "Долг/аванс", "total": "Итого к оплате",
          "due_date": "Срок оплаты"}
# Recalculation and debt may be absent from a provider's file (then zero).
REQUIRED_COLUMNS = ("account", "period", "service", "unit", "volume", "tariff", "accrued",
                    "total", "due_date")
REQUIRED_CELLS = ("account", "period", "service", "accrued", "total", "due_date")
_TOTALS_WORDS = ("итог", "всего", "total")

Progress = Callable[[int, int], None]


# --- the import report ------------------------------------------------------

@dataclass(frozen=True)
class ImportReport:
    """What an import did. ``problems`` non-empty: nothing was saved."""

    provider_id: int
    file_name: str
    sha256: str
    rows: int = 0  # charge rows read (a totals row is not one)
    invoices: int = 0  # invoices created
    lines: int = 0  # charge lines created
    total_due: int = 0  # kopecks, over the invoices created
    problems: tuple[RowProblem, ...] = ()  # every bad row, in file order; header ones first
    skipped_totals: int = 0  # totals rows («Итого») recognised and skipped
    already_loaded_at: datetime | None = None  # the same file was loaded then: nothing added
    registry_file_id: int | None = None  # set when this import saved the file

    @property
    def accepted(self) -> bool:
        """No bad rows: the file is saved now or was loaded before."""
        return not self.problems

    @property
    def saved(self) -> bool:
        return self.registry_file_id is not None

    @property
    def already_loaded(self) -> bool:
        return self.already_loaded_at is not None

    @property
    def bad_rows(self) -> list[int]:
        """Distinct row numbers with a problem (None, the header, first)."""
        return sorted({p.row for p in self.problems if p.row is not None})

    @property
    def summary(self) -> str:
        if self.already_loaded_at is not None:
            return (f"Файл «{self.file_name}» уже загружен "
                    f"{format_datetime_msk(self.already_loaded_at)}: ничего не добавлено")
        if self.problems:
            return (f"Файл «{self.file_name}» не загружен: ошибок {len(self.problems)} "
                    f"(строк с ошибками: {len(self.bad_rows)}). Ничего не сохранено; "
                    "исправьте файл и загрузите его целиком")
        return (f"Файл «{self.file_name}» загружен: счетов {self.invoices}, строк начислений "
                f"{self.lines}, на сумму {Money(self.total_due)}")


class _Line(NamedTuple):
    """One good charge row (a tuple: 100,000 of them are made per big file)."""

    row: int
    account: str  # the register's form of the number
    period: date
    service: str
    unit: str
    volume: Decimal
    tariff: int  # kopecks per unit
    accrued: int  # kopecks
    recalculation: int
    debt: int  # debt positive, prepayment negative
    total: int
    due_date: date


def import_billing_registry(app: App, actor: StaffActor | None, provider_id: int,
                            file_name: str, data: bytes,
                            progress: Progress | None = None) -> ImportReport:
    """Load a provider's billing registry (CSV or XLSX); ``actor`` None is the system (CLI).

    ``progress(done, total)``: ``total`` is the number of charge rows; a row
    counts half when checked and half when saved, so ``done`` reaches ``total``
    once everything is saved (a refused file stops about half-way).
    """
    if actor is not None:
        require_role(actor, IMPORTERS, "загрузка реестра начислений")
    name = uploads.clean_file_name(file_name)
    checksum = uploads.checksum(data)
    with app.uow(write=False) as uow:
        provider = _get_provider(uow.session, provider_id)
        loaded_at = _loaded_before(uow.session, provider_id, checksum)
    if loaded_at is not None:
        return ImportReport(provider_id, name, checksum, already_loaded_at=loaded_at)
    table = read_columns(name, data, COLUMNS)
    today = app.now().astimezone(MOSCOW).date()
    checked = _check_table(table, provider, today, progress)
    report = ImportReport(provider_id, name, checksum,
                          rows=len(checked.lines) + checked.bad_row_count,
                          skipped_totals=checked.totals)
    if checked.problems:
        # The file is refused anyway: look up the rest without taking the write lock.
        with app.uow(write=False) as uow:
            problems = checked.problems + _register_problems(uow.session, provider,
                                                             checked.accounts, checked.groups)
        return _refused(report, problems)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        loaded_at = _loaded_before(s, provider_id, checksum)
        if loaded_at is not None:  # the same file, loaded meanwhile
            return ImportReport(provider_id, name, checksum, already_loaded_at=loaded_at)
        account_ids: dict[str, int] = {}
        problems = _register_problems(s, provider, checked.accounts, checked.groups,
                                      account_ids)
        if problems:
            return _refused(report, problems)
        registry = RegistryFile(provider_id=provider_id, kind=REGISTRY_KIND, file_name=name,
                                sha256=checksum, rows=report.rows, created=0, imported_at=now,
                                staff_id=actor.staff_id if actor else None)
        s.add(registry)
        try:
            s.flush()
        except IntegrityError:  # a concurrent import of the same file won
            s.rollback()
            loaded_at = _loaded_before(s, provider_id, checksum)
            return ImportReport(provider_id, name, checksum, already_loaded_at=loaded_at or now)
        try:
            invoice_ids, total_due = _store(s, actor, registry, checked, account_ids, now,
                                            progress)
            uow.commit()
        except IntegrityError:
            # Another file with some of the same invoices committed while we saved.
            raise rules.InvoiceError("Реестр: счета за эти периоды только что загружены другим "
                                     "файлом; загрузите файл ещё раз, чтобы увидеть, какие "
                                     "строки уже есть") from None
        return ImportReport(provider_id, name, checksum, rows=report.rows,
                            invoices=len(invoice_ids), lines=len(checked.lines),
                            total_due=total_due, skipped_totals=checked.totals,
                            registry_file_id=registry.id)


def _store(s: Session, actor: StaffActor | None, registry: RegistryFile, checked: _Checked,
           account_ids: dict[str, int], now: datetime,
           progress: Progress | None) -> tuple[list[int], int]:
    """Insert the invoices with their lines, queue the notices, journal the import."""
    lines = checked.lines
    invoice_ids = _save(s, registry.id, checked.groups, account_ids, now, progress, len(lines))
    registry.created = len(invoice_ids)
    total_due = sum(line.total for line in lines)
    # «Новый счёт» to every active cabinet bound to these accounts, per its subscriptions:
    # queued in this transaction, so messages exist if and only if the invoices do.
    outbox.queue_new_invoice_messages(s, invoice_ids, now)
    audit.record(s, at=now, action="invoice.registry_import", actor=actor,
                 after={"provider_id": registry.provider_id, "file_name": registry.file_name,
                        "sha256": registry.sha256, "rows": len(lines),
                        "invoices": len(invoice_ids), "total_due": total_due})
    return invoice_ids, total_due


def _refused(report: ImportReport, problems: list[RowProblem]) -> ImportReport:
    order = {label: n for n, label in enumerate(LABELS.values())}
    problems = sorted(problems, key=lambda p: (p.row or 0, order.get(p.column, 99)))
    return ImportReport(report.provider_id, report.file_name, report.sha256, rows=report.rows,
                        problems=tuple(problems), skipped_totals=report.skipped_totals)


def _get_provider(s: Session, provider_id: int) -> Provider:
    provider = s.get(Provider, provider_id)
    if provider is None:
        raise NotFound("Поставщик не найден")
    if not provider.invoicing_enabled:
        raise ValidationError("Поставщик", f"«{provider.name}» не выставляет счета через "
                              "личный кабинет", field="provider")
    return provider


def _loaded_before(s: Session, provider_id: int, checksum: str) -> datetime | None:
    earlier = earlier_file(s, provider_id, REGISTRY_KIND, checksum)
    return earlier.imported_at if earlier else None


# --- checking rows (no database) --------------------------------------------

@dataclass
class _Checked:
    lines: list[_Line] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    accounts: list[tuple[int, str]] = field(default_factory=list)  # (row, number) of every row
    groups: dict[tuple[str, date], list[_Line]] = field(default_factory=dict)  # per invoice
    totals: int = 0
    bad_row_count: int = 0


class _CellParser:
    """Parses one file's cells; repeated texts (periods, dates, accounts) are parsed once."""

    def __init__(self, provider: Provider, today: date) -> None:
        self.provider, self.today = provider, today
        self._pattern = re.compile(provider.account_pattern)
        self._periods: dict[str, date | rules.CellError] = {}
        self._dates: dict[str, date | rules.CellError] = {}
        self._amounts: dict[str, int | rules.CellError] = {}
        self._volumes: dict[str, Decimal | rules.CellError] = {}
        self._accounts: dict[str, str | ValidationError] = {}
        self._texts: dict[str, str | rules.CellError] = {}
        # (column, parse, default for an empty cell; None: the cell is required)
        self.cells: tuple[tuple[str, Callable[[str], Any], Any], ...] = (
            ("account", self.account, None), ("period", self.period, None),
            ("service", self.service, None), ("unit", self.unit, ""),
            ("volume", self.volume, Decimal("0.000")), ("tariff", self.tariff, 0),
            ("accrued", self.amount, None), ("recalculation", self.amount, 0),
            ("debt", self.amount, 0), ("total", self.amount, None),
            ("due_date", self.due_date, None))
        assert {c for c, _, d in self.cells if d is None} == set(REQUIRED_CELLS)

    def account(self, text: str) -> str:
        found = self._accounts.get(text)
        if found is None:
            if text.isalnum() and self._pattern.fullmatch(text):
                found = text  # already in the register's form: what normalising would return
            else:
                try:
                    found = normalize_account_number(text, self.provider.account_pattern,
                                                     self.provider.account_hint)
                except ValidationError as error:
                    found = error
            self._accounts[text] = found
        if isinstance(found, ValidationError):
            rule = str(found).split(": ", 1)[-1]
            raise rules.CellError(f"номер «{text}» не подходит под правило поставщика: {rule}")
        return found

    def period(self, text: str) -> date:
        return self._memo(self._periods, text, self._parse_period)

    def due_date(self, text: str) -> date:
        return self._memo(self._dates, text, rules.parse_date)

    def service(self, text: str) -> str:
        return self._memo(self._texts, text, lambda t: _text(t, 100), quote=False)

    def unit(self, text: str) -> str:
        return _text(text, 20)

    def amount(self, text: str) -> int:
        kopecks = _plain_kopecks(text)
        if kopecks is not None:
            return kopecks
        return self._memo(self._amounts, text, _amount, quote=False)

    def tariff(self, text: str) -> int:
        kopecks = self.amount(text)
        if kopecks < 0:
            raise rules.CellError(f"тариф не может быть отрицательным: «{text}»")
        return kopecks

    def volume(self, text: str) -> Decimal:
        return self._memo(self._volumes, text, _volume, quote=False)

    def _parse_period(self, text: str) -> date:
        period = rules.parse_period(text)
        rules.check_period(period, self.today)
        return period

    @staticmethod
    def _memo(cache: dict[str, Any], text: str, parse: Callable[[str], Any], *,
              quote: bool = True) -> Any:
        found = cache.get(text)
        if found is None:
            try:
                found = parse(text)
            except rules.CellError as error:  # kept, so the same bad text fails alike
                found = rules.CellError(f"«{text}»: {error}" if quote else str(error))
            cache[text] = found
        if isinstance(found, rules.CellError):
            raise rules.CellError(str(found))
        return found


# The usual amount, «-1234,5» or «1234.56»: read without Decimal (a file has 100,000).
_PLAIN_AMOUNT = re.compile(r"(-?)(\d{1,10})(?:[.,](\d\d?))?")


def _plain_kopecks(text: str) -> int | None:
    """What ``_amount`` makes of a usual amount; None for anything else."""
    plain = _PLAIN_AMOUNT.fullmatch(text)
    if plain is None:
        return None
    sign, rubles, fraction = plain.groups()
    kopecks = int(rubles) * 100 + (int(fraction.ljust(2, "0")) if fraction else 0)
    if kopecks > MAX_AMOUNT:
        return None
    return -kopecks if sign else kopecks


def _amount(text: str) -> int:
    kopecks = _plain_kopecks(text)
    if kopecks is not None:
        return kopecks
    try:
        kopecks = parse_rubles(text, grouped=True, trailing_zeros=True).kopecks
    except MoneyFormatError as error:
        if error.reason == "too_precise":
            raise rules.CellError(f"сумма «{text}»: не точнее чем до копеек") from None
        if error.reason == "too_long":
            raise rules.CellError(f"сумма «{text}» больше {Money(MAX_AMOUNT)}") from None
        raise rules.CellError(f"не число: «{text}»") from None
    if abs(kopecks) > MAX_AMOUNT:
        raise rules.CellError(f"сумма «{text}» больше {Money(MAX_AMOUNT)}")
    return kopecks


def _volume(text: str) -> Decimal:
    try:
        value = parse_decimal(text)
    except ValueError:
        raise rules.CellError(f"не число: «{text}»") from None
    if value < 0:
        raise rules.CellError(f"объём не может быть отрицательным: «{text}»")
    if value != value.quantize(Decimal("0.001")) or value > MAX_VOLUME:
        raise rules.CellError(f"объём «{text}»: не больше 3 знаков после запятой и "
                              "не больше 99 999 999 999,999")
    return value.quantize(Decimal("0.001"))


def _is_totals(values: dict[str, str]) -> bool:
    """«Итого» / «Всего» in the first filled identifying cell: a totals row, not a charge."""
    for column in ("account", "period", "service"):
        text = values.get(column, "").strip().casefold()
        if text:
            return text.startswith(_TOTALS_WORDS)
    return False


_WRONG = object()  # the parsed value of a wrong cell, or an empty required one


def _check_table(table: SourceTable, provider: Provider, today: date,
                 progress: Progress | None) -> _Checked:
    """Check the rows column by column: each distinct text of a column is parsed once
    and the sums and dates compared over whole columns. A row found bad is checked
    again by ``_check_row``, which words its problems."""
    out = _Checked()
    missing = table.missing
    lacking = [c for c in REQUIRED_COLUMNS if c in missing]
    if set(missing) >= set(COLUMNS) and not len(table):
        out.problems.append(RowProblem(None, "Заголовок", "не найдена строка заголовка с "
                                       "названиями столбцов: " + ", ".join(LABELS.values())))
        return out
    if lacking:
        out.problems += [RowProblem(None, LABELS[c], "в файле нет такого столбца")
                         for c in lacking]
        return out
    out.problems += extra_cell_problems(table)
    parser = _CellParser(provider, today)
    texts, numbers = table.columns, table.numbers
    totals_rows = _totals_rows(texts)
    out.totals = len(totals_rows)
    if totals_rows:
        skip = set(totals_rows)
        kept = [i for i in range(len(numbers)) if i not in skip]
        numbers = [numbers[i] for i in kept]
        texts = {name: [column[i] for i in kept] for name, column in texts.items()}
    total = len(numbers)
    if progress:
        progress(0, total)
    parsed: dict[str, list[Any]] = {}
    bad: dict[str, set[str]] = {}  # column -> its texts that are wrong (or empty but required)
    known: dict[Callable[[str], Any], tuple[dict[str, Any], set[str]]] = {}  # per parse:
    for column, parse, default in parser.cells:  # the amount columns share theirs
        parsed[column], bad[column] = _parse_column(texts[column], parse, default,
                                                    *known.setdefault(parse, ({}, set())))
    suspects = {i for column, wrong in bad.items() if wrong
                for i, text in enumerate(texts[column]) if text in wrong}
    suspects |= _mismatches(parsed, suspects)
    accounts, account_bad = parsed["account"], bad["account"]
    out.accounts = ([(n, a) for n, a, t in zip(numbers, accounts, texts["account"])
                     if t not in account_bad] if account_bad else list(zip(numbers, accounts)))
    columns = [parsed[c] for c in _Line._fields[1:]]
    if suspects:
        for i in sorted(suspects):
            problems = _check_row(numbers[i], {c: texts[c][i] for c in texts}, parser, [])[1]
            out.problems += problems
        out.bad_row_count = len(suspects)
        good = [i for i in range(total) if i not in suspects]
        out.lines = [_Line(numbers[i], *(c[i] for c in columns)) for i in good]
    else:
        out.lines = list(map(_Line, numbers, *columns))
    if progress and total:
        progress(total // 2, total)
    if not total:
        out.problems.append(RowProblem(None, "Файл", "нет ни одной строки начислений"))
    out.groups = _group(out.lines)
    out.problems += _file_level_problems(out.groups)
    if not out.problems and totals_rows == [len(table) - 1]:
        out.problems += _totals_mismatch(table.row(totals_rows[0]), out.lines)
    return out


def _totals_rows(texts: dict[str, list[str]]) -> list[int]:
    """Indexes of the rows ``_is_totals`` takes for totals rows. Only a row whose account
    cell is empty or begins with a totals word's first letter can be one."""
    initials = tuple({word[0] for word in _TOTALS_WORDS})
    accounts = texts["account"]
    maybe = {text for text in set(accounts) if not text or text[:1].casefold().startswith(initials)}
    if not maybe:
        return []
    return [i for i, (account, period, service)
            in enumerate(zip(accounts, texts["period"], texts["service"]))
            if account in maybe
            and _is_totals({"account": account, "period": period, "service": service})]


def _parse_column(texts: list[str], parse: Callable[[str], Any], default: Any,
                  known: dict[str, Any], wrong: set[str]) -> tuple[list[Any], set[str]]:
    """The parsed value of every cell and the column's texts that do not parse (an empty
    cell is one of them when the column is required). ``known``: texts already parsed
    by ``parse`` (in another column), _WRONG for those in ``wrong``; both grow."""
    distinct = set(texts)
    for text in distinct.difference(known):
        if text:
            try:
                known[text] = parse(text)
            except rules.CellError:
                known[text] = _WRONG
                wrong.add(text)
    lookup = known
    bad = distinct & wrong
    if "" in distinct:
        lookup = {**known, "": _WRONG if default is None else default}
        if default is None:
            bad.add("")
    return list(map(lookup.__getitem__, texts)), bad


def _mismatches(parsed: dict[str, list[Any]], suspects: set[int]) -> set[int]:
    """Rows (among those whose cells all parse) where «Итого» is not «Начислено» +
    «Перерасчёт» + «Долг/аванс», or the due date is before the period."""
    sums = zip(parsed["accrued"], parsed["recalculation"], parsed["debt"], parsed["total"])
    dates = zip(parsed["period"], parsed["due_date"])
    if not suspects:
        return ({i for i, (a, r, d, t) in enumerate(sums) if a + r + d != t}
                | {i for i, (p, due) in enumerate(dates) if due < p})
    return ({i for i, (a, r, d, t) in enumerate(sums) if i not in suspects and a + r + d != t}
            | {i for i, (p, due) in enumerate(dates) if i not in suspects and due < p})


def _check_row(number: int, values: dict[str, str], parser: _CellParser,
               accounts: list[tuple[int, str]]) -> tuple[_Line | None, list[RowProblem]]:
    problems: list[RowProblem] = []
    parsed: dict[str, Any] = {}
    for column, parse, default in parser.cells:
        text = values[column]
        if not text:
            if default is None:
                problems.append(RowProblem(number, LABELS[column], "не заполнено"))
            else:
                parsed[column] = default
            continue
        try:
            parsed[column] = parse(text)
        except rules.CellError as error:
            problems.append(RowProblem(number, LABELS[column], str(error)))
    if "account" in parsed:
        accounts.append((number, parsed["account"]))
    if "period" in parsed and "due_date" in parsed and parsed["due_date"] < parsed["period"]:
        problems.append(RowProblem(number, LABELS["due_date"], "срок оплаты раньше начала "
                                   f"периода ({rules.period_label(parsed['period'])})"))
    if all(c in parsed for c in ("accrued", "recalculation", "debt", "total")):
        expected = parsed["accrued"] + parsed["recalculation"] + parsed["debt"]
        if parsed["total"] != expected:
            problems.append(RowProblem(
                number, LABELS["total"],
                f"{Money(parsed['total'])} не равно «Начислено» + «Перерасчёт» + «Долг/аванс» "
                f"= {Money(expected)}"))
    if problems:
        return None, problems
    return _Line(row=number, **parsed), []


def _text(text: str, limit: int) -> str:
    if has_control_characters(text):
        raise rules.CellError(CONTROL_PROBLEM)
    value = " ".join(text.split())
    if len(value) > limit:
        raise rules.CellError(f"не длиннее {limit} символов")
    return value


def _group(lines: Iterable[_Line]) -> dict[tuple[str, date], list[_Line]]:
    """Lines per invoice, (account, period), in file order."""
    groups: defaultdict[tuple[str, date], list[_Line]] = defaultdict(list)
    for line in lines:
        groups[line[1:3]].append(line)  # the slice is (account, period)
    return dict(groups)


def _file_level_problems(groups: dict[tuple[str, date], list[_Line]]) -> list[RowProblem]:
    """Rows of one invoice must agree on the due date and not repeat a service."""
    problems = []
    for lines_of_invoice in groups.values():
        first = lines_of_invoice[0]
        total = sum(line.total for line in lines_of_invoice)
        if (len(lines_of_invoice) == 1
                or (len({line.due_date for line in lines_of_invoice}) == 1
                    and len({line.service.casefold() for line in lines_of_invoice})
                    == len(lines_of_invoice))):
            if abs(total) > MAX_AMOUNT:
                problems.append(RowProblem(first.row, LABELS["total"], f"итог счёта "
                                           f"{Money(total)} больше {Money(MAX_AMOUNT)}"))
            continue
        services: dict[str, int] = {}
        for line in lines_of_invoice:
            if line.due_date != first.due_date:
                problems.append(RowProblem(line.row, LABELS["due_date"],
                                           f"{line.due_date:%d.%m.%Y} отличается от срока "
                                           f"{first.due_date:%d.%m.%Y} в строке {first.row} "
                                           "того же счёта"))
            key = line.service.casefold()
            if key in services:
                problems.append(RowProblem(line.row, LABELS["service"],
                                           f"услуга «{line.service}» уже есть в строке "
                                           f"{services[key]} того же счёта"))
            services.setdefault(key, line.row)
        if abs(total) > MAX_AMOUNT:
            problems.append(RowProblem(first.row, LABELS["total"],
                                       f"итог счёта {Money(total)} больше {Money(MAX_AMOUNT)}"))
    return problems


def _totals_mismatch(row: Any, lines: list[_Line]) -> list[RowProblem]:
    text = row.values.get("total", "")
    try:
        stated = _amount(text)
    except rules.CellError:
        return []  # a totals row without a readable total is only skipped
    actual = sum(line.total for line in lines)
    if stated == actual:
        return []
    return [RowProblem(row.number, LABELS["total"],
                       f"итоговая строка: {Money(stated)} не совпадает с суммой строк "
                       f"{Money(actual)}")]


# --- checks against the database --------------------------------------------

def _register_problems(s: Session, provider: Provider, accounts: list[tuple[int, str]],
                       groups: dict[tuple[str, date], list[_Line]],
                       account_ids: dict[str, int] | None = None) -> list[RowProblem]:
    """Unknown accounts, and invoices that an earlier file already brought."""
    ids = account_ids if account_ids is not None else {}
    numbers = sorted({number for _, number in accounts})
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        found = s.execute(select(ProviderAccount.number, ProviderAccount.id).where(
            ProviderAccount.provider_id == provider.id,
            ProviderAccount.number.in_(numbers[start:start + LOOKUP_CHUNK])))
        ids.update({number: account_id for number, account_id in found})
    problems = [RowProblem(row, LABELS["account"],
                           f"лицевого счёта {number} нет в реестре поставщика «{provider.name}»")
                for row, number in accounts if number not in ids]
    wanted = {(ids[account], period) for account, period in groups if account in ids}
    existing = _existing_invoices(s, wanted)
    if existing:
        for (account, period), lines in groups.items():
            earlier = existing.get((ids.get(account), period))  # type: ignore[arg-type]
            if earlier is not None:
                problems += [RowProblem(line.row, LABELS["period"], earlier) for line in lines]
    return problems


def _existing_invoices(s: Session, wanted: set[tuple[int, date]]) -> dict[tuple[int, date], str]:
    if not wanted:
        return {}
    account_ids = sorted({a for a, _ in wanted})
    periods = sorted({p for _, p in wanted})
    found: dict[tuple[int, date], str] = {}
    for start in range(0, len(account_ids), LOOKUP_CHUNK):
        result = s.execute(
            select(Invoice.provider_account_id, Invoice.period, RegistryFile.file_name,
                   RegistryFile.imported_at)
            .outerjoin(RegistryFile, RegistryFile.id == Invoice.registry_file_id)
            .where(Invoice.provider_account_id.in_(account_ids[start:start + LOOKUP_CHUNK]),
                   Invoice.period.in_(periods)))
        for account_id, period, file_name, imported_at in result:
            if (account_id, period) not in wanted:
                continue
            source = (f"из файла «{file_name}» {format_datetime_msk(imported_at)}"
                      if file_name else "ранее")
            found[(account_id, period)] = (f"счёт за {rules.period_label(period)} по этому "
                                           f"лицевому счёту уже загружен {source}")
    return found


def _save(s: Session, registry_id: int, groups: dict[tuple[str, date], list[_Line]],
          account_ids: dict[str, int], now: datetime, progress: Progress | None,
          rows: int) -> list[int]:
    items = list(groups.items())
    invoice_ids: list[int] = []
    saved = 0
    for start in range(0, len(items), SAVE_CHUNK):
        chunk = items[start:start + SAVE_CHUNK]
        keys = [(account_ids[account], period) for (account, period), _ in chunk]
        totals = [sum(line.total for line in lines) for _, lines in chunk]
        found = _insert_invoices(s, registry_id, {
            "provider_account_id": [account_id for account_id, _ in keys],
            "period": [period for _, period in keys],
            "total_due": totals,
            "due_date": [lines[0].due_date for _, lines in chunk],
            "status": [rules.initial_status(total) for total in totals],
            "paid_amount": [0] * len(chunk),
            "registry_file_id": [registry_id] * len(chunk),
            "created_at": [now] * len(chunk)})
        ids = [found[key] for key in keys]
        lines = [line for _, group in chunk for line in group]
        fields = list(zip(*lines))  # _Line's fields, each over every line
        _insert_columns(s, InvoiceLine.__table__, {
            "invoice_id": [invoice_id for invoice_id, (_, group) in zip(ids, chunk)
                           for _ in group],
            "line_no": [n for _, group in chunk for n in range(1, len(group) + 1)],
            **{name: fields[index] for name, index in _LINE_FIELDS}})
        invoice_ids += ids
        saved += len(lines)
        if progress:
            progress((rows + saved) // 2, rows)
    return invoice_ids


# invoice_lines column -> its _Line field
_LINE_FIELDS = [(name, _Line._fields.index(name))
                for name in ("service", "unit", "volume", "tariff", "accrued", "recalculation",
                             "debt", "total")]


def _insert_invoices(s: Session, registry_id: int,
                     columns: dict[str, list[Any]]) -> dict[tuple[int, date], int]:
    """Insert invoices; their ids by (account id, period), which is unique per invoice."""
    table = Invoice.__table__
    if _through_driver(s):
        # The write transaction holds SQLite's only write lock: every invoice above the
        # largest id so far is one of these.
        before = s.scalar(select(func.max(Invoice.id))) or 0
        _insert_columns(s, table, columns)
        found = s.execute(select(Invoice.id, Invoice.provider_account_id, Invoice.period)
                          .where(Invoice.id > before, Invoice.registry_file_id == registry_id))
    else:
        # RETURNING in any order (no sentinel column needed): the key tells whose id it is.
        found = s.execute(insert(table).returning(table.c.id, table.c.provider_account_id,
                                                  table.c.period), _dicts(columns))
    return {(account_id, period): invoice_id for invoice_id, account_id, period in found}


def _through_driver(s: Session) -> bool:
    """SQLite: bulk inserts go straight to the driver's executemany."""
    dialect = s.connection().dialect
    return dialect.name == "sqlite" and dialect.paramstyle == "qmark"


def _dicts(columns: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*columns.values())]


def _insert_columns(s: Session, table: Any, columns: dict[str, Sequence[Any]]) -> None:
    """INSERT the rows given column by column (every list as long).

    On SQLite straight through the driver's executemany, each column passed through its
    type's bind processor: Core's per-row parameter handling costs 3.5x the insert
    itself (100,000 charge lines: 0.57 s against 0.16 s). Elsewhere Core, whose
    multi-row VALUES batches are the fast path there."""
    connection = s.connection()
    if not _through_driver(s):
        rows = _dicts(columns)
        if rows:
            connection.execute(insert(table), rows)
        return
    dialect = connection.dialect
    values = []
    for name, column in columns.items():
        bind = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        values.append(column if bind is None else list(map(bind, column)))
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) "
                               f"VALUES ({', '.join('?' * len(columns))})", list(zip(*values)))
