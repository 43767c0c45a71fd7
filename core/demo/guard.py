"""What keeps the demo out of a real database.

The demo's staff logins and their passwords are printed in the README, so they may
only ever exist in a database that holds nothing else: ``require_empty`` is asked
before any demo row is written (the rich demo and the scale data set alike), and
``serve_refusal`` before the operator's start (``python -m core serve``), which must not
open a dashboard where a README password still logs in.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actors import StaffRole
from core.app import App
from core.db.models import Customer, StaffUser
from core.errors import DomainError
from core.staff import totp

DEMO_STAFF = (  # login, name, role, password — listed in the README («Demo logins»)
    ("agent", "Ольга Смирнова", StaffRole.AGENT, "agent-demo-2026"),
    ("finance", "Игорь Власов", StaffRole.FINANCE, "finance-demo-2026"),
    ("manager", "Марина Котова", StaffRole.MANAGER, "manager-demo-2026"),
    ("admin", "Сергей Левин", StaffRole.ADMIN, "admin-demo-2026"),
)
# Their second factor (administrators and finance must have one): TOTP keys printed in the
# README beside the passwords, for any authenticator app; the login's code step also shows
# the current code while the demo's password still works (``demo_totp_code``).
DEMO_TOTP_SECRETS = {"finance": "FINANCEDEMOTOTPKEYFINANCEDEMOTOT",
                     "admin": "ADMINDEMOTOTPKEYADMINDEMOTOTPKEY"}
FIRST_ADMIN = ('python -m core staff add --login ЛОГИН --role admin --name "Фамилия Имя" '
               "--email адрес@компании.ru   (пароль команда спросит дважды)")


@dataclass(frozen=True)
class Occupants:
    staff: int
    customers: int

    def __bool__(self) -> bool:
        return bool(self.staff or self.customers)

    @property
    def text(self) -> str:
        return f"сотрудники: {self.staff}, клиенты: {self.customers}"


class DemoRefused(DomainError):
    """Demo rows asked for in a database that already has staff or customers."""

    code = "demo_refused"

    def __init__(self, occupants: Occupants) -> None:
        self.occupants = occupants
        super().__init__(
            "Демо-данные добавляются только в пустую базу, а в этой уже есть "
            f"{occupants.text}. Демо-логины с паролями из README (admin/admin-demo-2026 и "
            "другие) открыли бы рабочую базу любому; для демо возьмите пустую базу "
            "(другой DATABASE_URL или make clean-db для учебной data/app.db)")

    @property
    def skipped(self) -> str:
        """The line for ``--if-empty``: not an error, the data is simply there."""
        return (f"Демо-данные пропущены (--if-empty): в базе уже есть {self.occupants.text}; "
                "демо добавляется только в пустую базу")


class ServeRefused(DomainError):
    code = "serve_refused"


def occupants(session: Session) -> Occupants:
    return Occupants(
        staff=session.scalar(select(func.count()).select_from(StaffUser)) or 0,
        customers=session.scalar(select(func.count()).select_from(Customer)) or 0)


def require_empty(session: Session) -> None:
    """Raises ``DemoRefused`` unless the database has no staff and no customers."""
    found = occupants(session)
    if found:
        raise DemoRefused(found)


def working_demo_logins(app: App) -> list[str]:
    """Active staff whose login and password are still the demo's (a demo login whose
    password was changed, or that was deactivated, opens nothing)."""
    passwords = {login: password for login, _, _, password in DEMO_STAFF}
    with app.uow(write=False) as uow:
        rows = uow.session.execute(
            select(StaffUser.login, StaffUser.password_hash)
            .where(StaffUser.login.in_(list(passwords)), StaffUser.is_active.is_(True))
            .order_by(StaffUser.login)).all()
    return [login for login, stored in rows
            if app.staff_hasher.verify(stored, passwords[login])]


def demo_totp_code(app: App, login_name: str) -> str | None:
    """The current code of a demo login's second factor, while the login still opens with
    the demo's password and its key is still the demo's (else None: a real key is never
    shown, and a demo login made real shows nothing)."""
    secret = DEMO_TOTP_SECRETS.get(login_name)
    if secret is None or login_name not in working_demo_logins(app):
        return None
    with app.uow(write=False) as uow:
        stored = uow.session.scalar(select(StaffUser.totp_secret_enc)
                                    .where(StaffUser.login == login_name))
    if not stored or totp.decrypt_secret(app.secrets.hmac_key, stored) != secret:
        return None
    return totp.code_at(secret, totp.step_of(app.now()))


def serve_refusal(app: App) -> str | None:
    """Why the operator's start must not open the dashboard on this database, or None."""
    with app.uow(write=False) as uow:
        active = uow.session.scalar(select(func.count()).select_from(StaffUser)
                                    .where(StaffUser.is_active.is_(True))) or 0
    if not active:
        return ("В базе нет ни одного действующего сотрудника: войти будет некому. Создайте "
                f"первого администратора:\n  {FIRST_ADMIN}\nи запустите снова")
    demo = working_demo_logins(app)
    if not demo:
        return None
    off = "\n".join(f"  python -m core staff deactivate --login {login}" for login in demo)
    return ("В базе действуют демо-логины с паролями из README: "
            f"{', '.join(demo)}. Рабочий запуск с ними открыл бы дашборд любому. Если "
            f"своего администратора ещё нет, создайте его:\n  {FIRST_ADMIN}\n"
            f"затем отключите демо-логины:\n{off}\n"
            "Демо (make run) запускайте на отдельной пустой базе")


def require_servable(app: App) -> None:
    reason = serve_refusal(app)
    if reason is not None:
        raise ServeRefused(reason)
