"""Errors of secrets people prove: login lockouts and one-time codes."""
from __future__ import annotations

from core.errors import DomainError


class LoginLocked(DomainError):
    code = "login_locked"

    def __init__(self, until_text: str) -> None:
        super().__init__(
            f"Слишком много неудачных попыток входа. Вход заблокирован до {until_text}"
        )


class CodeError(DomainError):
    code = "code_error"


class CodeInvalid(CodeError):
    code = "code_invalid"

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"Код активации: неверный код, осталось попыток: {attempts_left}",
                         field="code")
        self.attempts_left = attempts_left


class CodeExpired(CodeError):
    code = "code_expired"

    def __init__(self) -> None:
        super().__init__("Код активации: срок действия кода истёк, запросите новый код",
                         field="code")


class AttemptsExceeded(CodeError):
    code = "code_attempts_exceeded"

    def __init__(self) -> None:
        super().__init__(
            "Код активации: превышено число попыток, код аннулирован; запросите новый код",
            field="code",
        )


class CodeAlreadyUsed(CodeError):
    code = "code_used"

    def __init__(self) -> None:
        super().__init__("Код активации: код уже использован", field="code")


class ResendTooSoon(CodeError):
    code = "resend_too_soon"

    def __init__(self, seconds_left: int) -> None:
        super().__init__(
            f"Код активации: новый код можно запросить через {seconds_left} с", field="code"
        )
        self.seconds_left = seconds_left


class ActivationLocked(CodeError):
    """Too many wrong codes in a day, across every code the cabinet was sent."""

    code = "activation_locked"

    def __init__(self, until_text: str) -> None:
        super().__init__(
            f"Код активации: слишком много неверных кодов, попробуйте после {until_text}",
            field="code")
        self.until_text = until_text


class SendLimitReached(CodeError):
    code = "activation_send_limit"

    def __init__(self, sent: int, until_text: str) -> None:
        super().__init__(
            f"Код активации: за сутки отправлено {sent} SMS с кодом, новый код можно запросить "
            f"после {until_text}", field="code")
        self.until_text = until_text
