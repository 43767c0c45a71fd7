"""The peer's server: Django's own tables made in their SQLite file with a staff superuser
(``prepare``), then gunicorn, a real WSGI server (one worker process with two threads: a
single process, like the Streamlit server it is compared with).

``python -m benchmarks.django_peer.serve`` prepares (run with the environment of
``environment``); ``command(port)`` is what the benchmark starts."""
from __future__ import annotations

import os
import sys
from pathlib import Path

LOGIN = "bench-peer"
PASSWORD = "bench-peer-pass-2026"


def environment(database_url: str, work: Path) -> dict[str, str]:
    return dict(os.environ, DJANGO_SETTINGS_MODULE="benchmarks.django_peer.settings",
                PEER_DATABASE_URL=database_url, PEER_AUTH_DB=str(work / "peer-auth.sqlite3"))


def command(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "benchmarks.django_peer.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2",
            "--log-level", "warning"]


def prepare() -> None:
    """Django's tables (auth, sessions, admin log) in PEER_AUTH_DB, and the superuser."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", database="default", interactive=False, verbosity=0)
    users = get_user_model().objects.db_manager("default")
    if not users.filter(username=LOGIN).exists():
        users.create_superuser(LOGIN, "peer@office.example.ru", PASSWORD)


if __name__ == "__main__":
    prepare()
