"""`python -m core demo` only into an empty database, and the operator's start
`python -m core serve` (checked with --check: the checks run, nothing is launched)."""
from __future__ import annotations

import sqlite3

from core.cli import CABINET, DASHBOARD
from tests.cli.test_cli import core

STAFF_PASSWORD = "Real-admin-2026\n"


def _logins(env: dict[str, str]) -> list[str]:
    path = env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return sorted(login for (login,) in conn.execute("SELECT login FROM staff_users"))


def test_demo_if_empty_skips_a_database_with_real_staff_and_adds_no_demo_login(cli_env):
    core(cli_env, "db", "upgrade")
    assert core(cli_env, "staff", "add", "--login", "ivanova", "--role", "admin",
                stdin=STAFF_PASSWORD).returncode == 0
    skipped = core(cli_env, "demo", "--customers", "20", "--seed", "1", "--if-empty")
    assert skipped.returncode == 0, skipped.stderr
    assert "Демо-данные пропущены (--if-empty): в базе уже есть сотрудники: 1, клиенты: 0" \
        in skipped.stdout
    refused = core(cli_env, "demo", "--customers", "20", "--seed", "1")
    assert refused.returncode == 2
    assert "Демо-данные добавляются только в пустую базу" in refused.stderr
    assert _logins(cli_env) == ["ivanova"]


def test_serve_refuses_an_unmigrated_database_and_names_db_upgrade(cli_env):
    result = core(cli_env, "serve", "--check")
    assert result.returncode == 2
    assert "не обновлена до последней миграции" in result.stderr
    assert "python -m core db upgrade" in result.stderr


def test_serve_without_staff_says_how_to_create_the_first_admin(cli_env):
    core(cli_env, "db", "upgrade")
    result = core(cli_env, "serve", "--check")
    assert result.returncode == 2
    assert "нет ни одного действующего сотрудника" in result.stderr
    assert "python -m core staff add --login" in result.stderr and "--role admin" in result.stderr


def test_serve_refuses_demo_logins_until_they_are_switched_off(cli_env):
    core(cli_env, "db", "upgrade")
    assert core(cli_env, "demo", "--customers", "5", "--seed", "1").returncode == 0
    assert core(cli_env, "staff", "add", "--login", "boss", "--role", "admin",
                stdin=STAFF_PASSWORD).returncode == 0
    refused = core(cli_env, "serve", "--check")
    assert refused.returncode == 2
    assert "демо-логины с паролями из README: admin, agent, finance, manager" in refused.stderr
    assert "python -m core staff deactivate --login admin" in refused.stderr
    for login in ("admin", "agent", "finance", "manager"):
        assert core(cli_env, "staff", "deactivate", "--login", login).returncode == 0
    same = core(cli_env, "serve", "--check", "--port", "8611", "--cabinet-port", "8611")
    assert same.returncode == 2 and "на одном порту 8611" in same.stderr
    ready = core(cli_env, "serve", "--check", "--port", "8611", "--cabinet-port", "8612")
    assert ready.returncode == 0, ready.stderr
    assert "Проверки пройдены" in ready.stdout
    assert "-m core worker" in ready.stdout
    # The dashboard's entry point, the one `make run` serves.
    assert f"-m streamlit run {DASHBOARD} --server.port 8611" in ready.stdout
    assert DASHBOARD.exists() and DASHBOARD.parent.name == "dashboard"
    # The customer's cabinet beside it, on its own port.
    assert f"-m streamlit run {CABINET} --server.port 8612" in ready.stdout
    assert CABINET.exists() and CABINET.parent.name == "cabinet"
