"""The customer's own use cases: register, activate, log in, profile, block.

Each function is one transaction. Customers act through a session token that
``login``/``activate`` hand out; the server keeps only its digest.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.customers.captcha import CAPTCHA_LIFETIME, CaptchaChallenge
from core.app import App
from core.config import USER_AGREEMENT_VERSION
from core.db.models import (ActivationCode, CabinetBlock, Customer, CustomerSession, SpentCaptcha,
                            StaffUser)
from core.actors import ActorKind
from core.security import codes, throttle
from core.customers.rules import (CabinetStatus, PersonalData, clean_reason, format_phone,
                                  normalize_code_word, normalize_email, normalize_phone,
                                  search_name_of,
                                  validate_password)
from core.customers import activation_limits
from core.customers.errors import (AlreadyActivated, AlreadyBlocked, CabinetBlocked,
                                   CaptchaAlreadyUsed, EmailTaken, LoginFailed, NotActivated,
                                   PhoneTaken, SessionExpired, WrongPassword)
from core.security.errors import (ActivationLocked, AttemptsExceeded, CodeAlreadyUsed, CodeExpired,
                                  CodeInvalid)
from core.timefmt import format_until
from core.errors import ValidationError
from core.staff import audit
from core.notifications import subscriptions
from core.customers.sessions import signed_in_customer
from core.customers.credentials import THROTTLE_SCOPE, check_credentials
from core.customers.lifecycle import (ACTIVATION_PURPOSE, end_sessions, get_customer,
                                      issue_activation_code, open_block, reissue_activation_code, status_of)


@dataclass(frozen=True)
class Registration:
    """What the registration form sends."""

    phone: str
    email: str
    password: str
    code_word: str
    agreement_accepted: bool
    captcha_token: str
    captcha_answer: str
    personal: PersonalData = PersonalData()


@dataclass(frozen=True)
class Profile:
    """«Личные данные» as the cabinet shows them."""

    phone: str
    email: str
    personal: PersonalData
    agreement_version: str
    agreement_accepted_at: datetime
    registered_at: datetime
    # «Смотреть как клиент»: the staff member looking through this session, else None.
    viewed_by: str | None = None


@dataclass(frozen=True)
class CustomerLogin:
    customer_id: int
    session_token: str  # give to the client; the server keeps only its SHA-256


def new_captcha(app: App) -> CaptchaChallenge:
    return app.captcha.challenge()


def register(app: App, form: Registration) -> int:
    """Create a cabinet waiting for activation and queue the SMS with its code."""
    now = app.now()
    phone = normalize_phone(form.phone)
    email = normalize_email(form.email)
    password = validate_password(form.password, min_length=app.settings.password_min_length,
                                 max_length=app.settings.password_max_length)
    code_word = normalize_code_word(form.code_word)
    personal = form.personal.cleaned(now.date())
    if not form.agreement_accepted:
        raise ValidationError("Пользовательское соглашение",
                              "необходимо ознакомиться и принять условия", field="agreement")
    if not app.captcha.verify(form.captcha_token, form.captcha_answer or ""):
        raise ValidationError("Код с картинки", "введён неверно, попробуйте ещё раз",
                              field="captcha")
    captcha_key = codes.token_digest(app.captcha.challenge_key(form.captcha_token))
    # Slow hashes are computed before the write transaction opens, so they never
    # hold SQLite's write lock.
    password_hash = app.customer_hasher.hash(password)
    code_word_hash = app.customer_hasher.hash(code_word)
    with app.uow() as uow:
        s = uow.session
        _spend_captcha(s, captcha_key, now)
        _ensure_unique(s, phone, email)
        customer = Customer(
            phone=phone, email=email,
            password_hash=password_hash, code_word_hash=code_word_hash,
            surname=personal.surname, first_name=personal.first_name,
            patronymic=personal.patronymic, birth_date=personal.birth_date,
            address=personal.address,
            search_name=search_name_of(personal.surname, personal.first_name,
                                       personal.patronymic),
            agreement_version=USER_AGREEMENT_VERSION, agreement_accepted_at=now,
            registered_at=now, code_word_failures=0,
        )
        s.add(customer)
        try:
            s.flush()
        except IntegrityError:
            # A concurrent registration won the race: say which field it took.
            s.rollback()
            _ensure_unique(s, phone, email)
            raise PhoneTaken() from None
        subscriptions.create_default_subscriptions(s, customer.id, now)
        issue_activation_code(app, s, customer, now)
        audit.record(s, at=now, action="customer.register", actor_kind=ActorKind.CUSTOMER,
                     customer_id=customer.id,
                     after={"phone": phone, "email": email,
                            "agreement_version": USER_AGREEMENT_VERSION})
        uow.commit()
        return customer.id


def _captcha_spent(session: Session, key_hash: str) -> bool:
    return session.scalar(select(SpentCaptcha.id).where(SpentCaptcha.key_hash == key_hash)) \
        is not None


def _spend_captcha(session: Session, key_hash: str, now: datetime) -> None:
    """One solved captcha, one cabinet. Spent only with the registration it passed: a form
    refused for a taken phone may be sent again with the same answer."""
    # No token outlives the captcha's lifetime, so a key older than that cannot come back.
    session.execute(delete(SpentCaptcha).where(SpentCaptcha.spent_at < now - CAPTCHA_LIFETIME))
    if _captcha_spent(session, key_hash):
        raise CaptchaAlreadyUsed()
    session.add(SpentCaptcha(key_hash=key_hash, spent_at=now))
    try:
        session.flush()
    except IntegrityError:  # a concurrent registration spent it first
        session.rollback()
        raise CaptchaAlreadyUsed() from None


def _ensure_unique(session: Session, phone: str, email: str) -> None:
    if session.scalar(select(Customer.id).where(Customer.phone == phone)) is not None:
        raise PhoneTaken()
    if session.scalar(select(Customer.id).where(Customer.email == email)) is not None:
        raise EmailTaken()


def request_activation_code(app: App, customer_id: int) -> None:
    """«Отправить код повторно» from the activation page."""
    with app.uow() as uow:
        reissue_activation_code(app, uow.session, customer_id, app.now())
        uow.commit()


def activate(app: App, customer_id: int, code: str) -> CustomerLogin:
    """The right code activates the cabinet and logs the customer in."""
    entered = (code or "").strip()
    if not re.fullmatch(rf"[0-9]{{{codes.ACTIVATION_CODE_DIGITS}}}", entered):
        raise ValidationError("Код активации", "введите 4 цифры из SMS", field="code")
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        customer = get_customer(s, customer_id)
        if customer.activated_at is not None:
            raise AlreadyActivated()
        if open_block(s, customer.id) is not None:
            raise CabinetBlocked()
        day_cap = app.settings.activation_wrong_codes_per_day
        wrong = activation_limits.wrong_codes(s, customer.id, now, day_cap)
        if wrong.until is not None:
            raise ActivationLocked(format_until(wrong.until))  # even the right code waits
        row = s.scalar(select(ActivationCode).where(ActivationCode.customer_id == customer.id)
                       .order_by(ActivationCode.created_at.desc(), ActivationCode.id.desc())
                       .limit(1))
        if row is None:
            raise CodeExpired()
        if row.used_at is not None:
            raise CodeAlreadyUsed()
        if row.voided_at is not None:
            raise AttemptsExceeded() if row.attempts >= codes.ACTIVATION_MAX_ATTEMPTS \
                else CodeExpired()
        if row.expires_at <= now:
            raise CodeExpired()
        if not codes.code_matches(app.secrets.hmac_key, row.code_hash, ACTIVATION_PURPOSE,
                                  customer.id, row.id, entered):
            row.attempts += 1
            left = codes.ACTIVATION_MAX_ATTEMPTS - row.attempts
            if left <= 0:
                row.voided_at = now
            s.flush()
            wrong = activation_limits.wrong_codes(s, customer.id, now, day_cap)
            uow.commit()  # the wrong attempt counts even though we refuse
            if wrong.until is not None:
                raise ActivationLocked(format_until(wrong.until))
            raise AttemptsExceeded() if left <= 0 else CodeInvalid(min(left, wrong.left))
        row.used_at = now
        customer.activated_at = now
        token = _start_session(s, customer.id, now)
        audit.record(s, at=now, action="customer.activate", actor_kind=ActorKind.CUSTOMER,
                     customer_id=customer.id)
        uow.commit()
        return CustomerLogin(customer.id, token)


def _start_session(session: Session, customer_id: int, now: datetime) -> str:
    token, digest = codes.new_token()
    session.add(CustomerSession(customer_id=customer_id, token_hash=digest, created_at=now,
                                last_seen_at=now))
    return token


def login(app: App, login_name: str, password: str) -> CustomerLogin:
    """Log in by phone or e-mail. Unknown login and wrong password answer alike."""
    now = app.now()
    checked = check_credentials(app, login_name, password, now)
    with app.uow() as uow:
        s = uow.session
        if checked.customer_id is None:
            throttle.register_failure(s, THROTTLE_SCOPE, checked.throttle_key, now)
            uow.commit()
            raise LoginFailed()
        throttle.register_success(s, THROTTLE_SCOPE, checked.throttle_key)
        customer = get_customer(s, checked.customer_id)
        status = status_of(s, customer)
        if status is not CabinetStatus.ACTIVE:
            uow.commit()
            raise CabinetBlocked() if status is CabinetStatus.BLOCKED else NotActivated()
        token = _start_session(s, customer.id, now)
        uow.commit()
        return CustomerLogin(customer.id, token)


def current_customer_id(app: App, token: str) -> int:
    """The cabinet's check on every page: the customer, or the reason to log in again. An
    idle session is ended here, in this use case's own transaction."""
    now = app.now()
    with app.uow() as uow:
        try:
            customer = signed_in_customer(uow.session, token, now, reading=True)
        except SessionExpired as expired:
            row = uow.session.get(CustomerSession, expired.session_id)
            assert row is not None
            row.ended_at, row.end_reason = now, "idle"
            uow.commit()
            raise
        uow.commit()
        return customer.id


def logout(app: App, token: str) -> None:
    with app.uow() as uow:
        row = uow.session.scalar(select(CustomerSession).where(
            CustomerSession.token_hash == codes.token_digest(token or "")))
        if row is not None and row.ended_at is None:
            row.ended_at, row.end_reason = app.now(), "logout"
            uow.commit()


def profile(app: App, token: str) -> Profile:
    """The cabinet's own data, for «Личные данные» (also in «Смотреть как клиент»)."""
    with app.uow() as uow:
        c = signed_in_customer(uow.session, token, app.now(), reading=True)
        found = Profile(
            phone=format_phone(c.phone), email=c.email,
            personal=PersonalData(surname=c.surname, first_name=c.first_name,
                                  patronymic=c.patronymic, birth_date=c.birth_date,
                                  address=c.address),
            agreement_version=c.agreement_version, agreement_accepted_at=c.agreement_accepted_at,
            registered_at=c.registered_at, viewed_by=_viewer_name(uow.session, token))
        uow.commit()  # the session's last activity
        return found


def _viewer_name(session: Session, token: str) -> str | None:
    return session.scalar(select(StaffUser.name)
                          .join(CustomerSession, CustomerSession.viewer_staff_id == StaffUser.id)
                          .where(CustomerSession.token_hash == codes.token_digest(token)))


def update_profile(app: App, token: str, data: PersonalData) -> None:
    now = app.now()
    cleaned = data.cleaned(now.date())
    with app.uow() as uow:
        customer = signed_in_customer(uow.session, token, now)
        before = _personal_snapshot(customer)
        customer.surname, customer.first_name = cleaned.surname, cleaned.first_name
        customer.patronymic, customer.birth_date = cleaned.patronymic, cleaned.birth_date
        customer.address = cleaned.address
        customer.search_name = search_name_of(cleaned.surname, cleaned.first_name,
                                              cleaned.patronymic)
        audit.record(uow.session, at=now, action="customer.profile_update",
                     actor_kind=ActorKind.CUSTOMER, customer_id=customer.id,
                     before=before, after=_personal_snapshot(customer))
        uow.commit()


def _personal_snapshot(customer: Customer) -> dict[str, str | None]:
    return {"surname": customer.surname, "first_name": customer.first_name,
            "patronymic": customer.patronymic,
            "birth_date": customer.birth_date.isoformat() if customer.birth_date else None,
            "address": customer.address}


def change_password(app: App, token: str, old_password: str, new_password: str) -> str:
    """Changes the password and ends every session; returns a fresh session token."""
    now = app.now()
    new = validate_password(new_password, min_length=app.settings.password_min_length,
                            max_length=app.settings.password_max_length,
                            label="Новый пароль", field="new_password")
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now)
        if not app.customer_hasher.verify(customer.password_hash, (old_password or "")[:256]):
            raise WrongPassword("Текущий пароль")
        if old_password == new:
            raise ValidationError("Новый пароль", "должен отличаться от текущего",
                                  field="new_password")
        customer.password_hash = app.customer_hasher.hash(new)
        end_sessions(s, customer.id, now, "password_change")
        fresh = _start_session(s, customer.id, now)
        audit.record(s, at=now, action="customer.password_change",
                     actor_kind=ActorKind.CUSTOMER, customer_id=customer.id)
        uow.commit()
        return fresh


def change_code_word(app: App, token: str, password: str, new_code_word: str) -> None:
    now = app.now()
    word = normalize_code_word(new_code_word, label="Новое кодовое слово")
    with app.uow() as uow:
        customer = signed_in_customer(uow.session, token, now)
        if not app.customer_hasher.verify(customer.password_hash, (password or "")[:256]):
            raise WrongPassword("Пароль")
        customer.code_word_hash = app.customer_hasher.hash(word)
        audit.record(uow.session, at=now, action="customer.code_word_change",
                     actor_kind=ActorKind.CUSTOMER, customer_id=customer.id)
        uow.commit()


def block_own_cabinet(app: App, token: str, reason: str) -> None:
    """«Блокировка личного кабинета»: access stops, sessions end, notifications stop."""
    now = app.now()
    why = clean_reason(reason, "Причина блокировки")
    with app.uow() as uow:
        s = uow.session
        customer = signed_in_customer(s, token, now)
        if open_block(s, customer.id) is not None:
            raise AlreadyBlocked()
        s.add(CabinetBlock(customer_id=customer.id, reason=why,
                           blocked_by_kind=ActorKind.CUSTOMER, blocked_at=now))
        end_sessions(s, customer.id, now, "blocked")
        audit.record(s, at=now, action="customer.block", actor_kind=ActorKind.CUSTOMER,
                     customer_id=customer.id, reason=why,
                     before={"status": "active"}, after={"status": "blocked"})
        uow.commit()
