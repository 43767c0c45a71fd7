"""Our tables are read from our database; Django's own tables stay in their SQLite file."""
from __future__ import annotations

from typing import Any

OURS = "django_peer"


class OursRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        return "ours" if model._meta.app_label == OURS else "default"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "ours" if model._meta.app_label == OURS else "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        # Nothing is ever created in our database: its schema is Alembic's.
        return db == "default" and app_label != OURS
