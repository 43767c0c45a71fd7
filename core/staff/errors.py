"""Errors of staff accounts."""
from __future__ import annotations

from core.customers.errors import SessionInvalid
from core.errors import DomainError


class StaffError(DomainError):
    code = "staff_error"


class StaffLoginTaken(StaffError):
    code = "staff_login_taken"

    def __init__(self) -> None:
        super().__init__("Логин: сотрудник с таким логином уже есть", field="login")


class LoginStepPending(SessionInvalid):
    """The password was right but the login owes a step before any page opens: ``step``
    is "totp" (a code), "password" (replace a temporary one) or "enrol" (set up the
    second factor). A SessionInvalid, so that whatever does not know the steps opens
    nothing."""

    code = "login_step_pending"
    MESSAGES = {"totp": "Вход не завершён: введите код из приложения-аутентификатора",
                "password": "Вход не завершён: смените временный пароль",
                "enrol": "Вход не завершён: подключите двухфакторный вход"}

    def __init__(self, step: str) -> None:
        self.step = step
        super().__init__(self.MESSAGES.get(step, "Вход не завершён"))


class SecondFactorFailed(StaffError):
    code = "second_factor_failed"

    def __init__(self) -> None:
        super().__init__("Код: неверный или уже использованный. Введите новый код из "
                         "приложения-аутентификатора или неиспользованный резервный код",
                         field="code")


class SecondFactorState(StaffError):
    """A second-factor action that does not fit the account's state (already enrolled,
    nothing being enrolled, no second factor to reset)."""

    code = "second_factor_state"
