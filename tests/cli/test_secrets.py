from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import core.secrets as core_secrets
from core.secrets import load_or_create

ROOT = Path(__file__).resolve().parents[2]


def test_secrets_are_generated_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("STAFF_COOKIE_KEY", raising=False)
    monkeypatch.delenv("APP_HMAC_KEY", raising=False)
    path = tmp_path / "secrets.toml"
    first = load_or_create(path)
    assert len(first.cookie_key) >= 32 and len(first.hmac_key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path) == first  # read back, not regenerated


def test_the_environment_overrides_the_file(tmp_path, monkeypatch):
    path = tmp_path / "secrets.toml"
    load_or_create(path)
    monkeypatch.setenv("STAFF_COOKIE_KEY", "k" * 40)
    monkeypatch.setenv("APP_HMAC_KEY", "h" * 40)
    loaded = load_or_create(path)
    assert loaded.cookie_key == "k" * 40 and loaded.hmac_key == b"h" * 40


def test_the_secrets_file_is_git_ignored_and_no_key_is_in_the_code():
    ignored = subprocess.run(["git", "check-ignore", ".streamlit/secrets.toml"], cwd=ROOT,
                             capture_output=True, text=True)
    assert ignored.returncode == 0
    tracked = subprocess.run(["git", "grep", "-nE", "cookie_key *= *['\"][A-Za-z0-9_-]{20,}",
                              "--", "core", "dashboard"], cwd=ROOT, capture_output=True, text=True)
    assert tracked.stdout == ""


def test_the_secrets_file_is_never_readable_by_others_while_keys_are_in_it(tmp_path, monkeypatch):
    monkeypatch.delenv("STAFF_COOKIE_KEY", raising=False)
    monkeypatch.delenv("APP_HMAC_KEY", raising=False)
    path = tmp_path / "secrets.toml"
    seen: list[int] = []
    real_token = core_secrets.secrets.token_urlsafe

    def token(n: int) -> str:  # each key is made after the file was opened for it
        seen.append(stat.S_IMODE(path.stat().st_mode) if path.exists() else -1)
        return real_token(n)

    monkeypatch.setattr(core_secrets.secrets, "token_urlsafe", token)
    previous = os.umask(0o022)
    try:
        load_or_create(path)
    finally:
        os.umask(previous)
    assert seen == [0o600, 0o600]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_secrets_file_readable_by_others_is_narrowed_with_a_warning(
        tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("STAFF_COOKIE_KEY", raising=False)
    monkeypatch.delenv("APP_HMAC_KEY", raising=False)
    path = tmp_path / "secrets.toml"
    first = load_or_create(path)
    os.chmod(path, 0o644)
    capsys.readouterr()
    assert load_or_create(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    err = capsys.readouterr().err
    assert str(path) in err and "0644" in err and "0600" in err
    load_or_create(path)
    assert capsys.readouterr().err == ""  # private now: nothing more to say


def test_processes_starting_at_once_on_a_fresh_install_share_one_set_of_keys(
        tmp_path, monkeypatch):
    """Two dashboards (or a dashboard and the worker) started together with no secrets
    file: before, each generated and appended its own keys (codes and cookies of one
    failed in the other, and the file held every name twice, refused at the next start)."""
    import threading

    monkeypatch.delenv("STAFF_COOKIE_KEY", raising=False)
    monkeypatch.delenv("APP_HMAC_KEY", raising=False)
    path = tmp_path / "secrets.toml"
    starts = threading.Barrier(6)
    looked = threading.local()
    got: list[core_secrets.Secrets] = []
    real_exists = Path.exists

    def exists_then_wait(self):  # type: ignore[no-untyped-def]
        found = real_exists(self)
        if self == path and not getattr(looked, "once", False):
            looked.once = True
            starts.wait(timeout=10)  # every process has looked before any writes
        return found

    monkeypatch.setattr(Path, "exists", exists_then_wait)
    threads = [threading.Thread(target=lambda: got.append(load_or_create(path)))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    monkeypatch.undo()
    assert len(got) == 6 and len(set(got)) == 1
    assert load_or_create(path) == got[0]  # the file parses: each name once
    assert path.read_text().count("cookie_key") == 1
