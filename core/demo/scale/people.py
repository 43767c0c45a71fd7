"""Scale demo, people: customers (+ some blocks and their audit), subscriptions,
personal accounts and their bindings, saved cards — one chunk of customers at a time,
every column drawn as a whole numpy array from the rich demo's name lists.

Names come from a table of every (surname, name, patronymic) combination, built once
with its lower-cased search name, masked payer name and e-mail prefix, so a row costs
a few array look-ups instead of string work.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from core.config import USER_AGREEMENT_VERSION
from core.demo.rich import _BLOCK_REASONS, _CITIES, _DOMAINS, _FEMALE, _MALE, _STREETS, _TRANSLIT
from core.demo.billing import PROVIDERS, mask_payer
from core.demo.payments import CARD_BINS
from core.demo.scale.writer import BulkWriter, us
from core.customers.rules import search_name_of
from core.notifications.template_rules import DEFAULT_SUBSCRIPTIONS

DAY, HOUR, MINUTE = us(86_400), us(3_600), us(60)
DEFAULT_ADDRESS = "г. Санкт-Петербург, ул. Ленина, д. 1"
DEFAULT_MASKED = mask_payer("Кузнецов", "Иван", "Иванович")
ACCOUNTS_PER_CUSTOMER = np.array([1, 1, 1, 2, 2, 3])  # ~1.5 per customer with 92 % activated
BIN_TEXT = np.array([f"{b}******" for b, _, _ in CARD_BINS], dtype=object)
BIN_BRAND = np.array([brand for _, brand, _ in CARD_BINS], dtype=object)
BIN_WEIGHTS = np.array([w for *_, w in CARD_BINS], dtype=float) / sum(w for *_, w in CARD_BINS)
# Account numbers: a bijection of a running counter inside each provider's number range,
# so numbers look random and never repeat without remembering the ones taken.
NUMBER_STEP = 1_000_003  # a prime: coprime with every range 9 * 10**k


def _combos() -> dict[str, np.ndarray]:
    cols: dict[str, list[str]] = {k: [] for k in ("surname", "first", "patronymic", "search",
                                                   "masked", "email")}
    for people in (_MALE, _FEMALE):
        for surname in people["surnames"]:
            for name in people["names"]:
                for patronymic in people["patronymics"]:
                    cols["surname"].append(surname)
                    cols["first"].append(name)
                    cols["patronymic"].append(patronymic)
                    cols["search"].append(search_name_of(surname, name, patronymic))
                    cols["masked"].append(mask_payer(surname, name, patronymic))
                    cols["email"].append(f"{name.lower().translate(_TRANSLIT)}."
                                         f"{surname.lower().translate(_TRANSLIT)}")
    return {k: np.array(v, dtype=object) for k, v in cols.items()}


COMBOS = _combos()
_MALE_COMBOS = len(_MALE["surnames"]) * len(_MALE["names"]) * len(_MALE["patronymics"])
_FEMALE_SIZES = (len(_FEMALE["surnames"]), len(_FEMALE["names"]), len(_FEMALE["patronymics"]))
_MALE_SIZES = (len(_MALE["surnames"]), len(_MALE["names"]), len(_MALE["patronymics"]))


@dataclass
class People:
    """What the later steps need of a chunk's customers and accounts (arrays by position)."""

    ids: np.ndarray
    emails: list[str]
    activated: np.ndarray  # µs, -1: never activated
    acc_ids: np.ndarray
    acc_customer: np.ndarray  # position of the owner in the chunk
    acc_provider: np.ndarray  # index into PROVIDERS
    acc_numbers: list[str]
    bound_at: np.ndarray  # µs the account was bound to the cabinet
    card1: np.ndarray  # saved-card id per customer, -1: none
    card1_at: np.ndarray
    card2: np.ndarray
    card2_at: np.ndarray
    card_text: dict[int, tuple[str, str]]  # saved card id -> (masked pan, brand)
    own_bin: np.ndarray  # the card used when no saved one is: BIN index and last four
    own_last4: np.ndarray


def _pick(rng: np.random.Generator, n: int, sizes: tuple[int, int, int]) -> np.ndarray:
    s, f, p = (rng.integers(0, k, n) for k in sizes)
    return (s * sizes[1] + f) * sizes[2] + p


def write_people(w: BulkWriter, rng: np.random.Generator, *, start: int, n: int, now: int,
                 seed: int, password_hash: str, code_word_hash: str, staff_agent: int,
                 provider_ids: list[int], number_counters: list[int]) -> People:
    """Customers ``start``..``start+n-1`` (global numbers) and what hangs off them."""
    g = np.arange(start, start + n, dtype=np.int64)
    ids = w.next_id("customers") + np.arange(n)
    female = rng.random(n) < 0.52
    combo = np.where(female, _MALE_COMBOS + _pick(rng, n, _FEMALE_SIZES),
                     _pick(rng, n, _MALE_SIZES))
    phones = [f"+79{v:09d}" for v in ((g * 387_420_489 + seed * 7919) % 10**9).tolist()]
    domains = np.array(_DOMAINS, dtype=object)[rng.integers(0, len(_DOMAINS), n)]
    emails = [f"{p}{k}@{d}" for p, k, d in zip(COMBOS["email"][combo].tolist(), g.tolist(),
                                                 domains.tolist())]
    filled = rng.random(n) < 0.8
    registered = now - us(3_600) - (rng.random(n) * 729 * DAY).astype(np.int64)
    activated = registered + MINUTE + (rng.random(n) * 29 * MINUTE).astype(np.int64)
    inactive = rng.random(n) < 0.08
    inactive[0] = False  # every chunk has accounts to pay to
    activated[inactive] = -1
    flats = rng.integers(1, 301, n)
    houses = rng.integers(1, 121, n)
    cities = np.array(_CITIES, dtype=object)[rng.integers(0, len(_CITIES), n)]
    streets = np.array(_STREETS, dtype=object)[rng.integers(0, len(_STREETS), n)]
    address = np.array([f"г. {c}, {s}, д. {h}, кв. {f}" for c, s, h, f in zip(
        cities.tolist(), streets.tolist(), houses.tolist(), flats.tolist())], dtype=object)
    born = filled & (rng.random(n) < 0.6)
    years, months, days = rng.integers(1945, 2006, n), rng.integers(1, 13, n), rng.integers(1, 29, n)
    birth = np.full(n, None, dtype=object)
    birth[born] = [f"{y}-{m:02d}-{d:02d}" for y, m, d in zip(
        years[born].tolist(), months[born].tolist(), days[born].tolist())]

    def personal(values: np.ndarray) -> list[str | None]:
        out = values.copy()
        out[~filled] = None
        return out.tolist()  # type: ignore[no-any-return]

    search = COMBOS["search"][combo].copy()
    search[~filled] = ""
    reg_text = w.stamps(registered)
    w.insert("customers", ("id", "phone", "email", "password_hash", "code_word_hash", "surname",
                           "first_name", "patronymic", "birth_date", "address", "search_name",
                           "agreement_version", "agreement_accepted_at", "registered_at",
                           "activated_at", "code_word_failures"),
             zip(ids.tolist(), phones, emails, repeat(password_hash), repeat(code_word_hash),
                 personal(COMBOS["surname"][combo]), personal(COMBOS["first"][combo]),
                 personal(COMBOS["patronymic"][combo]), birth.tolist(), personal(address),
                 search.tolist(), repeat(USER_AGREEMENT_VERSION), reg_text, reg_text,
                 w.stamps(activated, inactive), repeat(0)), n)

    _blocks(w, rng, ids, activated, now, staff_agent)
    _subscriptions(w, rng, ids, now)

    # Personal accounts: 1-3 providers per activated customer, none twice.
    owners = np.flatnonzero(~inactive)
    k = ACCOUNTS_PER_CUSTOMER[rng.integers(0, len(ACCOUNTS_PER_CUSTOMER), len(owners))]
    order = np.argsort(rng.random((len(owners), len(PROVIDERS))), axis=1)
    take = np.arange(len(PROVIDERS))[None, :] < k[:, None]
    acc_provider = order[take]
    acc_customer = np.repeat(owners, k)
    count = len(acc_provider)
    numbers = np.empty(count, dtype=object)
    for p, spec in enumerate(PROVIDERS):
        mine = np.flatnonzero(acc_provider == p)
        low, span = 10 ** (spec.digits - 1), 9 * 10 ** (spec.digits - 1)
        if number_counters[p] + len(mine) > span:
            from core.errors import DomainError
            raise DomainError(f"--customers: у поставщика «{spec.name}» не хватит номеров "
                              f"лицевых счетов; уменьшите число клиентов")
        serial = number_counters[p] + np.arange(len(mine), dtype=np.int64)
        number_counters[p] += len(mine)
        shift = (seed * 104_729 + p * 15_485_863) % span
        numbers[mine] = [str(v) for v in (low + (serial * NUMBER_STEP + shift) % span).tolist()]
    acc_ids = w.next_id("provider_accounts") + np.arange(count)
    masked = COMBOS["masked"][combo].copy()
    masked[~filled] = DEFAULT_MASKED
    acc_address = address.copy()
    acc_address[~filled] = DEFAULT_ADDRESS
    pids = np.array(provider_ids)
    w.insert("provider_accounts", ("id", "provider_id", "number", "address", "payer_masked",
                                   "loaded_at"),
             zip(acc_ids.tolist(), pids[acc_provider].tolist(), numbers.tolist(),
                 acc_address[acc_customer].tolist(), masked[acc_customer].tolist(),
                 repeat(w.stamps(np.array([now]))[0])), count)
    bound_at = activated[acc_customer] + 10 * MINUTE
    flat_text = flats[acc_customer].tolist()
    kinds = rng.integers(0, 5, count).tolist()
    names = [(f"Квартира {f}", "Дом", "Мама", "Дача", f"Кв. {f}")[c]
             for f, c in zip(flat_text, kinds)]
    w.insert("account_bindings", ("id", "customer_id", "provider_account_id", "name",
                                  "created_at"),
             zip((w.next_id("account_bindings") + np.arange(count)).tolist(),
                 ids[acc_customer].tolist(), acc_ids.tolist(), names, w.stamps(bound_at)), count)

    people = People(ids=ids, emails=emails, activated=activated, acc_ids=acc_ids,
                    acc_customer=acc_customer, acc_provider=acc_provider,
                    acc_numbers=numbers.tolist(), bound_at=bound_at,
                    card1=np.full(n, -1), card1_at=np.zeros(n, np.int64), card2=np.full(n, -1),
                    card2_at=np.zeros(n, np.int64), card_text={},
                    own_bin=rng.choice(len(CARD_BINS), n, p=BIN_WEIGHTS),
                    own_last4=rng.integers(0, 10_000, n))
    _cards(w, rng, people, now)
    return people


def _blocks(w: BulkWriter, rng: np.random.Generator, ids: np.ndarray, activated: np.ndarray,
            now: int, agent: int) -> None:
    """About 5 % of the activated cabinets blocked, by the customer or by an agent."""
    chosen = np.flatnonzero((activated >= 0) & (rng.random(len(ids)) < 0.05))
    m = len(chosen)
    if not m:
        return
    which = rng.integers(0, len(_BLOCK_REASONS), m)
    at = np.minimum(activated[chosen] + (rng.uniform(1, 60, m) * DAY).astype(np.int64),
                    now - HOUR)
    at = np.maximum(at, activated[chosen])
    by_staff = np.array([_BLOCK_REASONS[i][0] == "staff" for i in which.tolist()], dtype=bool)
    reasons = [_BLOCK_REASONS[i][1] for i in which.tolist()]
    kind = np.where(by_staff, "staff", "customer").tolist()
    staff = [agent if s else None for s in by_staff.tolist()]
    at_text = w.stamps(at)
    customer_ids = ids[chosen].tolist()
    w.insert("cabinet_blocks", ("id", "customer_id", "reason", "blocked_by_kind",
                                "blocked_by_staff_id", "blocked_at"),
             zip((w.next_id("cabinet_blocks") + np.arange(m)).tolist(), customer_ids, reasons,
                 kind, staff, at_text), m)
    w.insert("audit_log", ("id", "at", "actor_kind", "staff_id", "actor_label", "action",
                           "customer_id", "reason", "before", "after", "result"),
             zip((w.next_id("audit_log") + np.arange(m)).tolist(), at_text, kind, staff,
                 ["agent" if s else None for s in by_staff.tolist()], repeat("customer.block"),
                 customer_ids, reasons, repeat(json.dumps({"status": "active"})),
                 repeat(json.dumps({"status": "blocked"})), repeat("ok")), m)


def _subscriptions(w: BulkWriter, rng: np.random.Generator, ids: np.ndarray, now: int) -> None:
    """A third of the customers changed some subscriptions; the rest keep the defaults."""
    changed = ids[rng.random(len(ids)) < 0.35]
    cells = list(DEFAULT_SUBSCRIPTIONS.items())
    m = len(changed) * len(cells)
    if not m:
        return
    defaults = np.tile(np.array([d for _, d in cells]), len(changed))
    enabled = defaults ^ (rng.random(m) < 0.3)
    w.insert("subscriptions", ("id", "customer_id", "topic", "channel", "enabled", "updated_at"),
             zip((w.next_id("subscriptions") + np.arange(m)).tolist(),
                 np.repeat(changed, len(cells)).tolist(),
                 [t for (t, _), _ in cells] * len(changed),
                 [c for (_, c), _ in cells] * len(changed), enabled.tolist(),
                 repeat(w.stamps(np.array([now]))[0])), m)


def _cards(w: BulkWriter, rng: np.random.Generator, p: People, now: int) -> None:
    """Saved cards for about 40 % of the activated customers, the first one default."""
    latest = now - HOUR
    n = len(p.ids)
    owners = np.flatnonzero((p.activated >= 0) & (p.activated < latest) & (rng.random(n) < 0.4))
    two = rng.random(len(owners)) < 0.3
    first_at = np.minimum(p.activated[owners] + (rng.random(len(owners)) * 60 * DAY)
                          .astype(np.int64), latest)
    second_at = np.minimum(first_at + (rng.uniform(5, 200, len(owners)) * DAY).astype(np.int64),
                           latest)
    customer = np.concatenate([owners, owners[two]])
    created = np.concatenate([first_at, second_at[two]])
    is_default = np.concatenate([np.ones(len(owners), bool), np.zeros(int(two.sum()), bool)])
    order = np.lexsort((~is_default, customer))  # by customer, the default first
    customer, created, is_default = customer[order], created[order], is_default[order]
    m = len(customer)
    if not m:
        return
    card_ids = w.next_id("saved_cards") + np.arange(m)
    bins = rng.choice(len(CARD_BINS), m, p=BIN_WEIGHTS)
    masked = [f"{b}{d:04d}" for b, d in zip(BIN_TEXT[bins].tolist(),
                                            rng.integers(0, 10_000, m).tolist())]
    brands = BIN_BRAND[bins].tolist()
    p.card_text.update(zip(card_ids.tolist(), zip(masked, brands)))
    p.card1[customer[is_default]] = card_ids[is_default]
    p.card1_at[customer[is_default]] = created[is_default]
    p.card2[customer[~is_default]] = card_ids[~is_default]
    p.card2_at[customer[~is_default]] = created[~is_default]
    year = 2026
    w.insert("saved_cards", ("id", "customer_id", "gateway_token", "brand", "masked_pan",
                             "exp_month", "exp_year", "is_default", "created_at"),
             zip(card_ids.tolist(), p.ids[customer].tolist(),
                 [f"demo-tok-{i:08d}" for i in card_ids.tolist()], brands, masked,
                 rng.integers(1, 13, m).tolist(), rng.integers(year + 1, year + 6, m).tolist(),
                 is_default.tolist(), w.stamps(created)), m)
