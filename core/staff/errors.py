"""Errors of staff accounts."""
from __future__ import annotations

from core.errors import DomainError


class StaffError(DomainError):
    code = "staff_error"


class StaffLoginTaken(StaffError):
    code = "staff_login_taken"

    def __init__(self) -> None:
        super().__init__("Логин: сотрудник с таким логином уже есть", field="login")
