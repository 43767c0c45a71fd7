"""Helpers for asserting what a service left in the database."""
from __future__ import annotations

from sqlalchemy import func, select

from core.app import App
from core.db.models import Base


def snapshot(app: App) -> dict[str, list[str]]:
    """Every row of every table, as sorted reprs: equal snapshots mean nothing changed."""
    with app.uow(write=False) as uow:
        return {table.name: sorted(repr(tuple(row)) for row in uow.session.execute(select(table)))
                for table in Base.metadata.sorted_tables}


def count(app: App, model: type) -> int:
    with app.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def all_values(app: App) -> list[str]:
    """Every non-null value of every column of every table, as text."""
    values: list[str] = []
    with app.uow(write=False) as uow:
        for table in Base.metadata.sorted_tables:
            for row in uow.session.execute(select(table)):
                values.extend(str(v) for v in row if v is not None)
    return values


def other_code(code: str) -> str:
    """A 4-digit code that is certainly not ``code``."""
    return f"{(int(code) + 1) % 10000:04d}"
