"""The operator's way back in when no administrator can log in: a temporary password and
a second factor reset from the command line."""
from __future__ import annotations

import pytest

from core.customers.errors import LoginFailed
from core.staff import members, second_factor
from tests.cli.test_cli import _app, core
from tests.factories.second_factor import enrol


def test_the_operator_resets_a_password_and_a_second_factor(cli_env):
    core(cli_env, "db", "upgrade")
    core(cli_env, "staff", "add", "--login", "boss", "--role", "admin", stdin="Admin-pass-2026\n")
    app = _app(cli_env)
    enrol(app, "boss", "Admin-pass-2026")
    assert members.login(app, "boss", "Admin-pass-2026").pending == "totp"

    result = core(cli_env, "staff", "reset-2fa", "--login", "boss")
    assert result.returncode == 0, result.stderr
    assert "Двухфакторный вход сотрудника boss сброшен" in result.stdout
    assert members.login(app, "boss", "Admin-pass-2026").pending == "enrol"

    result = core(cli_env, "staff", "reset-password", "--login", "boss")
    assert result.returncode == 0, result.stderr
    temporary = result.stdout.rsplit(": ", 1)[1].strip()
    started = members.login(app, "boss", temporary)
    assert started.pending == "password"
    assert second_factor.change_temporary_password(app, started.session_token,
                                                   "Admin-pass-2027", "Admin-pass-2027") \
        == "enrol"
    with pytest.raises(LoginFailed):
        members.login(app, "boss", "Admin-pass-2026")
    assert core(cli_env, "staff", "reset-2fa", "--login", "boss").returncode == 2
