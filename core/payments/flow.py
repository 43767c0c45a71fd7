"""Paying: an invoice of the cabinet, or any account (seed section 3).

The steps, each one call: create the payment (what is paid, how much: this is
the request the idempotency key names), send the card (new, or saved + CVV) to
the gateway which asks for a one-time password, confirm with the password.

Who may act on a payment: its cabinet (session token), or — for a payment made
without a cabinet — whoever holds its idempotency key (the client's own secret).

The same key and request return the same payment, also once it has paid the invoice
(the client whose answer was lost asks again and learns it went through); the same key
with another request is refused (``IdempotencyConflict``).

Money is charged only by ``confirm_payment``; a payment is charged at most once
because the confirmation first marks its one-time password used inside a locked
write transaction, and a second confirmation finds it used (or the final status).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from core.app import App
from core.db.models import Payment, PaymentOtp, Receipt, SavedCard
from core.customers.rules import normalize_email
from core.billing.invoice_rules import InvoiceAlreadyPaid
from core.errors import ValidationError
from core.money import Money
from core.payments import gateway as g, notices, otp, quotes, receipts, recovery, saved_cards, state
from core.payments.amounts import commission, parse_payment_amount
from core.payments.cards import CardInput, validate_cvv
from core.payments.machine import UNDECIDED, PaymentEvent, PaymentStatus, status_label, values
from core.payments.saved_cards import CardNotFound
from core.customers.sessions import signed_in_customer

KEY_LABEL = "Ключ запроса"
_KEY = re.compile(r"[A-Za-z0-9._:-]{8,64}", re.ASCII)


class IdempotencyConflict(state.PaymentError):
    code = "idempotency_conflict"

    def __init__(self) -> None:
        super().__init__(f"{KEY_LABEL}: этот ключ уже использован для другого платежа "
                         "(другая сумма или лицевой счёт)", field="idempotency_key")


class InvoicePaymentInProgress(state.PaymentError):
    code = "invoice_payment_in_progress"

    def __init__(self, payment_id: int) -> None:
        super().__init__(f"Счёт уже оплачивается (платёж № {payment_id}): дождитесь его "
                         "результата")


@dataclass(frozen=True)
class PaymentView:
    """A payment as the payer's screen shows it."""

    id: int
    status: PaymentStatus
    status_label: str
    provider_name: str
    account_number: str
    invoice_id: int | None
    amount: Money
    commission: Money
    masked_pan: str | None
    decline_reason: str | None
    otp_sent_to: str | None = None  # «SMS на номер …-45-67» right after the card step

    @property
    def total(self) -> Money:
        return self.amount + self.commission

    @property
    def awaiting_otp(self) -> bool:
        return self.status is PaymentStatus.AWAITING_OTP

    @property
    def in_progress(self) -> bool:
        """Undecided and nothing for the payer to do: the result page waits for the bank."""
        return self.status in UNDECIDED and not self.awaiting_otp


# --- creating ------------------------------------------------------------------

def _check_key(key: str) -> str:
    value = (key or "").strip()
    if not _KEY.fullmatch(value):
        raise ValidationError(KEY_LABEL, "от 8 до 64 латинских букв, цифр и знаков . _ : -",
                              field="idempotency_key")
    return value


def _fingerprint(**request: object) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


# Built once (the values bound at execution): they run on every payment's creation.
_BY_KEY = select(Payment).where(Payment.idempotency_key == bindparam("key"))
_CLAIM_ROWS = (select(Payment)
               .where(or_(Payment.idempotency_key == bindparam("key"),
                          and_(Payment.invoice_id == bindparam("invoice_id"),
                               Payment.status.in_(values(UNDECIDED)))))
               .order_by(Payment.id))
# NOWAIT: a live payment locked by someone else is being confirmed, recovered or
# refunded right now — and its confirmation locks the invoice we hold next: waiting
# would be a deadlock (PostgreSQL aborts one side). SQLite ignores row locks.
_CLAIM = (_CLAIM_ROWS.with_for_update(nowait=True)
          .execution_options(populate_existing=True))


def _existing(s: Session, key: str, fingerprint: str) -> Payment | None:
    found = s.scalar(_BY_KEY, {"key": key})
    if found is not None and found.request_fingerprint != fingerprint:
        raise IdempotencyConflict()
    return found


# What makes a repeated request "the same" once its invoice has nothing left due: the
# amount is no longer there to compare (it was what was due then).
_SAME_PAYER = ("customer_id", "receipt_email", "provider_id", "account_number", "invoice_id")


def _already_paid(s: Session, key: str, request: dict[str, object]) -> Payment:
    """The invoice has nothing left due. A request repeated with its key (same payer,
    same invoice) gets that key's payment back, as Stripe answers a key it has seen: the
    client whose answer was lost learns the payment went through. A new key is told the
    invoice is paid; the key of another payment is a conflict."""
    found = s.scalar(_BY_KEY, {"key": key})
    if found is None:
        raise InvoiceAlreadyPaid()
    if any(getattr(found, column) != value for column, value in request.items()):
        raise IdempotencyConflict()
    return found


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's answer to NOWAIT on a locked row


def _claim(s: Session, key: str, fingerprint: str, invoice_id: int | None,
           now: datetime) -> Payment | None:
    """Under the invoice's lock: the payment this key already made (a parallel request
    with the same key may have written it while we waited for the lock), else room for
    a new one — another live payment of the invoice blocks it, unless its payer never
    sent a card and it has lapsed; then it is expired here. One query looks for both."""
    params = {"key": key, "invoice_id": invoice_id}
    if s.get_bind().dialect.name != "postgresql":
        rows = list(s.scalars(_CLAIM, params))
    else:
        try:
            with s.begin_nested():  # a refused lock must not end our transaction
                rows = list(s.scalars(_CLAIM, params))
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            busy = list(s.scalars(_CLAIM_ROWS, params))
            mine = next((p for p in busy if p.idempotency_key == key), None)
            if mine is not None and mine.request_fingerprint == fingerprint:
                return mine  # this very request, repeated while its payment is busy
            if mine is not None:
                raise IdempotencyConflict() from None
            raise InvoicePaymentInProgress(busy[0].id if busy else 0) from None
    for found in rows:
        if found.idempotency_key == key:
            if found.request_fingerprint != fingerprint:
                raise IdempotencyConflict()
            return found
    for other in rows:
        lapsed = (other.status == PaymentStatus.CREATED.value
                  and now - other.created_at >= state.ABANDON_AFTER
                  and not state.authorize_sent(s, other.id))
        if not lapsed:
            raise InvoicePaymentInProgress(other.id)
        state.apply(s, other, PaymentEvent.ABANDONED, now=now, actor=state.SYSTEM)
    return None


def _new_payment(s: Session, key: str, fingerprint: str, values: dict[str, object],
                 now: datetime, payer: state.EventActor) -> Payment:
    payment = Payment(idempotency_key=key, request_fingerprint=fingerprint,
                      status=PaymentStatus.CREATED.value, created_at=now, updated_at=now,
                      next_check_at=now + state.ABANDON_AFTER, check_attempts=0,
                      manual_review=False, version=1, refunded_amount=0, **values)
    s.add(payment)
    s.flush()
    state.record_creation(s, payment, payer, {"amount": payment.amount,
                                              "commission": payment.commission})
    return payment


def _repeated(app: App, key: str, fingerprint: str | None) -> PaymentView | None:
    """The same key written by a parallel request (PostgreSQL: the unique index
    decides); it is that request's payment if it asked the same thing."""
    if fingerprint is None:
        return None
    with app.uow(write=False) as uow:
        found = _existing(uow.session, key, fingerprint)
        return _view(uow.session, found) if found is not None else None


def _insert(app: App, request: dict[str, object], values: dict[str, object],
            key: str, invoice_id: int | None = None,
            payer: state.EventActor = state.CUSTOMER) -> PaymentView:
    """Write the payment once per key; the same key and request return it again."""
    fingerprint = _fingerprint(**request)
    now = app.now()
    try:
        with app.uow() as uow:
            s = uow.session
            found = _existing(s, key, fingerprint)
            if found is not None:
                return _view(s, found)
            if invoice_id is not None:
                if quotes.remaining(quotes.lock_invoice(s, invoice_id)) <= 0:
                    return _view(s, _already_paid(
                        s, key, {column: values[column] for column in _SAME_PAYER}))
                found = _claim(s, key, fingerprint, invoice_id, now)
                if found is not None:
                    return _view(s, found)
            view = _view(s, _new_payment(s, key, fingerprint, values, now, payer))
            uow.commit()
            return view
    except IntegrityError:
        view = _repeated(app, key, fingerprint)
        if view is None:
            raise
        return view


def start_invoice_payment(app: App, token: str, invoice_id: int,
                          idempotency_key: str) -> PaymentView:
    """«ОПЛАТИТЬ» on an invoice: a payment of what is left due on it.

    One write transaction: the cabinet's session, the invoice (with its account and
    provider), the key looked up, then the invoice locked and the key looked up again."""
    key = _check_key(idempotency_key)
    now = app.now()
    fingerprint: str | None = None
    try:
        with app.uow() as uow:
            s = uow.session
            customer = signed_in_customer(s, token, now)
            invoice, number, prov = quotes.customer_invoice_for_payment(
                s, customer.id, invoice_id)
            amount = Money(quotes.remaining(invoice))
            same = {"customer_id": customer.id, "invoice_id": invoice.id}
            if amount.kopecks <= 0:
                return _view(s, _already_paid(s, key, same))
            fingerprint = _fingerprint(customer=customer.id, invoice=invoice.id,
                                       amount=amount.kopecks)
            # Before the lock: a repeated request is answered without waiting for it.
            found = _existing(s, key, fingerprint)
            if found is not None:
                return _view(s, found)
            if quotes.remaining(quotes.lock_invoice(s, invoice.id)) <= 0:
                return _view(s, _already_paid(s, key, same))
            found = _claim(s, key, fingerprint, invoice.id, now)
            if found is not None:
                return _view(s, found)
            fee = commission(amount, prov.commission_bp, prov.commission_min)
            payment = _new_payment(s, key, fingerprint, {
                "customer_id": customer.id, "provider_id": prov.id, "account_number": number,
                "provider_account_id": invoice.provider_account_id, "invoice_id": invoice.id,
                "amount": amount.kopecks, "commission": fee.kopecks}, now, state.CUSTOMER)
            view = _view(s, payment)
            uow.commit()
            return view
    except IntegrityError:
        repeated = _repeated(app, key, fingerprint)
        if repeated is None:
            raise
        return repeated


def start_account_payment(app: App, *, provider_id: int, account_number: str,
                          idempotency_key: str, amount_text: str | None = None,
                          pay_last_invoice: bool = False, token: str | None = None,
                          receipt_email: str | None = None) -> PaymentView:
    """Arbitrary payment: a provider's account, the last invoice's amount or any amount;
    from a cabinet (``token``) or without one (``receipt_email`` for the receipt)."""
    key = _check_key(idempotency_key)
    now = app.now()
    with app.uow(write=False) as uow:
        s = uow.session
        customer_id = signed_in_customer(s, token, now).id if token else None
        email = None
        if customer_id is None:
            email = normalize_email(receipt_email or "")
        prov = quotes.provider(s, provider_id)
        number, account = quotes.register_account(s, prov, account_number)
        invoice_id = None
        if pay_last_invoice:
            invoice = quotes.last_invoice(s, account.id)
            if invoice is None:
                raise InvoiceAlreadyPaid()
            if quotes.remaining(invoice) <= 0:
                return _view(s, _already_paid(s, key, {
                    "customer_id": customer_id, "receipt_email": email, "provider_id": prov.id,
                    "account_number": number, "invoice_id": invoice.id}))
            amount, invoice_id = Money(quotes.remaining(invoice)), invoice.id
        else:
            amount = parse_payment_amount(amount_text or "",
                                          maximum=Money(app.settings.payment_max_kopecks))
        fee = commission(amount, prov.commission_bp, prov.commission_min)
    request = {"customer": customer_id, "email": email, "provider": prov.id, "account": number,
               "invoice": invoice_id, "amount": amount.kopecks}
    values = dict(customer_id=customer_id, receipt_email=email, provider_id=prov.id,
                  account_number=number, provider_account_id=account.id, invoice_id=invoice_id,
                  amount=amount.kopecks, commission=fee.kopecks)
    return _insert(app, request, values, key, invoice_id)


# --- access --------------------------------------------------------------------

def _payer_payment(s: Session, payment_id: int, token: str | None, key: str | None,
                   now: datetime, *, lock: bool) -> Payment:
    """The payment, if the caller is its payer; the same «not found» otherwise."""
    payment = (state.lock_payment(s, payment_id, with_parties=True) if lock
               else s.get(Payment, int(payment_id)) if str(payment_id).isdigit() else None)
    if payment is None:
        raise state.PaymentNotFound()
    if payment.customer_id is not None:
        customer = signed_in_customer(s, token or "", now)
        if customer.id != payment.customer_id:
            raise state.PaymentNotFound()
    elif not key or key.strip() != payment.idempotency_key:
        raise state.PaymentNotFound()
    return payment


def payment_status(app: App, payment_id: int, *, token: str | None = None,
                   key: str | None = None) -> PaymentView:
    with app.uow() as uow:
        payment = _payer_payment(uow.session, payment_id, token, key, app.now(), lock=False)
        view = _view(uow.session, payment)
        uow.commit()
    return view


def _at_step(s: Session, payment_id: int, token: str | None, key: str | None,
             step: PaymentStatus, now: datetime) -> Payment | PaymentView | None:
    """The payer's payment, locked, when it is at ``step``; ``None`` when its outcome is
    unknown (the caller commits and asks the gateway first); else the payment as it is (a
    repeated step — the card already sent, or the payment already final: nothing is
    charged again)."""
    payment = _payer_payment(s, payment_id, token, key, now, lock=True)
    if payment.status == PaymentStatus.PENDING.value:
        return None
    if payment.status != step.value:
        return _view(s, payment)
    return payment


# --- the card step ---------------------------------------------------------------

def pay_with_new_card(app: App, payment_id: int, card: CardInput, *, save_card: bool = False,
                      token: str | None = None, key: str | None = None) -> PaymentView:
    """Send a new card to the gateway (checked here first: Luhn, expiry, CVV)."""
    card = card.validate(app.now().date())
    return _authorize(app, payment_id, token, key, card=card, saved=None, cvv=None,
                      save=save_card)


def pay_with_saved_card(app: App, token: str, payment_id: int, card_id: int,
                        cvv: str) -> PaymentView:
    """A saved card: only its CVV is typed (and never kept)."""
    validate_cvv(cvv)
    return _authorize(app, payment_id, token, None, card=None, saved=card_id, cvv=cvv,
                      save=False)


def _authorize(app: App, payment_id: int, token: str | None, key: str | None, *,
               card: CardInput | None, saved: int | None, cvv: str | None,
               save: bool) -> PaymentView:
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        payment = _at_step(s, payment_id, token, key, PaymentStatus.CREATED, now)
        if payment is None:
            uow.commit()  # the session's activity; the gateway is asked in its own units
            return _resolve_first(app, int(payment_id))
        if isinstance(payment, PaymentView):
            return payment
        if state.authorize_sent(s, payment.id):
            raise state.PaymentInProgress()
        token_value = None
        if saved is not None:
            row = s.get(SavedCard, int(saved))
            if row is None or row.customer_id != payment.customer_id or row.removed_at:
                raise CardNotFound()
            token_value, payment.saved_card_id = row.gateway_token, row.id
            payment.masked_pan, payment.card_brand = row.masked_pan, row.brand
        else:
            assert card is not None
            payment.masked_pan, payment.card_brand = card.masked, str(card.brand)
        state.apply(s, payment, PaymentEvent.AUTHORIZE_SENT, now=now, actor=state.CUSTOMER,
                    details={"card": payment.masked_pan, "saved_card": saved is not None})
        payment.next_check_at = now + state.IN_FLIGHT
        provider = quotes.provider(s, payment.provider_id)
        request = g.AuthorizeRequest(
            payment_id=str(payment.id), amount_kopecks=payment.amount + payment.commission,
            card=card, token=token_value, cvv=cvv,
            description=f"{provider.name}, л/с {payment.account_number}",
            idempotency_key=f"auth-{payment.idempotency_key}")
        uow.commit()
    try:
        answer = app.acquirer().tokenize_and_authorize(request)
    except g.GatewayTimeout:
        return _record_authorize_lost(app, payment.id)
    except g.GatewayUnavailable:
        return _record(app, payment.id, lambda s, p: state.fail(
            s, p, PaymentEvent.GATEWAY_ERROR, now=app.now(), actor=state.SYSTEM,
            code="gateway_unavailable", reason="Банк недоступен, платёж не выполнен"))
    return _record(app, payment.id, lambda s, p: _authorize_answer(app, s, p, answer, save))


def _authorize_answer(app: App, s: Session, payment: Payment, answer: g.AuthorizeResponse,
                      save: bool) -> str | None:
    now = app.now()
    payment.gateway_txn_id = answer.gateway_txn_id
    if answer.status is g.AuthorizeStatus.DECLINED:
        state.fail(s, payment, PaymentEvent.GATEWAY_DECLINED, now=now, actor=state.SYSTEM,
                   code=answer.decline_code, reason=answer.decline_message_ru)
        return None
    if answer.status is g.AuthorizeStatus.ERROR:
        state.fail(s, payment, PaymentEvent.GATEWAY_ERROR, now=now, actor=state.SYSTEM,
                   code=answer.decline_code, reason=answer.decline_message_ru)
        return None
    state.apply(s, payment, PaymentEvent.OTP_REQUIRED, now=now, actor=state.SYSTEM)
    if answer.masked_pan:
        payment.masked_pan, payment.card_brand = answer.masked_pan, answer.brand
    code = app.otp_inbox.take(answer.gateway_txn_id or "")
    code, issued = otp.issue(app.secrets.hmac_key, payment.id, now, code)
    with s.no_autoflush:  # nothing pending is needed; the payment is written once
        s.execute(_OTP_INSERT, {"payment_id": payment.id, "code_hash": issued.code_hash,
                                "created_at": issued.created_at, "expires_at": issued.expires_at,
                                "attempts": 0})
    # Not due before the password's lifetime is over: then the expiry job looks.
    payment.next_check_at = issued.expires_at + state.IN_FLIGHT
    if save and payment.customer_id is not None and answer.card_token:
        card = saved_cards.save_card(
            s, customer_id=payment.customer_id, gateway_token=answer.card_token,
            brand=answer.brand or "", masked_pan=answer.masked_pan or payment.masked_pan or "",
            exp_month=answer.exp_month or 0, exp_year=answer.exp_year or 0, now=now)
        payment.saved_card_id = card.id
    return notices.queue_otp(s, payment, code, now)


# Read back only by the confirmation's own transaction: a plain INSERT here.
_OTP_INSERT = PaymentOtp.__table__.insert()


def _record_authorize_lost(app: App, payment_id: int) -> PaymentView:
    def lost(s: Session, p: Payment) -> None:
        state.apply(s, p, PaymentEvent.GATEWAY_TIMEOUT, now=app.now(), actor=state.SYSTEM,
                    details={"step": "authorize"})
        state.first_check(p, app.now())
    return _record(app, payment_id, lost)


def _record(app: App, payment_id: int, change) -> PaymentView:  # type: ignore[no-untyped-def]
    """A second transaction: lock the payment, record the gateway's answer, commit.

    ``change`` may return where the password went (for the screen) or, on a success,
    the new receipt: its fiscal request is made from the rows already loaded here, and
    the register is called after the commit."""
    with app.uow() as uow:
        s = uow.session
        payment = state.lock_payment(s, payment_id, with_parties=True)
        outcome = change(s, payment)
        view = _view(s, payment, otp_sent_to=outcome if isinstance(outcome, str) else None)
        request = (receipts.fiscal_request(s, payment, outcome)
                   if isinstance(outcome, Receipt) else None)
        uow.commit()
    if request is not None:
        receipts.fiscalise_request(app, request)
    elif view.status is PaymentStatus.SUCCEEDED:
        receipts.fiscalise_for_payment(app, view.id)
    return view


# --- the one-time password ------------------------------------------------------

def confirm_payment(app: App, payment_id: int, code: str, *, token: str | None = None,
                    key: str | None = None) -> PaymentView:
    """The password from the SMS. A wrong one raises (with the attempts left) and
    counts; the third wrong one or a late one ends the payment (declined / expired)."""
    entered = otp.normalize_input(code)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        payment = _at_step(s, payment_id, token, key, PaymentStatus.AWAITING_OTP, now)
        if payment is None:
            uow.commit()  # the session's activity; the gateway is asked in its own units
            return _resolve_first(app, int(payment_id))
        if isinstance(payment, PaymentView):
            return payment
        row = state.latest_otp(s, payment.id)
        if row is None:
            raise state.PaymentInProgress()
        if row.used_at is not None:
            raise state.PaymentInProgress()  # another confirmation is with the gateway
        checked, result = otp.check(app.secrets.hmac_key, _otp_state(row), payment.id, entered, now)
        row.attempts, row.used_at = checked.attempts, checked.used_at
        if result.outcome is otp.OtpOutcome.WRONG:
            uow.commit()  # the attempt counts even though we refuse
            raise otp.OtpInvalid(result.attempts_left)
        if result.outcome is otp.OtpOutcome.EXHAUSTED:
            state.fail(s, payment, PaymentEvent.OTP_REJECTED_FINAL, now=now, actor=state.CUSTOMER,
                       code=g.OTP_ATTEMPTS_EXCEEDED, reason=g.decline_message(g.OTP_ATTEMPTS_EXCEEDED))
            view = _view(s, payment)
            uow.commit()
            return view
        if result.outcome is otp.OtpOutcome.EXPIRED:
            state.fail(s, payment, PaymentEvent.OTP_EXPIRED, now=now, actor=state.CUSTOMER,
                       code="otp_expired", reason="Срок действия кода подтверждения истёк")
            view = _view(s, payment)
            uow.commit()
            return view
        payment.next_check_at = now + state.IN_FLIGHT  # if we crash, recovery asks the bank
        payment.updated_at = now
        txn = payment.gateway_txn_id or ""
        uow.commit()
    try:
        answer = app.acquirer().confirm(g.ConfirmRequest(gateway_txn_id=txn, otp=entered))
    except g.GatewayTimeout:
        def lost(s: Session, p: Payment) -> None:
            state.apply(s, p, PaymentEvent.GATEWAY_TIMEOUT, now=app.now(), actor=state.SYSTEM,
                        details={"step": "confirm"})
            state.first_check(p, app.now())
        return _record(app, payment_id, lost)
    except g.GatewayUnavailable:
        # The request never reached the bank: the password may be entered again.
        with app.uow() as uow:
            state.lock_payment(uow.session, payment_id)
            again = state.latest_otp(uow.session, payment_id)
            if again is not None:
                again.used_at = None
            uow.commit()
        raise state.GatewayDown() from None
    return _record(app, payment_id, lambda s, p: confirm_answer(app, s, p, answer))


def confirm_answer(app: App, s: Session, payment: Payment,
                   answer: g.ConfirmResponse) -> Receipt | None:
    """Record the gateway's answer to a confirmation (also used by the recovery);
    returns the receipt of a success (not yet fiscalised)."""
    now = app.now()
    if answer.status is g.ConfirmStatus.SUCCEEDED:
        return state.succeed(s, payment, PaymentEvent.OTP_CONFIRMED, now=now, actor=state.SYSTEM,
                             rrn=answer.rrn, auth_code=answer.auth_code)
    if answer.status is g.ConfirmStatus.OTP_EXPIRED:
        state.fail(s, payment, PaymentEvent.OTP_EXPIRED, now=now, actor=state.SYSTEM,
                   code="otp_expired", reason="Срок действия кода подтверждения истёк")
    else:
        reason = answer.decline_message_ru or g.decline_message(answer.decline_code or "")
        state.fail(s, payment, PaymentEvent.GATEWAY_DECLINED, now=now, actor=state.SYSTEM,
                   code=answer.decline_code or "declined", reason=reason)
    return None


def _otp_state(row: PaymentOtp) -> otp.OtpState:
    return otp.OtpState(payment_id=row.payment_id, code_hash=row.code_hash,
                        created_at=row.created_at, expires_at=row.expires_at,
                        attempts=row.attempts, used_at=row.used_at)


def _resolve_first(app: App, payment_id: int) -> PaymentView:
    """An action on a payment whose outcome is unknown: ask the gateway first."""
    recovery.resolve(app, payment_id, state.CUSTOMER)
    with app.uow(write=False) as uow:
        payment = uow.session.get(Payment, payment_id)
        assert payment is not None
        view = _view(uow.session, payment)
    if view.status is PaymentStatus.PENDING:
        raise state.OutcomeUnknown(payment_id)
    return view


def _view(s: Session, payment: Payment, *, otp_sent_to: str | None = None) -> PaymentView:
    provider = quotes.provider(s, payment.provider_id)
    status = PaymentStatus(payment.status)
    return PaymentView(
        id=payment.id, status=status, status_label=status_label(status),
        provider_name=provider.name, account_number=payment.account_number,
        invoice_id=payment.invoice_id, amount=Money(payment.amount),
        commission=Money(payment.commission), masked_pan=payment.masked_pan,
        decline_reason=payment.decline_reason, otp_sent_to=otp_sent_to)
