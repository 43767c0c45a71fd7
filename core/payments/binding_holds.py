"""Releasing card checks' 1 ₽ holds that nobody else would release (the worker's job).

A card binding whose password went to the bank carries ``hold_check_at`` until the bank
says the hold is released or was never placed (``card_binding``). It is left there when
the customer gave up after «Банк временно недоступен» (the reversal, or the question
after a lost answer, never reached the bank) or when the bank refused the reversal. When
it is due the bank is asked ``status()``: a hold still ``authorized`` is reversed, one
already ``reversed`` is recorded, a transaction declined or unknown held nothing; a bank
that cannot tell is asked again on ``HOLD_RECHECK``'s schedule, then daily: it is the
customer's money, so the job never gives up on it (each late attempt is logged).

The job never saves the card. The customer was told the card was not added: «Банк
временно недоступен, повторите попытку через несколько минут», or «…: карта не
привязана, попробуйте добавить её ещё раз». Saving it later would put a card in
«Способы оплаты» (the first one as default) that its owner believes was refused, and
perhaps has since added again. Their own retry within ``HOLD_FIRST_CHECK`` still saves
it; after the job released the hold, a retry is told to add the card again.
"""
from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from core.actors import ActorKind
from core.app import App
from core.db import leases
from core.db.models import CardBinding
from core.payments import gateway as g
from core.payments.card_binding import (BindingStatus, finish, lock_binding,
                                        mark_hold_released)
from core.payments.recovery import RecoveryReport
from core.staff import audit

log = logging.getLogger(__name__)

# After the first check (``card_binding.HOLD_FIRST_CHECK`` after the password): when to
# ask again while the bank cannot tell; the last interval repeats.
HOLD_RECHECK: tuple[timedelta, ...] = (
    timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(days=1))
# A password still pending at the bank this long after it expired can place no hold.
LATE_PASSWORD = timedelta(minutes=10)

RELEASED_REASON = "Проверка карты не завершена, 1 ₽ возвращён на карту"
NOT_HELD_REASON = "Проверка карты не завершена, деньги не удерживались"


# A hold being asked about is not due for other workers this long (its hold_check_at is
# moved ahead): two workers would ask the bank twice and reverse the hold twice.
HOLD_LEASE = timedelta(minutes=5)
CLAIM_BATCH = 20


def release_due(app: App, *, limit: int = 100) -> RecoveryReport:
    """The worker's job: every binding whose hold may be left and is due a check, claimed
    by batches (SKIP LOCKED on PostgreSQL: several workers share them)."""
    outcomes: Counter[str] = Counter()
    taken = 0
    while taken < limit:
        with app.uow() as uow:
            now = app.now()
            claims = leases.claim(uow.session, select(CardBinding.id, CardBinding.hold_check_at)
                                  .where(CardBinding.hold_check_at <= now)
                                  .order_by(CardBinding.hold_check_at, CardBinding.id)
                                  .limit(min(CLAIM_BATCH, limit - taken)),
                                  CardBinding.hold_check_at, now=now, lease=HOLD_LEASE)
            uow.commit()
        if not claims:
            break
        taken += len(claims)
        outcomes.update(release_one(app, held.id, held) for held in claims)
    return RecoveryReport(sum(outcomes.values()), dict(outcomes))


def release_one(app: App, binding_id: int, held: leases.Claim | None = None) -> str:
    """Ask the bank about one binding's hold and release it; returns what became of it:
    ``released``, ``not_held``, ``rescheduled`` or, when someone settled it meanwhile,
    the binding's status. ``held``: the binding as this worker claimed it (left alone if
    someone changed it since, or took it after our lease ran out)."""
    with app.uow(write=False) as uow:
        binding = uow.session.get(CardBinding, binding_id)
        assert binding is not None
        if binding.hold_check_at is None or (
                held is not None and binding.hold_check_at != held.until):
            return binding.status
        txn, expires = binding.gateway_txn_id, binding.otp_expires_at
    if held is not None and leases.still_held(app.uow, CardBinding.hold_check_at, held,
                                              app.now()) is None:
        return "skipped"
    if txn is None:  # the card check never got a transaction: nothing to hold
        return _not_held(app, binding_id, g.TxnStatus.NOT_FOUND.value)
    try:
        found = app.acquirer().status(txn)
        if found.status is g.TxnStatus.AUTHORIZED:
            answer = app.acquirer().reverse(txn)
            if answer.status is not g.ReverseStatus.REVERSED:
                return _reschedule(app, binding_id, answer.decline_code or "not_reversed")
            return _released(app, binding_id, answer.amount_kopecks)
    except (g.GatewayTimeout, g.GatewayUnavailable):
        return _reschedule(app, binding_id, "bank_unreachable")
    if found.status is g.TxnStatus.REVERSED:  # released, the answer lost on our side
        return _released(app, binding_id, found.amount_kopecks or 0)
    if found.status is g.TxnStatus.PENDING and (
            expires is None or app.now() < expires + LATE_PASSWORD):
        return _reschedule(app, binding_id, "pending")
    return _not_held(app, binding_id, found.decline_code or found.status.value)


def _released(app: App, binding_id: int, amount_kopecks: int) -> str:
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        binding = lock_binding(s, binding_id)
        if binding.hold_check_at is None:  # the customer's confirmation released it
            return binding.status
        before = binding.status
        mark_hold_released(binding, now)
        if before == BindingStatus.CONFIRMING.value:
            finish(binding, BindingStatus.FAILED, "released_unbound", RELEASED_REASON, now)
        audit.record(s, at=now, action="card.hold_released", actor_kind=ActorKind.SYSTEM,
                     customer_id=binding.customer_id,
                     before={"binding_id": binding.id, "status": before},
                     after={"status": binding.status, "card": binding.masked_pan,
                            "released_kopecks": amount_kopecks, "card_saved": False})
        uow.commit()
    log.info("card binding %s: the 1 ₽ hold left on the card released", binding_id)
    return "released"


def _not_held(app: App, binding_id: int, code: str) -> str:
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        binding = lock_binding(s, binding_id)
        if binding.hold_check_at is None:
            return binding.status
        before = binding.status
        binding.hold_check_at = None
        if before == BindingStatus.CONFIRMING.value:
            finish(binding, BindingStatus.FAILED, code, NOT_HELD_REASON, now)
        audit.record(s, at=now, action="card.hold_not_placed", actor_kind=ActorKind.SYSTEM,
                     customer_id=binding.customer_id,
                     before={"binding_id": binding.id, "status": before},
                     after={"status": binding.status, "bank": code, "card_saved": False})
        uow.commit()
    return "not_held"


def _reschedule(app: App, binding_id: int, why: str) -> str:
    now = app.now()
    with app.uow() as uow:
        binding = lock_binding(uow.session, binding_id)
        if binding.hold_check_at is None:
            return binding.status
        attempt = binding.hold_check_attempts
        binding.hold_check_attempts = attempt + 1
        binding.hold_check_at = now + HOLD_RECHECK[min(attempt, len(HOLD_RECHECK) - 1)]
        uow.commit()
    if attempt + 1 >= len(HOLD_RECHECK):
        log.warning("card binding %s: 1 ₽ hold still not released after %s checks (%s)",
                    binding_id, attempt + 1, why)
    return "rescheduled"
