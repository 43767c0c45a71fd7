"""How many times this process has run the entry script: a test hook, since a login must
cost one script run (tests/dashboard/test_login_runs.py, tests/cabinet/test_login_runs.py:
each app's entry script notes its runs). AppTest runs the script in the
test's own process, so the test reads the count here."""
from __future__ import annotations

_runs = 0


def note() -> None:
    global _runs
    _runs += 1


def count() -> int:
    return _runs
