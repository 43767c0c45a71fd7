"""The append-only audit log: written in the same transaction as the action."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.app import App
from core.actors import ActorKind, StaffActor, StaffRole, require_role
from core.db.models import AuditEntry, Customer, Provider, StaffUser
from core.customers.rules import format_phone, normalize_phone
from core.files import exports
from core.files.progress import reporter
from core.paging import Page, PageRequest, capped_count, moscow_date_conditions
from core.staff.journal_words import Names, describe
from core.staff.permissions import PERSONAL_DATA_READERS

ACTION_LABELS: dict[str, str] = {
    "customer.register": "Регистрация",
    "customer.activate": "Активация кабинета",
    "customer.block": "Блокировка",
    "customer.unblock": "Разблокировка",
    "customer.unblock_override": "Разблокировка администратором",
    "customer.code_word_check": "Проверка кодового слова",
    "customer.code_word_unlock": "Снятие блокировки проверок кодового слова",
    "customer.activation_resend": "Повторная отправка кода активации",
    "customer.card_view": "Просмотр карточки клиента",
    "customer.cabinet_view": "Просмотр кабинета глазами клиента",
    "customer.note_add": "Заметка о клиенте",
    "customer.profile_update": "Изменение личных данных",
    "customer.password_change": "Смена пароля",
    "customer.code_word_change": "Смена кодового слова",
    "customer.login": "Вход клиента",
    "staff.login": "Вход сотрудника",
    "staff.login_failed": "Неудачный вход сотрудника",
    "staff.login_unlock": "Снятие блокировки входа сотрудника",
    "staff.logout": "Выход сотрудника",
    "staff.cookie_refused": "Вход по ссылке с другого устройства отклонён",
    "staff.session_moved": "Сеанс сотрудника завершён: другое устройство",
    "staff.add": "Новый сотрудник",
    "staff.role_change": "Смена роли сотрудника",
    "staff.password_change": "Смена пароля сотрудника",
    "staff.deactivate": "Отключение сотрудника",
    "staff.activate": "Включение сотрудника",
    "staff.password_reset": "Временный пароль сотруднику от администратора",
    "staff.totp_failed": "Неверный код двухфакторного входа",
    "staff.totp_enrol": "Подключение двухфакторного входа",
    "staff.totp_reset": "Сброс двухфакторного входа администратором",
    "staff.recovery_used": "Вход по резервному коду",
    "staff.recovery_regenerate": "Новые резервные коды двухфакторного входа",
    "customer.export": "Выгрузка клиентов в Excel",
    "audit.export": "Выгрузка журнала в Excel",
    "provider.add": "Новый поставщик",
    "provider.update": "Изменение поставщика",
    "provider.register_import": "Загрузка реестра лицевых счетов",
    "account.bind": "Привязка лицевого счёта",
    "account.ownership_check": "Неверная сумма при подтверждении лицевого счёта",
    "account.rename": "Переименование лицевого счёта",
    "account.unbind": "Отвязка лицевого счёта",
    "subscription.change": "Изменение подписок",
    "template.change": "Изменение шаблона сообщения",
    "template.reset": "Возврат стандартного шаблона сообщения",
    "outbox.retry": "Повторная отправка сообщения",
    "invoice.registry_import": "Загрузка реестра начислений",
    "invoice.export": "Выгрузка счетов в Excel",
    "invoice.mark_paid": "Отметка счёта клиентом как оплаченного",
    "invoice.unmark_paid": "Снятие клиентом отметки об оплате счёта",
    "card.remove": "Удаление карты",
    "card.bind": "Привязка карты клиентом",
    "card.hold_released": "Снятие удержания 1 ₽ после проверки карты",
    "card.hold_not_placed": "Проверка карты: банк не удерживал 1 ₽",
    "payment.export": "Выгрузка платежей",
    "payment.ask_gateway": "Запрос статуса платежа у банка",
    "payment.receipt_resend": "Повторная отправка квитанции",
    "payment.refund": "Возврат платежа",
    "payment.refund_request": "Запрос возврата (ждёт второго подтверждения)",
    "payment.refund_approve": "Подтверждение возврата",
    "payment.refund_reject": "Отклонение возврата",
    "payout.produce": "Формирование реестра перечислений",
    "payout.export": "Выгрузка реестра перечислений",
    "payout.list_export": "Выгрузка списка реестров перечислений",
    "reconciliation.run": "Сверка с реестром банка",
    "reconciliation.resolve": "Разрешение расхождения сверки",
    "reconciliation.reopen": "Повторное открытие сверки",
    "reconciliation.pair": "Ручное сопоставление строки банка с платежом",
    "reconciliation.unpair": "Снятие ручного сопоставления сверки",
    "reconciliation.export": "Выгрузка сверки",
    "bank_profile.add": "Новый профиль банка",
    "bank_profile.update": "Изменение профиля банка",
    "bank_profile.delete": "Удаление профиля банка",
    "bank_profile.export": "Выгрузка профилей банков",
    "bank_profile.import": "Загрузка профиля банка из файла",
    "analytics.export": "Выгрузка аналитики",
}


def record(session: Session, *, at: datetime, action: str, actor: StaffActor | None = None,
           actor_kind: ActorKind | None = None, actor_label: str | None = None,
           customer_id: int | None = None, reason: str | None = None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           result: str = "ok") -> None:
    session.add(AuditEntry(
        at=at, action=action,
        actor_kind=actor_kind or (ActorKind.STAFF if actor else ActorKind.SYSTEM),
        staff_id=actor.staff_id if actor else None,
        actor_label=actor_label or (actor.login if actor else None),
        customer_id=customer_id, reason=reason, before=before, after=after, result=result,
    ))


@dataclass(frozen=True)
class AuditFilter:
    staff_id: int | None = None
    action: str | None = None
    customer_id: int | None = None
    customer_phone: str | None = None  # as typed; any common format
    date_from: date | None = None  # Moscow dates, inclusive
    date_to: date | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    action_label: str
    customer: str | None
    customer_id: int | None
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    result: str
    details: str = ""  # the detail in words (journal_words.describe); before/after stay raw

    @property
    def raw(self) -> dict[str, Any]:
        """The record as stored, for «Исходная запись»."""
        return {"id": self.id, "action": self.action, "before": self.before,
                "after": self.after, "reason": self.reason, "result": self.result}


def list_entries(app: App, actor: StaffActor, flt: AuditFilter, page: PageRequest) -> Page[AuditRow]:
    """«Журнал действий»: admins see everything; agents and finance their own actions."""
    require_role(actor, PERSONAL_DATA_READERS, "журнал действий")
    if actor.role is not StaffRole.ADMIN:
        flt = replace(flt, staff_id=actor.staff_id)
    return query_entries(app, flt, page)


EXPORT_LIMIT = 100_000
EXPORT_COLUMNS = (
    exports.Column("Когда", "datetime", 18), exports.Column("Кто", width=28),
    exports.Column("Действие", width=30), exports.Column("Клиент", width=34),
    exports.Column("Что произошло", width=60),
    exports.Column("Причина", width=40), exports.Column("Было", width=30),
    exports.Column("Стало", width=30), exports.Column("Результат", width=12))


def export_entries(app: App, actor: StaffActor, flt: AuditFilter) -> bytes:
    """The filtered journal as XLSX; the export itself is journaled."""
    require_role(actor, PERSONAL_DATA_READERS, "журнал действий")
    if actor.role is not StaffRole.ADMIN:
        flt = replace(flt, staff_id=actor.staff_id)
    with app.uow(write=False) as uow:
        names = load_names(uow.session)
    return journaled_export(app, actor, _rows_query(_conditions(flt)), EXPORT_COLUMNS,
                            lambda row: _export_row(row, names), sheet="Журнал",
                            action="audit.export")


def _export_row(row: Any, names: Names) -> tuple[Any, ...]:
    r = _row(*row, names=names)
    return (r.at, r.actor, r.action_label, r.customer or "", r.details, r.reason or "",
            json.dumps(r.before, ensure_ascii=False) if r.before else "",
            json.dumps(r.after, ensure_ascii=False) if r.after else "",
            "успешно" if r.result == "ok" else "отказ")


def journaled_export(app: App, actor: StaffActor, statement: Select[Any],
                     columns: tuple[exports.Column, ...], to_row: Callable[[Any], tuple[Any, ...]],
                     *, sheet: str, action: str, details: dict[str, Any] | None = None) -> bytes:
    """Every row of ``statement`` (up to EXPORT_LIMIT) as XLSX, and the export journaled.

    Read in a read-only transaction, streamed, so a long export never holds
    SQLite's write lock; the journal row is written in a short one after.
    """
    with app.uow(write=False) as uow:
        result = uow.session.execute(statement.limit(EXPORT_LIMIT)
                                     .execution_options(yield_per=2000))
        count = 0

        def rows():  # type: ignore[no-untyped-def]
            nonlocal count
            for row in result:
                count += 1
                yield to_row(row)

        progress = reporter(None)
        if progress is not None:  # somebody shows a bar: tell them how many to expect
            limited = statement.limit(EXPORT_LIMIT).subquery()
            progress = reporter(uow.session.scalar(select(func.count()).select_from(limited)))
        data = exports.to_xlsx(columns, rows(), sheet=sheet, progress=progress)
    with app.uow() as uow:
        record(uow.session, at=app.now(), action=action, actor=actor,
               after={**(details or {}), "rows": count, "format": "xlsx"})
        uow.commit()
    return data


def _rows_query(conditions: list[Any]) -> Select[Any]:
    return (select(AuditEntry, StaffUser.name, Customer.phone, Customer.surname,
                   Customer.first_name, Customer.patronymic)
            .outerjoin(StaffUser, StaffUser.id == AuditEntry.staff_id)
            .outerjoin(Customer, Customer.id == AuditEntry.customer_id)
            .where(*conditions)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))


def load_names(session: Session) -> Names:
    """Staff members and providers by login and id, for the sentences (small tables)."""
    staff = session.execute(select(StaffUser.id, StaffUser.login, StaffUser.name)).all()
    providers = session.execute(select(Provider.id, Provider.name)).all()
    return Names(staff_by_login={login: name for _, login, name in staff},
                 staff_by_id={staff_id: name for staff_id, _, name in staff},
                 providers={provider_id: name for provider_id, name in providers})


def _row(e: AuditEntry, staff_name: str | None, phone: str | None, surname: str | None,
         first_name: str | None, patronymic: str | None, *, names: Names) -> AuditRow:
    full_name = " ".join(p for p in (surname, first_name, patronymic) if p)
    return AuditRow(
        id=e.id, at=e.at, actor=staff_name or _actor_fallback(e),
        action=e.action, action_label=ACTION_LABELS.get(e.action, e.action),
        customer=(f"{full_name}, {format_phone(phone)}" if full_name else format_phone(phone))
        if phone else None,
        customer_id=e.customer_id, reason=e.reason, before=e.before, after=e.after,
        result=e.result, details=describe(e.action, e.before, e.after, names))


def query_entries(app: App, flt: AuditFilter, page: PageRequest) -> Page[AuditRow]:
    """The query behind the journal; callers check the role first."""
    conditions = _conditions(flt)
    with app.uow(write=False) as uow:
        total, capped = capped_count(uow.session, select(AuditEntry.id).where(*conditions))
        rows = uow.session.execute(_rows_query(conditions)
                                   .limit(page.sql_limit).offset(page.sql_offset)).all()
        names = load_names(uow.session) if rows else Names()
    return Page(items=[_row(*row, names=names) for row in rows], total=total, request=page,
                total_capped=capped)


def _conditions(flt: AuditFilter) -> list[Any]:
    conditions = moscow_date_conditions(AuditEntry.at, flt.date_from, flt.date_to)
    if flt.staff_id is not None:
        conditions.append(AuditEntry.staff_id == flt.staff_id)
    if flt.customer_phone:
        phone = normalize_phone(flt.customer_phone)
        conditions.append(AuditEntry.customer_id.in_(
            select(Customer.id).where(Customer.phone == phone)))
    if flt.action:
        conditions.append(AuditEntry.action == flt.action)
    if flt.customer_id is not None:
        conditions.append(AuditEntry.customer_id == flt.customer_id)
    return conditions


def _actor_fallback(entry: AuditEntry) -> str:
    if entry.actor_kind is ActorKind.CUSTOMER:
        return "Клиент"
    if entry.actor_kind is ActorKind.SYSTEM:
        return "Система"
    return entry.actor_label or "—"
