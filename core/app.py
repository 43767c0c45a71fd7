"""The application's wiring: settings, database, clock, secrets and adapters.

Every service function takes an ``App`` first. The dashboard builds one per
process (cached), the CLI one per command, tests one per test with a frozen
clock and test doubles.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.customers.captcha import ArithmeticCaptcha, Captcha
from core.security.passwords import Argon2Hasher, BcryptHasher
from core.notifications.senders import LogFileSender, Sender
from core.clock import Clock, SystemClock
from core.config import Settings, load_settings
from core.db.engine import make_engine
from core.notifications.channels import Channel
from core.payments.fiscal import FiscalRegister, FiscalSimulator
from core.payments.gateway import AcquiringGateway
from core.payments.inbox import OtpInbox
from core.secrets import Secrets, load_or_create
from core.uow import UnitOfWork


@dataclass
class App:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    secrets: Secrets
    captcha: Captcha
    customer_hasher: Argon2Hasher
    staff_hasher: BcryptHasher
    senders: dict[Channel, Sender] = field(default_factory=dict)
    gateway: AcquiringGateway | None = None
    otp_inbox: OtpInbox = field(default_factory=OtpInbox)
    fiscal: FiscalRegister | None = None

    def acquirer(self) -> AcquiringGateway:
        assert self.gateway is not None, "build_app wires a gateway"
        return self.gateway

    def uow(self, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(self.session_factory, write=write)

    def now(self):  # type: ignore[no-untyped-def]
        return self.clock.now()


def _email_sender(settings: Settings, clock: Clock) -> Sender:
    """SMTP when SMTP_HOST is configured, else the log-file sink of the demo."""
    if settings.smtp is None:
        return LogFileSender(settings.notify_log_dir / "email.log", clock.now)
    from core.notifications.smtp import SmtpEmailSender

    smtp = settings.smtp
    return SmtpEmailSender(smtp.host, smtp.port, smtp.user, smtp.password, smtp.sender_address,
                           use_tls=smtp.use_tls, use_ssl=smtp.use_ssl, timeout=smtp.timeout)


def _gateway(settings: Settings, clock: Clock, inbox: OtpInbox) -> AcquiringGateway:
    """The acquirer simulator: in a file shared by the dashboard and the worker, or in
    memory when no state file is configured (tests)."""
    if settings.gateway_state_file is None:
        from core.payments.simulator import GatewaySimulator

        return GatewaySimulator(clock, otp_sink=inbox.put)
    from core.payments.simulator_store import FileBackedSimulator

    return FileBackedSimulator(settings.gateway_state_file, clock, otp_sink=inbox.put)


def _fiscal_register(clock: Clock) -> FiscalRegister:
    """The fiscal register simulator. Each process (dashboard, worker) is a register of
    its own, as a real agent's several cash registers are: its own fiscal drive number,
    its own run of document numbers."""
    import os

    return FiscalSimulator(clock, fiscal_drive_number=f"9999078900{os.getpid() % 10**6:06d}")


def build_app(settings: Settings | None = None, *, clock: Clock | None = None,
              captcha: Captcha | None = None, secrets: Secrets | None = None,
              senders: dict[Channel, Sender] | None = None, engine: Engine | None = None,
              gateway: AcquiringGateway | None = None, fiscal: FiscalRegister | None = None,
              otp_inbox: OtpInbox | None = None) -> App:
    settings = settings or load_settings()
    clock = clock or SystemClock()
    secrets = secrets or load_or_create(settings.secrets_file)
    engine = engine or make_engine(settings.database_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    default_senders: dict[Channel, Sender] = {
        Channel.SMS: LogFileSender(settings.notify_log_dir / "sms.log", clock.now),
        Channel.EMAIL: _email_sender(settings, clock),
    }
    inbox = otp_inbox or OtpInbox()
    return App(
        settings=settings, engine=engine, session_factory=factory, clock=clock, secrets=secrets,
        captcha=captcha or ArithmeticCaptcha(secrets.hmac_key, clock),
        customer_hasher=Argon2Hasher(settings.hashing),
        staff_hasher=BcryptHasher(settings.hashing),
        senders=senders or default_senders,
        gateway=gateway or _gateway(settings, clock, inbox),
        otp_inbox=inbox,
        fiscal=fiscal or _fiscal_register(clock),
    )
