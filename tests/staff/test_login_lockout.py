"""Staff login lockouts: wrong passwords lock out the address they came from, a login is
locked for everyone only by failures from many addresses, and an admin can lift a lock."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.actors import PermissionDenied, StaffRole
from core.customers.errors import LoginFailed
from core.db.models import AuditEntry, LoginThrottle
from core.errors import NotFound
from core.security.errors import LoginLocked
from core.staff import members
from tests.factories.customers import STAFF_PASSWORD, make_staff
from tests.factories.dbstate import snapshot

WRONG = "Wrong-pass-2026"
ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.20"


@pytest.fixture
def boss(app):
    return make_staff(app, StaffRole.ADMIN, login="boss")


def _fail(app, login_name, address, times=1):
    for _ in range(times):
        with pytest.raises(LoginFailed):
            members.login(app, login_name, WRONG, address)


def _failed_logins(app):
    with app.uow(write=False) as uow:
        return [(e.actor_label, e.after) for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "staff.login_failed")
            .order_by(AuditEntry.id))]


def _throttle_rows(app, login_name):
    with app.uow(write=False) as uow:
        return uow.session.scalars(select(LoginThrottle).where(
            LoginThrottle.scope == "staff", LoginThrottle.login_key == login_name)).all()


def test_an_attacker_address_locks_only_itself_out(app, clock, boss):
    _fail(app, "boss", ATTACKER, times=5)
    with pytest.raises(LoginLocked, match="^Слишком много неудачных попыток входа. "
                                          "Вход заблокирован до "):
        members.login(app, "boss", STAFF_PASSWORD, ATTACKER)
    assert members.login(app, "boss", STAFF_PASSWORD, OFFICE).actor == boss
    clock.advance(minutes=29)
    with pytest.raises(LoginLocked):
        members.login(app, "boss", STAFF_PASSWORD, ATTACKER)
    clock.advance(minutes=1)
    assert members.login(app, "boss", STAFF_PASSWORD, ATTACKER).actor == boss


def test_one_address_retrying_after_each_lock_never_locks_the_login_for_everyone(
        app, clock, boss):
    for _ in range(6):  # 30 wrong passwords in three hours, as fast as the lock allows
        _fail(app, "boss", ATTACKER, times=5)
        assert members.login(app, "boss", STAFF_PASSWORD, OFFICE).actor == boss
        clock.advance(minutes=30)


def test_failures_from_many_addresses_lock_the_login_for_everyone(app, clock, boss):
    for n in range(4):
        _fail(app, "boss", f"203.0.113.{n + 1}", times=5)
    with pytest.raises(LoginLocked):
        members.login(app, "boss", STAFF_PASSWORD, OFFICE)
    clock.advance(minutes=30)
    assert members.login(app, "boss", STAFF_PASSWORD, OFFICE).actor == boss


def test_an_address_failing_over_many_logins_is_locked_out_of_every_login(app, boss):
    for n in range(10):  # 20 failures, never 5 on one login
        _fail(app, f"guess{n}", ATTACKER, times=2)
    with pytest.raises(LoginLocked):
        members.login(app, "boss", STAFF_PASSWORD, ATTACKER)
    assert members.login(app, "boss", STAFF_PASSWORD, OFFICE).actor == boss


# A browser on the server's own host, or every client of a proxy that does not pass the
# address on: Streamlit gives None for 127.0.0.1 and ::1, but not for «::ffff:127.0.0.1».
LOCAL = [None, "", "  ", "127.0.0.1", "::1", "::ffff:127.0.0.1"]


@pytest.mark.parametrize("unknown", LOCAL)
def test_no_address_counts_as_one_address_unknown(app, boss, unknown):
    _fail(app, "boss", None, times=3)
    _fail(app, "boss", unknown, times=2)
    with pytest.raises(LoginLocked):
        members.login(app, "boss", STAFF_PASSWORD, None)
    assert members.login(app, "boss", STAFF_PASSWORD, OFFICE).actor == boss


@pytest.mark.parametrize("local", [None, "::ffff:127.0.0.1"])
def test_failures_without_an_address_do_not_lock_every_login(app, boss, local):
    # Behind a proxy that passes no address every client is «unknown»: 25 failures over
    # five logins must not lock out the others.
    for n in range(5):
        _fail(app, f"guess{n}", local, times=5)
    assert members.login(app, "boss", STAFF_PASSWORD, local).actor == boss
    assert _failed_logins(app)[-1] == ("guess4", {"address": "unknown",
                                                 "locked": ["login_from_address"]})


def test_ipv6_addresses_of_one_network_count_together(app, boss):
    for n in range(5):
        _fail(app, "boss", f"2001:db8:0:7::{n + 1}", 1)
    with pytest.raises(LoginLocked):
        members.login(app, "boss", STAFF_PASSWORD, "2001:db8:0:7::abcd")
    assert members.login(app, "boss", STAFF_PASSWORD, "2001:db8:0:8::1").actor == boss


def test_a_failed_login_records_the_address_and_the_lock_it_set(app, boss):
    _fail(app, "boss", ATTACKER, times=5)
    _fail(app, "nobody", None)
    assert _failed_logins(app) == (
        [("boss", {"address": ATTACKER})] * 4
        + [("boss", {"address": ATTACKER, "locked": ["login_from_address"]}),
           ("nobody", {"address": "unknown"})])


def test_the_staff_list_shows_who_is_locked_and_until_when(app, clock, boss):
    make_staff(app, StaffRole.AGENT, login="agent.one")
    _fail(app, "agent.one", ATTACKER, times=5)
    people = {p.login: p for p in members.list_staff(app, boss)}
    lock = people["agent.one"].login_lock
    assert lock == members.LoginLock(until=clock.now() + timedelta(minutes=30),
                                     for_everyone=False, addresses=(ATTACKER,))
    assert people["boss"].login_lock is None
    for n in range(3):
        _fail(app, "agent.one", f"192.0.2.{n + 1}", times=5)
    lock = {p.login: p for p in members.list_staff(app, boss)}["agent.one"].login_lock
    assert lock is not None and lock.for_everyone


def test_an_admin_lifts_a_lock_for_everyone_and_it_is_audited(app, clock, boss):
    agent = make_staff(app, StaffRole.AGENT, login="agent.one")
    for n in range(4):
        _fail(app, "agent.one", f"203.0.113.{n + 1}", times=5)
    until = clock.now() + timedelta(minutes=30)
    clock.advance(minutes=1)
    members.unlock_login(app, boss, agent.staff_id)
    assert _throttle_rows(app, "agent.one") == []
    assert members.login(app, "agent.one", STAFF_PASSWORD, OFFICE).actor == agent
    with app.uow(write=False) as uow:
        entry = uow.session.scalar(select(AuditEntry)
                                   .where(AuditEntry.action == "staff.login_unlock"))
        assert (entry.staff_id, entry.actor_label, entry.result) == (boss.staff_id, "boss", "ok")
        assert entry.before == {"login": "agent.one", "locked_until": until.isoformat(),
                                "for_everyone": True,
                                "addresses": [f"203.0.113.{n + 1}" for n in range(4)]}
        assert entry.after == {"login": "agent.one", "locked_until": None}


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.FINANCE, StaffRole.MANAGER])
def test_only_an_admin_may_lift_a_lock(app, boss, role):
    someone = make_staff(app, role)
    _fail(app, "boss", ATTACKER, times=5)
    before = snapshot(app)
    with pytest.raises(PermissionDenied):
        members.unlock_login(app, someone, boss.staff_id)
    assert snapshot(app) == before
    with pytest.raises(LoginLocked):
        members.login(app, "boss", STAFF_PASSWORD, ATTACKER)


def test_lifting_the_lock_of_an_unknown_staff_member_is_refused(app, boss):
    before = snapshot(app)
    with pytest.raises(NotFound, match="^Сотрудник не найден$"):
        members.unlock_login(app, boss, 9999)
    assert snapshot(app) == before
