"""Contact center: code word checks, blocking and unblocking by staff."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, CabinetBlock
from core.customers.rules import CabinetStatus
from core.customers.errors import AlreadyBlocked, CodeWordLocked, CodeWordNotVerified, NotBlocked
from core.actors import PermissionDenied
from core.errors import ValidationError
from core.paging import PageRequest
from core.staff import audit
from core.customers import contact_center as cc
from core.staff.audit import AuditFilter
from tests.factories.customers import CODE_WORD, make_staff, register_and_activate
from tests.factories.dbstate import count, snapshot

REASON = "Клиент сообщил о краже телефона"


@pytest.fixture
def customer_id(app):
    return register_and_activate(app).customer_id




@pytest.fixture
def blocked(app, agent, customer_id):
    cc.block(app, agent, customer_id, REASON)
    return customer_id


def _blocks(app, customer_id):
    with app.uow(write=False) as uow:
        return [(b.lifted_at, b.lifted_by_staff_id, b.lift_method, b.lift_reason)
                for b in uow.session.scalars(select(CabinetBlock).where(
                    CabinetBlock.customer_id == customer_id).order_by(CabinetBlock.id))]


def _status(app, admin, customer_id):
    return cc.open_customer_card(app, admin, customer_id).status


def _unblock_is_refused(app, agent, admin, customer_id) -> None:  # type: ignore[no-untyped-def]
    """The card offers no unblock by code word, and one tried anyway changes nothing."""
    assert not cc.open_customer_card(app, agent, customer_id).can_unblock_by_code_word
    before = snapshot(app)
    with pytest.raises(CodeWordNotVerified):
        cc.unblock(app, agent, customer_id)
    assert snapshot(app) == before
    assert _status(app, admin, customer_id) is CabinetStatus.BLOCKED


@pytest.mark.parametrize("answer", [CODE_WORD, "ромашка", "  РОМАШКА ", "Ромашка"])
def test_right_code_word_is_accepted_however_it_is_typed(app, agent, customer_id, answer):
    result = cc.verify_code_word(app, agent, customer_id, answer)
    assert (result.correct, result.attempts_left, result.locked) == (True, 3, False)


def test_three_wrong_code_words_lock_the_checks(app, agent, admin, customer_id):
    left = [cc.verify_code_word(app, agent, customer_id, w).attempts_left
            for w in ("Тюльпан", "Роза", "Лилия")]
    assert left == [2, 1, 0]
    before = snapshot(app)
    for answer in (CODE_WORD, "Тюльпан"):
        with pytest.raises(CodeWordLocked) as error:
            cc.verify_code_word(app, agent, customer_id, answer)
        assert str(error.value).startswith("Кодовое слово:")
    assert snapshot(app) == before
    card = cc.open_customer_card(app, admin, customer_id)
    assert (card.code_word_locked, card.code_word_attempts_left) == (True, 0)


def test_admin_clears_the_code_word_lock_with_a_reason(app, agent, admin, customer_id):
    for word in ("Тюльпан", "Роза", "Лилия"):
        cc.verify_code_word(app, agent, customer_id, word)
    before = snapshot(app)
    with pytest.raises(PermissionDenied):
        cc.clear_code_word_lock(app, agent, customer_id, "Клиент подтвердил паспорт")
    with pytest.raises(ValidationError, match="^Причина:"):
        cc.clear_code_word_lock(app, admin, customer_id, "   ")
    assert snapshot(app) == before
    cc.clear_code_word_lock(app, admin, customer_id, "Клиент подтвердил паспорт")
    assert cc.verify_code_word(app, agent, customer_id, CODE_WORD).correct
    assert cc.verify_code_word(app, agent, customer_id, "Роза").attempts_left == 2


@pytest.mark.parametrize("answer", ["", "   ", "ab", "x" * 10_000])
def test_unusable_code_word_answer_is_refused_and_not_counted(app, agent, customer_id, answer):
    before = snapshot(app)
    with pytest.raises(ValidationError, match="^Кодовое слово:"):
        cc.verify_code_word(app, agent, customer_id, answer)
    assert snapshot(app) == before


def test_staff_block_is_derived_from_its_row(app, agent, admin, blocked):
    card = cc.open_customer_card(app, admin, blocked)
    assert card.status is CabinetStatus.BLOCKED
    assert (card.current_block.blocked_by, card.current_block.reason) == (
        f"Сотрудник {agent.login}", REASON)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_staff_block_needs_a_reason_and_changes_nothing_without_one(app, agent, customer_id,
                                                                    reason):
    before = snapshot(app)
    with pytest.raises(ValidationError, match="^Причина блокировки:"):
        cc.block(app, agent, customer_id, reason)
    assert snapshot(app) == before


def test_blocking_twice_is_refused(app, agent, blocked):
    before = snapshot(app)
    with pytest.raises(AlreadyBlocked):
        cc.block(app, agent, blocked, "Ещё раз")
    assert snapshot(app) == before


def test_agent_cannot_unblock_without_a_code_word_check(app, agent, blocked):
    before = snapshot(app)
    with pytest.raises(CodeWordNotVerified) as error:
        cc.unblock(app, agent, blocked)
    assert str(error.value).startswith("Разблокировка:")
    assert snapshot(app) == before


def test_wrong_code_word_does_not_allow_unblock(app, agent, blocked):
    assert not cc.verify_code_word(app, agent, blocked, "Тюльпан").correct
    with pytest.raises(CodeWordNotVerified):
        cc.unblock(app, agent, blocked)
    assert count(app, CabinetBlock) == 1 and _blocks(app, blocked)[0][0] is None


def test_unblock_after_a_right_code_word_lifts_the_block(app, clock, agent, admin, blocked):
    cc.verify_code_word(app, agent, blocked, CODE_WORD)
    clock.advance(minutes=2)
    assert cc.open_customer_card(app, agent, blocked).can_unblock_by_code_word
    cc.unblock(app, agent, blocked, "Клиент нашёл телефон")
    assert _blocks(app, blocked) == [
        (clock.now(), agent.staff_id, "code_word", "Клиент нашёл телефон")]
    assert _status(app, admin, blocked) is CabinetStatus.ACTIVE
    with pytest.raises(NotBlocked):
        cc.unblock(app, agent, blocked)


def test_code_word_check_is_single_use(app, agent, blocked):
    cc.verify_code_word(app, agent, blocked, CODE_WORD)
    cc.unblock(app, agent, blocked)
    cc.block(app, agent, blocked, "Повторная блокировка")
    with pytest.raises(CodeWordNotVerified):
        cc.unblock(app, agent, blocked)


def test_check_by_one_agent_does_not_let_another_unblock(app, agent, blocked):
    other = make_staff(app)
    cc.verify_code_word(app, agent, blocked, CODE_WORD)
    with pytest.raises(CodeWordNotVerified):
        cc.unblock(app, other, blocked)
    cc.unblock(app, agent, blocked)


def test_code_word_check_older_than_fifteen_minutes_does_not_count(app, clock, agent, blocked):
    cc.verify_code_word(app, agent, blocked, CODE_WORD)
    clock.advance(minutes=15, seconds=1)
    with pytest.raises(CodeWordNotVerified):
        cc.unblock(app, agent, blocked)


def test_admin_unblock_needs_admin_role_and_a_reason(app, agent, admin, blocked):
    before = snapshot(app)
    with pytest.raises(PermissionDenied):
        cc.admin_unblock(app, agent, blocked, "Решение руководителя")
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(ValidationError, match="^Причина разблокировки:"):
            cc.admin_unblock(app, admin, blocked, reason)
    assert snapshot(app) == before
    cc.admin_unblock(app, admin, blocked, "Решение руководителя")
    (lifted_at, by, method, why), = _blocks(app, blocked)
    assert (by, method, why) == (admin.staff_id, "admin_override", "Решение руководителя")
    assert lifted_at is not None and _status(app, admin, blocked) is CabinetStatus.ACTIVE


def _staff_actions(app, agent, admin, customer_id):
    """(action, audit action name, who, reason) in an order that makes each one legal."""
    return [
        (lambda: cc.open_customer_card(app, agent, customer_id), "customer.card_view",
         agent, None),
        (lambda: cc.block(app, agent, customer_id, REASON), "customer.block", agent, REASON),
        (lambda: cc.verify_code_word(app, agent, customer_id, CODE_WORD),
         "customer.code_word_check", agent, None),
        (lambda: cc.unblock(app, agent, customer_id, "Звонил сам"), "customer.unblock", agent,
         "Звонил сам"),
        (lambda: cc.block(app, admin, customer_id, "Снова"), "customer.block", admin, "Снова"),
        (lambda: cc.admin_unblock(app, admin, customer_id, "Ошибка"),
         "customer.unblock_override", admin, "Ошибка"),
        (lambda: cc.add_note(app, agent, customer_id, "Текст"), "customer.note_add", agent,
         None),
    ]


def test_every_staff_action_writes_exactly_one_audit_row(app, agent, admin, customer_id):
    for action, name, who, reason in _staff_actions(app, agent, admin, customer_id):
        before = count(app, AuditEntry)
        action()
        assert count(app, AuditEntry) == before + 1, name
        row = audit.list_entries(app, admin, AuditFilter(), PageRequest(1, 10)).items[0]
        assert (row.action, row.actor, row.customer_id, row.reason) == (
            name, f"Сотрудник {who.login}", customer_id, reason)
    with app.uow(write=False) as uow:
        staff_ids = uow.session.scalars(select(AuditEntry.staff_id).where(
            AuditEntry.customer_id == customer_id, AuditEntry.staff_id.is_not(None))).all()
    assert set(staff_ids) == {agent.staff_id, admin.staff_id}
    own = audit.list_entries(app, agent, AuditFilter(), PageRequest(1, 25)).items
    assert {r.actor for r in own} == {f"Сотрудник {agent.login}"} and len(own) == 5


def test_a_right_check_made_before_three_wrong_answers_does_not_unblock(app, agent, admin,
                                                                        blocked):
    assert cc.verify_code_word(app, agent, blocked, CODE_WORD).correct
    other = make_staff(app)
    for word in ("Тюльпан", "Роза", "Лилия"):
        cc.verify_code_word(app, other, blocked, word)
    _unblock_is_refused(app, agent, admin, blocked)


def test_one_wrong_answer_after_a_right_check_makes_the_check_stale(app, agent, admin,
                                                                   blocked):
    cc.verify_code_word(app, agent, blocked, CODE_WORD)
    cc.verify_code_word(app, agent, blocked, "Тюльпан")
    with pytest.raises(CodeWordNotVerified):
        cc.unblock(app, agent, blocked)
    assert _status(app, admin, blocked) is CabinetStatus.BLOCKED
    cc.verify_code_word(app, agent, blocked, CODE_WORD)  # a new right answer counts again
    cc.unblock(app, agent, blocked)
    assert _status(app, admin, blocked) is CabinetStatus.ACTIVE


def test_a_check_made_while_the_cabinet_was_active_does_not_unblock_a_later_block(
        app, clock, agent, admin, customer_id):
    cc.verify_code_word(app, agent, customer_id, CODE_WORD)
    clock.advance(minutes=1)
    cc.block(app, agent, customer_id, REASON)
    _unblock_is_refused(app, agent, admin, customer_id)


def test_a_check_made_for_one_block_does_not_unblock_the_next(app, clock, agent, admin,
                                                              blocked):
    cc.verify_code_word(app, agent, blocked, CODE_WORD)
    cc.admin_unblock(app, admin, blocked, "Решение руководителя")
    cc.block(app, agent, blocked, "Повторная блокировка")
    with pytest.raises(CodeWordNotVerified):
        cc.unblock(app, agent, blocked)
    assert _status(app, admin, blocked) is CabinetStatus.BLOCKED
