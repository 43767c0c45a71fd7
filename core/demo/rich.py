"""Deterministic, realistic demo data: ``python -m core demo --customers N --seed S``.

Customers and staff here; providers, personal accounts, bindings and 12 months
of invoices in ``core.demo.billing``.

Bulk inserts through SQLAlchemy Core (the ORM would be ten times slower). All
demo customers share one password hash and one code-word hash, computed once:
hashing thousands of passwords with argon2 would take minutes and prove nothing.
Demo customers' password is ``demo2026pay`` and their code word «ромашка».
Only ever into an empty database (``core.demo.guard``): the demo staff's passwords are
in the README.

Anchored to the day it is built (``demo_anchor`` of the app's clock): its history ends
at the start of today (Moscow), so yesterday is its last full day and nothing in it lies
ahead of the clock. Same seed and same day, same data.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, insert, select
from tqdm import tqdm

from core.app import App
from core.config import USER_AGREEMENT_VERSION
from core.actors import ActorKind
from core.db.models import AuditEntry, CabinetBlock, Customer, ProviderAccount, StaffUser
from core.demo.billing import seed_billing, seed_subscriptions
from core.demo.guard import DEMO_STAFF, DEMO_TOTP_SECRETS, DemoRefused, require_empty
from core.demo.payments import seed_payments
from core.customers.rules import normalize_code_word, search_name_of
from core.analytics import rollups
from core.timefmt import moscow_date, moscow_day_start
from core.staff import members as staff_service, second_factor

DEMO_PASSWORD = "demo2026pay"
DEMO_CODE_WORD = "ромашка"
# The scale data set's fixed end (core.demo.scale is not anchored to its build day).
ANCHOR = datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc)


def demo_anchor(now: datetime) -> datetime:
    """Where the demo's history ends: the start of ``now``'s Moscow day."""
    return moscow_day_start(moscow_date(now))

_MALE = {
    "surnames": ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
                 "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев",
                 "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов",
                 "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов"],
    "names": ["Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём",
              "Илья", "Кирилл", "Михаил", "Никита", "Матвей", "Роман", "Егор", "Иван",
              "Владимир", "Павел", "Николай", "Виктор", "Олег"],
    "patronymics": ["Александрович", "Дмитриевич", "Сергеевич", "Андреевич", "Алексеевич",
                    "Михайлович", "Иванович", "Владимирович", "Николаевич", "Викторович",
                    "Петрович", "Олегович"],
}
_FEMALE = {
    "surnames": [s + "а" for s in _MALE["surnames"]],
    "names": ["Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Екатерина",
              "Светлана", "Юлия", "Анастасия", "Дарья", "Ксения", "Полина", "Вера", "Галина"],
    "patronymics": ["Александровна", "Дмитриевна", "Сергеевна", "Андреевна", "Алексеевна",
                    "Михайловна", "Ивановна", "Владимировна", "Николаевна", "Викторовна",
                    "Петровна", "Олеговна"],
}
_STREETS = ["Невский пр.", "ул. Садовая", "ул. Ленина", "пр. Просвещения", "ул. Марата",
            "Лиговский пр.", "ул. Гороховая", "Московский пр.", "ул. Дыбенко", "ул. Кирочная"]
_CITIES = ["Санкт-Петербург", "Мурманск", "Петрозаводск", "Великий Новгород", "Псков",
           "Архангельск", "Вологда"]
_DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "rambler.ru"]
_BLOCK_REASONS = [
    ("customer", "Утерян телефон, привязанный к кабинету"),
    ("customer", "Не пользуюсь кабинетом"),
    ("staff", "Подозрение на мошенничество: вход с чужого устройства"),
    ("staff", "Обращение клиента в Контакт-центр: утеряна карта"),
]
_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya"})


def ensure_demo_staff(app: App) -> dict[str, int]:
    ids: dict[str, int] = {}
    with app.uow(write=False) as uow:
        existing = dict(uow.session.execute(select(StaffUser.login, StaffUser.id)).all())
    for login, name, role, password in DEMO_STAFF:
        if login in existing:
            ids[login] = existing[login]
            continue
        ids[login] = staff_service.add_staff(
            app, None, login=login, name=name, email=f"{login}@smart-sz.example.ru", role=role,
            password=password)
        if login in DEMO_TOTP_SECRETS:  # the README's key, as for the password
            second_factor.enrol_known_secret(app, ids[login], DEMO_TOTP_SECRETS[login])
    return ids


def seed_demo(app: App, *, customers: int, seed: int, if_empty: bool = False,
              progress: bool = False, billing: bool = True) -> int:
    """Returns how many customers were added. Only into an empty database (no staff, no
    customers): else ``DemoRefused``, or 0 with ``if_empty``."""
    try:
        with app.uow(write=False) as uow:
            require_empty(uow.session)
    except DemoRefused:
        if if_empty:
            return 0
        raise
    anchor = demo_anchor(app.now())
    staff_ids = ensure_demo_staff(app)
    taken_phones: set[str] = set()
    rng = random.Random(seed)
    billing_rng = random.Random(seed * 7919 + 1)  # its own stream: customers stay as before
    payments_rng = random.Random(seed * 7919 + 2)  # and payments: billing stays as before
    with app.uow(write=False) as uow:
        account_numbers = {(provider_id, number) for provider_id, number in uow.session.execute(
            select(ProviderAccount.provider_id, ProviderAccount.number))}
    password_hash = app.customer_hasher.hash(DEMO_PASSWORD)
    code_word_hash = app.customer_hasher.hash(normalize_code_word(DEMO_CODE_WORD))
    bar = tqdm(total=customers, desc="Клиенты", unit=" кл.", disable=not progress)
    added, batch_size = 0, 5000
    while added < customers:
        size = min(batch_size, customers - added)
        rows, blocks = [], []
        for i in range(size):
            row, block = _customer(rng, added + i, taken_phones, anchor)
            row.update(password_hash=password_hash, code_word_hash=code_word_hash)
            rows.append(row)
            blocks.append(block)
        with app.uow() as uow:
            s = uow.session
            first_id = (s.scalar(select(func.max(Customer.id))) or 0) + 1
            s.execute(insert(Customer.__table__), rows)  # Core executemany: no ORM per row
            ids = dict(s.execute(select(Customer.phone, Customer.id)
                                 .where(Customer.id >= first_id)).all())
            block_rows, audit_rows = [], []
            for row, block in zip(rows, blocks):
                if block is None:
                    continue
                kind, reason, at = block
                by_staff = kind == "staff"
                block_rows.append(dict(
                    customer_id=ids[row["phone"]], reason=reason,
                    blocked_by_kind=ActorKind.STAFF if by_staff else ActorKind.CUSTOMER,
                    blocked_by_staff_id=staff_ids["agent"] if by_staff else None,
                    blocked_at=at))
                audit_rows.append(dict(
                    at=at, actor_kind=ActorKind.STAFF if by_staff else ActorKind.CUSTOMER,
                    staff_id=staff_ids["agent"] if by_staff else None,
                    actor_label="agent" if by_staff else None, action="customer.block",
                    customer_id=ids[row["phone"]], reason=reason,
                    before={"status": "active"}, after={"status": "blocked"}, result="ok"))
            if block_rows:
                s.execute(insert(CabinetBlock.__table__), block_rows)
                s.execute(insert(AuditEntry.__table__), audit_rows)
            if billing:
                seed_billing(s, billing_rng, [
                    dict(id=ids[row["phone"]], surname=row["surname"],
                         first_name=row["first_name"], patronymic=row["patronymic"],
                         address=row["address"], activated=row["activated_at"] is not None)
                    for row in rows], anchor, account_numbers)
                seed_subscriptions(s, billing_rng, list(ids.values()), anchor)
                # Payments, cards, refunds and the ledger for these customers' invoices.
                seed_payments(s, payments_rng, sorted(ids.values()), anchor,
                              refunds_by=staff_ids["finance"])
            uow.commit()
        added += size
        bar.update(size)
    bar.close()
    if billing:  # the payments went in around the rollups: recompute them once
        with app.uow() as uow:
            rollups.rebuild(uow.session)
            uow.commit()
    return added


def _customer(rng: random.Random, n: int, taken: set[str], anchor: datetime
              ) -> tuple[dict[str, object], tuple[str, str, datetime] | None]:
    people = _FEMALE if rng.random() < 0.52 else _MALE
    surname, name = rng.choice(people["surnames"]), rng.choice(people["names"])
    patronymic = rng.choice(people["patronymics"])
    while True:
        phone = f"+79{rng.randrange(10**9):09d}"
        if phone not in taken:
            taken.add(phone)
            break
    email = (f"{name.lower().translate(_TRANSLIT)}.{surname.lower().translate(_TRANSLIT)}"
             f"{n}@{rng.choice(_DOMAINS)}")
    # At least an hour before the anchor: the activation within 30 minutes is history too.
    registered = anchor - timedelta(days=rng.uniform(0, 730), hours=1)
    filled = rng.random() < 0.8  # personal data is optional; most fill it in
    activated = None if rng.random() < 0.08 else registered + timedelta(minutes=rng.uniform(1, 30))
    row: dict[str, object] = dict(
        phone=phone, email=email,
        surname=surname if filled else None, first_name=name if filled else None,
        patronymic=patronymic if filled else None,
        birth_date=date(rng.randint(1945, 2005), rng.randint(1, 12), rng.randint(1, 28))
        if filled and rng.random() < 0.6 else None,
        address=(f"г. {rng.choice(_CITIES)}, {rng.choice(_STREETS)}, д. {rng.randint(1, 120)}, "
                 f"кв. {rng.randint(1, 300)}") if filled else None,
        search_name=search_name_of(surname, name, patronymic) if filled else "",
        agreement_version=USER_AGREEMENT_VERSION, agreement_accepted_at=registered,
        registered_at=registered, activated_at=activated, code_word_failures=0)
    block = None
    if activated is not None and rng.random() < 0.05:
        kind, reason = rng.choice(_BLOCK_REASONS)
        at = activated + timedelta(days=rng.uniform(1, 60))
        if at >= anchor:  # a cabinet opened lately was blocked lately, never ahead of the clock
            at = activated + (anchor - activated) / 2
        block = (kind, reason, at)
    return row, block
