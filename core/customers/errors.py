"""Errors of customers and their cabinets: registration, login, the cabinet's state, the code word."""
from __future__ import annotations

from core.errors import DomainError


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


class CaptchaAlreadyUsed(CustomerError):
    """A solved captcha registers one cabinet: a bot may not reuse one answer."""

    code = "captcha_used"

    def __init__(self) -> None:
        super().__init__("Код с картинки: этот пример уже решён для другой регистрации, "
                         "решите новый", field="captcha")


class LoginFailed(CustomerError):
    """Same answer for an unknown login and a wrong password: no enumeration."""

    code = "login_failed"

    def __init__(self) -> None:
        super().__init__("Неверный логин или пароль")


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


class ViewOnlySession(CustomerError):
    """A staff member's «Смотреть как клиент» session tried to act."""

    code = "view_only_session"

    def __init__(self) -> None:
        super().__init__("Просмотр кабинета сотрудником: действия в нём недоступны")


class CabinetViewLinkInvalid(CustomerError):
    """«Смотреть как клиент»: the link was opened already, too late, or never issued."""

    code = "cabinet_view_link_invalid"

    def __init__(self) -> None:
        super().__init__("Ссылка на просмотр кабинета недействительна или устарела: "
                         "откройте кабинет клиента заново из его карточки")


class SessionInvalid(DomainError):
    code = "session_invalid"

    def __init__(self, message: str = "Сеанс завершён, войдите снова") -> None:
        super().__init__(message)


class SessionExpired(SessionInvalid):
    """The session saw no activity for too long; ``session_id`` names it to end it."""

    code = "session_expired"

    def __init__(self, session_id: int) -> None:
        super().__init__("Сеанс завершён после 30 минут бездействия, войдите снова")
        self.session_id = session_id


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
