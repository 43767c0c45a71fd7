"""The base of domain errors, and the two every context raises (bad input, no such thing).

Each context keeps its own errors beside its rules (``core.customers.errors`` and so on); each
carries a stable code and a Russian message for people.

A page shows ``str(error)``; a test asserts on the type and the message. The
message names the field or the rule, as users expect («Телефон: ...»).
"""
from __future__ import annotations


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


class ServiceUnavailable(DomainError):
    """The database cannot be reached or written (a full disk, a read-only file, a server
    that is down). Raised by the unit of work in place of the driver's error, which it logs
    with its traceback; people see that the service is unavailable, not a stack trace."""

    code = "service_unavailable"

    def __init__(self) -> None:
        super().__init__("Сервис временно недоступен: база данных не отвечает. Попробуйте "
                         "через несколько минут; если не заработает, сообщите администратору.")
