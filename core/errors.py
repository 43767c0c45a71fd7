"""Domain errors: each carries a stable code and a Russian message for people.

A page shows ``str(error)``; a test asserts on the type and the message. The
message names the field or the rule, as users expect («Телефон: ...»).
"""
from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    """Base of every business error. Never carries secrets in its message."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


class ValidationError(DomainError):
    """Bad input in one field. The message starts with the field's Russian label."""

    code = "invalid_input"

    def __init__(self, field_label: str, problem: str, *, field: str | None = None) -> None:
        super().__init__(f"{field_label}: {problem}", field=field)


class NotFound(DomainError):
    code = "not_found"


# --- customers -------------------------------------------------------------

class CustomerError(DomainError):
    code = "customer_error"


class PhoneTaken(CustomerError):
    code = "phone_taken"

    def __init__(self) -> None:
        super().__init__("Телефон: этот номер уже зарегистрирован", field="phone")


class EmailTaken(CustomerError):
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__("E-mail: этот адрес уже зарегистрирован", field="email")


class LoginFailed(CustomerError):
    """Same answer for an unknown login and a wrong password: no enumeration."""

    code = "login_failed"

    def __init__(self) -> None:
        super().__init__("Неверный логин или пароль")


class LoginLocked(DomainError):
    code = "login_locked"

    def __init__(self, until_text: str) -> None:
        super().__init__(
            f"Слишком много неудачных попыток входа. Вход заблокирован до {until_text}"
        )


class CabinetBlocked(CustomerError):
    code = "cabinet_blocked"

    def __init__(self) -> None:
        super().__init__(
            "Личный кабинет заблокирован. Для разблокировки обратитесь в Контакт-центр "
            "по бесплатному номеру 8 800 100 39 00"
        )


class NotActivated(CustomerError):
    code = "not_activated"

    def __init__(self) -> None:
        super().__init__("Личный кабинет ещё не активирован: введите код из SMS")


class AlreadyActivated(CustomerError):
    code = "already_activated"

    def __init__(self) -> None:
        super().__init__("Личный кабинет уже активирован")


class AlreadyBlocked(CustomerError):
    code = "already_blocked"

    def __init__(self) -> None:
        super().__init__("Личный кабинет уже заблокирован")


class NotBlocked(CustomerError):
    code = "not_blocked"

    def __init__(self) -> None:
        super().__init__("Личный кабинет не заблокирован")


class WrongPassword(CustomerError):
    code = "wrong_password"

    def __init__(self, field_label: str = "Текущий пароль") -> None:
        super().__init__(f"{field_label}: неверный пароль", field="password")


class SessionInvalid(DomainError):
    code = "session_invalid"

    def __init__(self, message: str = "Сеанс завершён, войдите снова") -> None:
        super().__init__(message)


# --- code word (contact-center identification) ----------------------------

class CodeWordError(DomainError):
    code = "code_word_error"


class CodeWordLocked(CodeWordError):
    code = "code_word_locked"

    def __init__(self) -> None:
        super().__init__(
            "Кодовое слово: проверка заблокирована после 3 неверных ответов; "
            "снять блокировку может администратор"
        )


class CodeWordNotVerified(CodeWordError):
    code = "code_word_not_verified"

    def __init__(self) -> None:
        super().__init__(
            "Разблокировка: сначала проверьте кодовое слово, которое называет клиент"
        )


# --- one-time codes (activation SMS; later payment OTPs) -------------------

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


# --- staff -----------------------------------------------------------------

class StaffError(DomainError):
    code = "staff_error"


class PermissionDenied(StaffError):
    code = "permission_denied"

    def __init__(self, what: str = "это действие") -> None:
        super().__init__(f"Недостаточно прав: {what} недоступно для вашей роли")


class StaffLoginTaken(StaffError):
    code = "staff_login_taken"

    def __init__(self) -> None:
        super().__init__("Логин: сотрудник с таким логином уже есть", field="login")


def format_until(moment: datetime) -> str:
    """«25.11.2026 14:05 (МСК)»: lockout messages say when the lock ends."""
    from core.timefmt import format_datetime_msk

    return format_datetime_msk(moment)
