"""Binding a card without paying («Способы оплаты» -> «Добавить карту»).

The acquirer's card check: it asks the issuer for a 1 ₽ hold behind the 3-D Secure
one-time password (``gateway.verify_card``); the right password places the hold
(``confirm``), and we release it at once (``reverse``). Nothing is charged, so nothing
is posted to the ledger and nothing reaches the bank's settlement registry. Only then is
the card saved for the customer, as a card saved after a payment is.

Each attempt is a ``card_bindings`` row written before the bank is called (the masked
number, never the full one or the CVV). A password the bank confirmed but whose hold was
not yet released leaves the row ``confirming``: confirming again asks the bank what
happened and releases the hold, so the card is saved exactly once.

From the moment the password goes to the bank until the bank says the hold is released
(or was never placed) the row carries ``hold_check_at``: a customer who gives up, a
reversal the bank refused or a bank that could not be asked leave the 1 ₽ held, and the
worker's ``binding_holds.release_due`` releases it then. The card is saved only here, in
the customer's own request that shows them the result.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import ActorKind
from core.app import App
from core.customers.rules import format_phone
from core.customers.sessions import signed_in_customer
from core.db.models import CardBinding, Customer, SavedCard
from core.errors import DomainError, NotFound, ValidationError
from core.notifications import outbox
from core.notifications.channels import Channel
from core.payments import cards, gateway as g, otp, saved_cards, state
from core.payments.cards import CardInput
from core.staff import audit

OTP_PURPOSE = "card_binding_otp"
OTP_TOPIC = "card_binding_otp"
_OTP_TEXT = ("Код для привязки карты ···· {last4}: {code}. Банк проверит карту, временно "
             "заблокировав 1 ₽, и сразу снимет блокировку. Никому не сообщайте этот код.")


class BindingStatus(StrEnum):
    """Where a card binding is."""

    STARTED = "started"  # written; the card is on its way to the bank
    AWAITING_OTP = "awaiting_otp"  # the bank sent the holder a one-time password
    CONFIRMING = "confirming"  # the password was right; the 1 ₽ hold is being released
    BOUND = "bound"  # the hold released, the card saved (saved_card_id)
    DECLINED = "declined"  # the bank refused the card, or the password attempts ran out
    EXPIRED = "expired"  # the password's lifetime passed; nothing held
    FAILED = "failed"  # the bank could not be reached or did not answer; nothing held


STATUS_LABELS: dict[BindingStatus, str] = {
    BindingStatus.STARTED: "Проверяется",
    BindingStatus.AWAITING_OTP: "Ожидает кода подтверждения",
    BindingStatus.CONFIRMING: "Проверяется",
    BindingStatus.BOUND: "Карта привязана",
    BindingStatus.DECLINED: "Отклонено",
    BindingStatus.EXPIRED: "Истёк срок кода",
    BindingStatus.FAILED: "Не выполнено",
}
_FINAL = {BindingStatus.BOUND, BindingStatus.DECLINED, BindingStatus.EXPIRED,
          BindingStatus.FAILED}

# When the worker first asks the bank about a hold that may be left: after the time the
# customer was told to wait before trying again («повторите попытку через несколько
# минут»), so that their own retry, which saves the card, comes first.
HOLD_FIRST_CHECK = timedelta(minutes=10)


# --- errors ----------------------------------------------------------------------

class CardBindingError(DomainError):
    code = "card_binding_error"


class CardBindingNotFound(NotFound):
    code = "card_binding_not_found"

    def __init__(self) -> None:
        super().__init__("Привязка карты не найдена")


class CardAlreadyBound(ValidationError):
    code = "card_already_bound"

    def __init__(self) -> None:
        super().__init__(cards.NUMBER_LABEL, "эта карта уже привязана к личному кабинету",
                         field="number")


class CardBindingEnded(CardBindingError):
    """The binding ended without a card: the reason says why; bind the card again."""

    code = "card_binding_ended"

    def __init__(self, reason: str | None) -> None:
        super().__init__(f"{reason or 'Карта не привязана'}: карта не привязана, "
                         "попробуйте добавить её ещё раз")


class BindingOtpAttemptsExceeded(CardBindingError):
    code = "otp_attempts_exceeded"

    def __init__(self) -> None:
        super().__init__(f"{otp.OTP_LABEL}: превышено число попыток, карта не привязана",
                         field="otp")


class BindingOtpExpired(CardBindingError):
    code = "otp_expired"

    def __init__(self) -> None:
        super().__init__(f"{otp.OTP_LABEL}: срок действия пароля истёк, карта не привязана",
                         field="otp")


class BindingInProgress(CardBindingError):
    code = "card_binding_in_progress"

    def __init__(self) -> None:
        super().__init__("Карта ещё проверяется банком: подождите несколько секунд")


@dataclass(frozen=True)
class CardBindingView:
    """A binding as the customer's screen shows it."""

    id: int
    status: BindingStatus
    status_label: str
    brand: str
    masked_pan: str  # 411111******1111
    decline_reason: str | None
    otp_sent_to: str | None = None  # «SMS на номер …45-67» right after the card step

    @property
    def awaiting_otp(self) -> bool:
        return self.status is BindingStatus.AWAITING_OTP

    @property
    def title(self) -> str:
        return f"{cards.brand_label(self.brand)} ···· {self.masked_pan[-4:]}"


def _view(binding: CardBinding, otp_sent_to: str | None = None) -> CardBindingView:
    status = BindingStatus(binding.status)
    return CardBindingView(id=binding.id, status=status, status_label=STATUS_LABELS[status],
                           brand=binding.brand, masked_pan=binding.masked_pan,
                           decline_reason=binding.decline_reason, otp_sent_to=otp_sent_to)


# --- the card ----------------------------------------------------------------------

def start_card_binding(app: App, token: str, card: CardInput) -> CardBindingView:
    """«Добавить карту»: the card checked here (Luhn, expiry, CVV), then by the bank, which
    sends the one-time password (the view says where); a declined card ends the binding."""
    card = card.validate(app.now().date())
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now)
        if any(c.masked_pan == card.masked and (c.exp_month, c.exp_year)
               == (card.exp_month, card.exp_year)
               for c in saved_cards.active_cards(s, customer.id)):
            raise CardAlreadyBound()
        binding = CardBinding(customer_id=customer.id, status=BindingStatus.STARTED.value,
                              gateway_key=f"bind-{secrets.token_urlsafe(24)}",
                              brand=str(card.brand), masked_pan=card.masked,
                              exp_month=card.exp_month, exp_year=card.exp_year, otp_attempts=0,
                              created_at=now, updated_at=now)
        s.add(binding)
        s.flush()
        binding_id, request = binding.id, g.VerifyCardRequest(
            binding_id=f"binding-{binding.id}", card=card, idempotency_key=binding.gateway_key)
        uow.commit()
    try:
        answer = app.acquirer().verify_card(request)
    except g.GatewayTimeout:
        return _end(app, binding_id, BindingStatus.FAILED, "timed_out",
                    "Банк не ответил вовремя")
    except g.GatewayUnavailable:
        return _end(app, binding_id, BindingStatus.FAILED, "gateway_unavailable",
                    "Банк недоступен")
    if answer.status is not g.AuthorizeStatus.OTP_REQUIRED:
        status = (BindingStatus.FAILED if answer.status is g.AuthorizeStatus.ERROR
                  else BindingStatus.DECLINED)
        return _end(app, binding_id, status, answer.decline_code or "declined",
                    answer.decline_message_ru or g.decline_message(answer.decline_code or ""),
                    answer.gateway_txn_id)
    return _awaiting_otp(app, binding_id, answer)


def _awaiting_otp(app: App, binding_id: int, answer: g.AuthorizeResponse) -> CardBindingView:
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        binding = lock_binding(s, binding_id)
        binding.status, binding.updated_at = BindingStatus.AWAITING_OTP.value, now
        binding.gateway_txn_id, binding.gateway_token = answer.gateway_txn_id, answer.card_token
        if answer.masked_pan:
            binding.masked_pan, binding.brand = answer.masked_pan, answer.brand or binding.brand
        code, issued = otp.issue(app.secrets.hmac_key, binding.id, now,
                                 app.otp_inbox.take(answer.gateway_txn_id or ""),
                                 purpose=OTP_PURPOSE)
        binding.otp_hash, binding.otp_created_at = issued.code_hash, issued.created_at
        binding.otp_expires_at = issued.expires_at
        sent_to = _queue_otp(s, binding, code, now)
        view = _view(binding, sent_to)
        uow.commit()
    return view


def _queue_otp(s: Session, binding: CardBinding, code: str, now: datetime) -> str | None:
    customer = s.get(Customer, binding.customer_id)
    if customer is None or not customer.phone:
        return None
    values = {"last4": binding.masked_pan[-4:]}
    outbox.enqueue(s, now=now, customer_id=customer.id, channel=Channel.SMS, topic=OTP_TOPIC,
                   recipient=customer.phone, body=_OTP_TEXT.format(code=code, **values),
                   redacted_body=_OTP_TEXT.format(code="******", **values))
    return f"SMS на номер …{format_phone(customer.phone)[-5:]}"


# --- the one-time password ----------------------------------------------------------

def confirm_card_binding(app: App, token: str, binding_id: int,
                         code: str) -> saved_cards.CardView:
    """The password from the SMS. A wrong one raises with the attempts left (and counts);
    the last wrong one or a late one ends the binding. The right one: the bank's 1 ₽ hold
    is released and the card is saved (the cabinet's first card becomes its default).
    Confirming a bound card again returns it; a binding still with the bank is settled
    by asking the bank."""
    entered = otp.normalize_input(code)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now)
        binding = _own(s, customer.id, binding_id)
        status = BindingStatus(binding.status)
        if status is BindingStatus.BOUND:
            view = _card_view(s, binding, now)
            uow.commit()
            return view
        if status in _FINAL:
            raise CardBindingEnded(binding.decline_reason)
        if status is BindingStatus.STARTED:
            raise BindingInProgress()
        txn, binding_id = binding.gateway_txn_id or "", binding.id
        if status is BindingStatus.AWAITING_OTP:
            _check_otp(app, uow, binding, entered, now)
        uow.commit()
    if status is BindingStatus.CONFIRMING:
        return _settle(app, binding_id, txn)
    try:
        answer = app.acquirer().confirm(g.ConfirmRequest(gateway_txn_id=txn, otp=entered))
    except g.GatewayTimeout:
        return _settle(app, binding_id, txn)
    except g.GatewayUnavailable:
        _reopen(app, binding_id)  # the request never reached the bank: enter it again
        raise state.GatewayDown() from None
    if answer.status is not g.ConfirmStatus.AUTHORIZED:
        reason = answer.decline_message_ru or g.decline_message(answer.decline_code or "")
        final = (BindingStatus.EXPIRED if answer.status is g.ConfirmStatus.OTP_EXPIRED
                 else BindingStatus.DECLINED)
        _end(app, binding_id, final, answer.decline_code or answer.status.value, reason)
        raise CardBindingEnded(reason)
    return _release(app, binding_id, txn)


def _check_otp(app: App, uow, binding: CardBinding, entered: str,  # type: ignore[no-untyped-def]
               now: datetime) -> None:
    """Our own check of the password before the bank is asked: wrong ones count here."""
    before = otp.OtpState(payment_id=binding.id, code_hash=binding.otp_hash or "",
                          created_at=binding.otp_created_at or now,
                          expires_at=binding.otp_expires_at or now,
                          attempts=binding.otp_attempts, used_at=binding.otp_used_at)
    checked, result = otp.check(app.secrets.hmac_key, before, binding.id, entered, now,
                                purpose=OTP_PURPOSE)
    binding.otp_attempts, binding.otp_used_at = checked.attempts, checked.used_at
    binding.updated_at = now
    if result.outcome is otp.OtpOutcome.WRONG:
        uow.commit()  # the attempt counts even though we refuse
        raise otp.OtpInvalid(result.attempts_left)
    if result.outcome is otp.OtpOutcome.EXHAUSTED:
        finish(binding, BindingStatus.DECLINED, g.OTP_ATTEMPTS_EXCEEDED,
               g.decline_message(g.OTP_ATTEMPTS_EXCEEDED), now)
        uow.commit()
        raise BindingOtpAttemptsExceeded()
    if result.outcome is otp.OtpOutcome.EXPIRED:
        finish(binding, BindingStatus.EXPIRED, "otp_expired",
               "Срок действия кода подтверждения истёк", now)
        uow.commit()
        raise BindingOtpExpired()
    binding.status = BindingStatus.CONFIRMING.value
    # Committed before the password goes to the bank: from now on a hold may be placed.
    binding.hold_check_at, binding.hold_check_attempts = now + HOLD_FIRST_CHECK, 0


def _settle(app: App, binding_id: int, txn: str) -> saved_cards.CardView:
    """The bank's answer to the password was lost: ask what became of the hold."""
    try:
        found = app.acquirer().status(txn)
    except (g.GatewayTimeout, g.GatewayUnavailable):
        raise state.GatewayDown() from None
    if found.status in (g.TxnStatus.AUTHORIZED, g.TxnStatus.REVERSED):
        return _release(app, binding_id, txn)
    reason = g.decline_message(found.decline_code or g.TIMED_OUT_NOT_CHARGED)
    # A password still pending at the bank may yet place a hold: the worker asks again.
    _end(app, binding_id, BindingStatus.FAILED, found.decline_code or found.status.value,
         reason, hold_kept=found.status is g.TxnStatus.PENDING)
    raise CardBindingEnded(reason)


def _release(app: App, binding_id: int, txn: str) -> saved_cards.CardView:
    """Release the 1 ₽ hold, then save the card; a hold not released keeps the binding
    ``confirming`` (confirming again retries: reversing twice releases nothing more), a
    reversal refused ends it, the hold left for the worker either way."""
    try:
        answer = app.acquirer().reverse(txn)
    except (g.GatewayTimeout, g.GatewayUnavailable):
        raise state.GatewayDown() from None
    if answer.status is not g.ReverseStatus.REVERSED:
        reason = answer.decline_message_ru or g.decline_message(answer.decline_code or "")
        _end(app, binding_id, BindingStatus.FAILED, answer.decline_code or "not_reversed",
             reason, hold_kept=True)
        raise CardBindingEnded(reason)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        binding = lock_binding(s, binding_id)
        if binding.status == BindingStatus.BOUND.value:  # a parallel confirmation won
            view = _card_view(s, binding, now)
            uow.commit()
            return view
        if binding.status in _FINAL:  # the worker released it meanwhile, card unsaved
            raise CardBindingEnded(binding.decline_reason)
        mark_hold_released(binding, now)
        card = saved_cards.save_card(
            s, customer_id=binding.customer_id, gateway_token=binding.gateway_token or "",
            brand=binding.brand, masked_pan=binding.masked_pan, exp_month=binding.exp_month,
            exp_year=binding.exp_year, now=now)
        binding.saved_card_id = card.id
        finish(binding, BindingStatus.BOUND, None, None, now)
        audit.record(s, at=now, action="card.bind", actor_kind=ActorKind.CUSTOMER,
                     customer_id=binding.customer_id,
                     after={"card_id": card.id, "card": card.masked_pan,
                            "is_default": bool(card.is_default), "binding_id": binding.id,
                            "check": "3-D Secure, 1 ₽ удержан и снят"})
        view = saved_cards.card_view(card, now)
        uow.commit()
    return view


# --- rows ----------------------------------------------------------------------------

def lock_binding(s: Session, binding_id: int) -> CardBinding:
    binding = s.scalar(select(CardBinding).where(CardBinding.id == binding_id)
                       .with_for_update().execution_options(populate_existing=True))
    assert binding is not None, "a binding this module wrote"
    return binding


def _own(s: Session, customer_id: int, binding_id: int) -> CardBinding:
    """The customer's binding, locked; another cabinet's is «not found» like a missing one."""
    if not str(binding_id).isdigit():
        raise CardBindingNotFound()
    binding = s.scalar(select(CardBinding).where(CardBinding.id == int(binding_id))
                       .with_for_update().execution_options(populate_existing=True))
    if binding is None or binding.customer_id != customer_id:
        raise CardBindingNotFound()
    return binding


def _card_view(s: Session, binding: CardBinding, now: datetime) -> saved_cards.CardView:
    card = s.get(SavedCard, binding.saved_card_id) if binding.saved_card_id else None
    if card is None or card.removed_at is not None:
        raise saved_cards.CardNotFound()  # bound once, removed since
    return saved_cards.card_view(card, now)


def mark_hold_released(binding: CardBinding, now: datetime) -> None:
    """The bank said the hold is released (once: a second release changes nothing)."""
    binding.hold_released_at = binding.hold_released_at or now
    binding.hold_check_at = None


def finish(binding: CardBinding, status: BindingStatus, code: str | None,
           reason: str | None, now: datetime) -> None:
    binding.status, binding.updated_at, binding.finished_at = status.value, now, now
    binding.decline_code, binding.decline_reason = code, reason


def _change(app: App, binding_id: int, change: Callable[[CardBinding], None]) -> CardBindingView:
    with app.uow() as uow:
        binding = lock_binding(uow.session, binding_id)
        change(binding)
        view = _view(binding)
        uow.commit()
    return view


def _end(app: App, binding_id: int, status: BindingStatus, code: str, reason: str,
         txn: str | None = None, *, hold_kept: bool = False) -> CardBindingView:
    """End the binding; unless ``hold_kept``, the bank's answer says nothing is held."""
    def end(binding: CardBinding) -> None:
        binding.gateway_txn_id = txn or binding.gateway_txn_id
        finish(binding, status, code, reason, app.now())
        if not hold_kept:
            binding.hold_check_at = None
    return _change(app, binding_id, end)


def _reopen(app: App, binding_id: int) -> None:
    def reopen(binding: CardBinding) -> None:
        binding.status, binding.otp_used_at = BindingStatus.AWAITING_OTP.value, None
        binding.hold_check_at = None  # the password never reached the bank
        binding.updated_at = app.now()
    _change(app, binding_id, reopen)
