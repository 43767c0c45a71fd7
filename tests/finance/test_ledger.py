"""The double-entry ledger on SQLite and PostgreSQL: every journal balances, nothing is
changed or deleted, a reversal cancels exactly once."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import DBAPIError

from core.app import App
from core.db.models import LedgerEntry, LedgerJournal, Payment, Refund
from core.db.types import UTCDateTime
from core.errors import DomainError
from core.finance import ledger
from tests.factories.customers import make_staff
from tests.factories.billing import make_provider

_keys = itertools.count(1)


def _payment(session, app: App, provider_id: int, amount: int, commission: int,
             status: str = "succeeded") -> int:
    n = next(_keys)
    payment = Payment(idempotency_key=f"ledger-test-{n}-{id(session)}", request_fingerprint="f" * 64,
                      provider_id=provider_id, account_number="1234567890", amount=amount,
                      commission=commission, status=status, refunded_amount=0,
                      created_at=app.now(), updated_at=app.now())
    session.add(payment)
    session.flush()
    return payment.id


def _refund(session, app: App, payment_id: int, amount: int, staff_id: int) -> int:
    refund = Refund(payment_id=payment_id, idempotency_key=f"ledger-refund-{next(_keys)}-{id(session)}",
                    amount=amount, reason="Ошибочный платёж", status="succeeded",
                    requested_by_staff_id=staff_id, created_at=app.now())
    session.add(refund)
    session.flush()
    return refund.id


def _entries(session, journal_id: int) -> list[tuple[str, int | None, int]]:
    return [tuple(row) for row in session.execute(
        select(LedgerEntry.account, LedgerEntry.provider_id, LedgerEntry.amount)
        .where(LedgerEntry.journal_id == journal_id).order_by(LedgerEntry.id))]


def _recomputed(session) -> ledger.LedgerBalances:
    """The balances again, from every raw entry summed here in Python."""
    clearing = bank = commission = 0
    payable: dict[int, int] = {}
    for account, provider_id, amount in session.execute(
            text("SELECT account, provider_id, amount FROM ledger_entries")):
        if account == "clearing":
            clearing += amount
        elif account == "bank":
            bank += amount
        elif account == "commission_income":
            commission -= amount
        elif account == "provider_payable":
            payable[provider_id] = payable.get(provider_id, 0) - amount
    return ledger.LedgerBalances(clearing=clearing, bank=bank, commission_income=commission,
                                 payable=dict(sorted(payable.items())))


@pytest.fixture
def provider(app: App) -> int:
    return make_provider(app)


@pytest.fixture
def staff_id(app: App) -> int:
    return make_staff(app).staff_id


def test_account_names_are_the_ones_the_schema_documents():
    assert ledger.CLEARING == "clearing" and ledger.PROVIDER_PAYABLE == "provider_payable"
    assert ledger.COMMISSION_INCOME == "commission_income" and ledger.BANK == "bank"
    assert set(ledger.PAYOUT_ACCOUNTS) == {ledger.PROVIDER_PAYABLE, ledger.BANK}


def test_each_kind_posts_balanced_entries(app: App, provider: int, staff_id: int):
    at = app.now()
    with app.uow() as uow:
        s = uow.session
        payment_id = _payment(s, app, provider, 100_000, 1_500)
        refund_id = _refund(s, app, payment_id, 40_000, staff_id)
        paid = ledger.post_payment(s, payment_id=payment_id, provider_id=provider, amount=100_000,
                                   commission=1_500, at=at)
        refunded = ledger.post_refund(s, payment_id=payment_id, refund_id=refund_id,
                                      provider_id=provider, amount=40_000, at=at)
        settled = ledger.post_settlement(s, amount=50_000, at=at, memo="Выписка эквайера №7")
        paid_out = ledger.post_payout(s, provider_id=provider, amount=30_000, at=at,
                                      memo="Платёжное поручение №12")
        uow.commit()
    with app.uow(write=False) as uow:
        s = uow.session
        assert _entries(s, paid) == [("clearing", None, 101_500),
                                     ("provider_payable", provider, -100_000),
                                     ("commission_income", None, -1_500)]
        assert _entries(s, refunded) == [("provider_payable", provider, 40_000),
                                         ("clearing", None, -40_000)]
        assert _entries(s, settled) == [("bank", None, 50_000), ("clearing", None, -50_000)]
        assert _entries(s, paid_out) == [("provider_payable", provider, 30_000),
                                         ("bank", None, -30_000)]
        kinds = dict(s.execute(select(LedgerJournal.id, LedgerJournal.kind)).all())
        assert [kinds[j] for j in (paid, refunded, settled, paid_out)] == [
            "payment", "refund", "settlement", "payout"]
        journal = s.get(LedgerJournal, refunded)
        assert (journal.payment_id, journal.refund_id) == (payment_id, refund_id)
        assert s.get(LedgerJournal, settled).memo == "Выписка эквайера №7"
        for journal_id in (paid, refunded, settled, paid_out):
            assert sum(amount for _, _, amount in _entries(s, journal_id)) == 0
        got = ledger.balances(s)
        assert got == ledger.LedgerBalances(clearing=11_500, bank=20_000, commission_income=1_500,
                                            payable={provider: 30_000})
        assert got == _recomputed(s)
        result = ledger.check(s)
        assert result.problems == [] and result.ok
        assert (result.journals, result.entries) == (4, 9)


def test_a_zero_commission_writes_no_commission_entry(app: App, provider: int):
    with app.uow() as uow:
        payment_id = _payment(uow.session, app, provider, 5_000, 0)
        journal = ledger.post_payment(uow.session, payment_id=payment_id, provider_id=provider,
                                      amount=5_000, commission=0, at=app.now())
        assert _entries(uow.session, journal) == [("clearing", None, 5_000),
                                                  ("provider_payable", provider, -5_000)]


@pytest.mark.parametrize("amount, commission", [
    (0, 0), (-5, 0), (100, -1), (1.5, 0), ("100", 0), (True, 0), (100, 0.5), (None, 0)])
def test_posting_a_payment_refuses_bad_amounts(app: App, provider: int, amount, commission):
    with app.uow() as uow:
        payment_id = _payment(uow.session, app, provider, 100, 0)
        with pytest.raises(DomainError):
            ledger.post_payment(uow.session, payment_id=payment_id, provider_id=provider,
                                amount=amount, commission=commission, at=app.now())
        assert uow.session.scalar(select(func.count()).select_from(LedgerJournal)) == 0


@pytest.mark.parametrize("amount", [0, -1, 2.0, "5"])
def test_settlement_payout_and_refund_refuse_non_positive_or_non_integer_amounts(
        app: App, provider: int, staff_id: int, amount):
    at = app.now()
    with app.uow() as uow:
        s = uow.session
        payment_id = _payment(s, app, provider, 100, 0)
        refund_id = _refund(s, app, payment_id, 50, staff_id)
        with pytest.raises(DomainError):
            ledger.post_settlement(s, amount=amount, at=at, memo=None)
        with pytest.raises(DomainError):
            ledger.post_payout(s, provider_id=provider, amount=amount, at=at, memo=None)
        with pytest.raises(DomainError):
            ledger.post_refund(s, payment_id=payment_id, refund_id=refund_id,
                               provider_id=provider, amount=amount, at=at)
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_an_unbalanced_journal_is_never_written(app: App):
    with app.uow() as uow:
        with pytest.raises(AssertionError):
            ledger._write(uow.session, kind="settlement", at=app.now(),
                          lines=[(ledger.BANK, None, 100), (ledger.CLEARING, None, -99)])
        assert uow.session.scalar(select(func.count()).select_from(LedgerJournal)) == 0


def test_reversal_negates_every_entry_and_a_second_reversal_is_refused(app: App, provider: int):
    at = app.now()
    with app.uow() as uow:
        s = uow.session
        payment_id = _payment(s, app, provider, 10_000, 150)
        original = ledger.post_payment(s, payment_id=payment_id, provider_id=provider,
                                       amount=10_000, commission=150, at=at)
        reversal = ledger.reverse(s, original, at, "Платёж проведён дважды")
        assert _entries(s, reversal) == [(a, p, -x) for a, p, x in _entries(s, original)]
        journal = s.get(LedgerJournal, reversal)
        assert (journal.kind, journal.reverses_journal_id, journal.payment_id) == (
            "reversal", original, payment_id)
        with pytest.raises(DomainError, match="уже сторнирован"):
            ledger.reverse(s, original, at, "ещё раз")
        with pytest.raises(DomainError, match="сторнировать его нельзя"):
            ledger.reverse(s, reversal, at, "сторно сторно")
        with pytest.raises(DomainError, match="не найден"):
            ledger.reverse(s, 999_999, at, None)
        uow.commit()
    with app.uow(write=False) as uow:
        assert ledger.balances(uow.session) == ledger.LedgerBalances(
            clearing=0, bank=0, commission_income=0, payable={provider: 0})
        assert ledger.check(uow.session).problems == []


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entries SET amount = 0",
    "DELETE FROM ledger_entries",
    "UPDATE ledger_journals SET memo = 'исправлено'",
    "DELETE FROM ledger_journals",
])
def test_journals_and_entries_are_append_only(app: App, statement: str):
    with app.uow() as uow:
        ledger.post_settlement(uow.session, amount=1_000, at=app.now(), memo=None)
        uow.commit()
    with app.uow() as uow, pytest.raises(DBAPIError, match="append-only"):
        uow.session.execute(text(statement))
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(LedgerEntry)) == 2


def _plant_journal(session, app: App, entries: list[tuple[str, int]]) -> int:
    session.execute(text("INSERT INTO ledger_journals (kind, at, memo) VALUES ('settlement', :at, 'ручная')")
                    .bindparams(bindparam("at", type_=UTCDateTime())), {"at": app.now()})
    journal_id = session.scalar(text("SELECT max(id) FROM ledger_journals"))
    for account, amount in entries:
        session.execute(text("INSERT INTO ledger_entries (journal_id, account, amount) "
                             "VALUES (:j, :account, :amount)"),
                        {"j": journal_id, "account": account, "amount": amount})
    return journal_id


def test_check_finds_an_unbalanced_journal_and_a_journal_without_entries(app: App):
    with app.uow() as uow:
        ledger.post_settlement(uow.session, amount=1_000, at=app.now(), memo=None)
        unbalanced = _plant_journal(uow.session, app, [("bank", 500), ("clearing", -400)])
        empty = _plant_journal(uow.session, app, [])
        uow.commit()
    with app.uow(write=False) as uow:
        result = ledger.check(uow.session)
    assert not result.ok
    assert f"Журнал {unbalanced} не сбалансирован: сумма проводок 100 коп. вместо нуля." in result.problems
    assert f"Журнал {empty} без проводок." in result.problems
    # The planted settlement moved clearing by -400 but its bank side says 500.
    assert any("клиринговом счёте" in p for p in result.problems)


def test_check_finds_a_reversal_that_does_not_mirror_its_original(app: App):
    with app.uow() as uow:
        s = uow.session
        original = ledger.post_settlement(s, amount=1_000, at=app.now(), memo=None)
        s.execute(text("INSERT INTO ledger_journals (kind, at, reverses_journal_id) "
                       "VALUES ('reversal', :at, :j)")
                  .bindparams(bindparam("at", type_=UTCDateTime())), {"at": app.now(), "j": original})
        bad = s.scalar(text("SELECT max(id) FROM ledger_journals"))
        for account, amount in [("bank", 1_000), ("clearing", -1_000)]:  # same sign: doubles it
            s.execute(text("INSERT INTO ledger_entries (journal_id, account, amount) "
                           "VALUES (:j, :a, :x)"), {"j": bad, "a": account, "x": amount})
        uow.commit()
    with app.uow(write=False) as uow:
        problems = ledger.check(uow.session).problems
    assert f"Сторно {bad} не зеркально журналу {original}: проводки не противоположны по знаку и сумме." in problems


def test_check_finds_a_payment_journal_that_disagrees_with_the_payment(app: App, provider: int):
    with app.uow() as uow:
        s = uow.session
        payment_id = _payment(s, app, provider, 10_000, 100)
        ledger.post_payment(s, payment_id=payment_id, provider_id=provider, amount=9_000,
                            commission=100, at=app.now())
        declined = _payment(s, app, provider, 500, 0, status="declined")
        bad = ledger.post_payment(s, payment_id=declined, provider_id=provider, amount=500,
                                  commission=0, at=app.now())
        uow.commit()
    with app.uow(write=False) as uow:
        problems = ledger.check(uow.session).problems
    assert any(p.startswith("Остаток на клиринговом счёте 9600 коп.") and p.endswith("10100 коп.")
               for p in problems), problems
    assert f"Журнал {bad} проводит платёж {declined} в статусе «declined», а не успешный." in problems


@dataclass
class _Paid:
    payment_id: int
    provider_id: int
    amount: int
    refundable: int


_actions = st.lists(st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 2), st.integers(1, 500_000), st.integers(0, 10_000)),
    st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 100)),
    st.tuples(st.just("settle"), st.integers(1, 100)),
    st.tuples(st.just("payout"), st.integers(0, 2), st.integers(1, 100)),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
), min_size=1, max_size=25)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=_actions)
def test_random_sequences_keep_the_ledger_healthy(app: App, staff_id: int, actions):
    """Fresh providers per example; the database keeps earlier examples, so compare deltas."""
    providers = [make_provider(app) for _ in range(3)]
    at = app.now()
    with app.uow() as uow:
        s = uow.session
        before = ledger.balances(s)
        clearing = 0  # the model: payments - refunds - settlements (reversals undo their part)
        payable = {p: 0 for p in providers}
        paid: list[_Paid] = []
        journals: list[tuple[int, int, int | None]] = []  # (journal, clearing effect, provider)
        payable_effect: dict[int, int] = {}
        reversed_ids: set[int] = set()
        for action in actions:
            if action[0] == "pay":
                _, which, amount, commission = action
                provider = providers[which]
                payment_id = _payment(s, app, provider, amount, commission)
                journal = ledger.post_payment(s, payment_id=payment_id, provider_id=provider,
                                              amount=amount, commission=commission, at=at)
                paid.append(_Paid(payment_id, provider, amount, amount))
                clearing += amount + commission
                payable[provider] += amount
                journals.append((journal, amount + commission, provider))
                payable_effect[journal] = amount
            elif action[0] == "refund":
                _, index, percent = action
                open_ = [p for p in paid if p.refundable > 0]
                if not open_:
                    continue
                target = open_[index % len(open_)]
                amount = max(1, target.refundable * percent // 100)
                target.refundable -= amount
                refund_id = _refund(s, app, target.payment_id, amount, staff_id)
                journal = ledger.post_refund(s, payment_id=target.payment_id, refund_id=refund_id,
                                             provider_id=target.provider_id, amount=amount, at=at)
                clearing -= amount
                payable[target.provider_id] -= amount
                journals.append((journal, -amount, target.provider_id))
                payable_effect[journal] = -amount
            elif action[0] == "settle":
                amount = (before.clearing + clearing) * action[1] // 100
                if amount <= 0:
                    continue
                journal = ledger.post_settlement(s, amount=amount, at=at, memo="Выписка")
                clearing -= amount
                journals.append((journal, -amount, None))
            elif action[0] == "payout":
                _, which, percent = action
                provider = providers[which]
                amount = payable[provider] * percent // 100
                if amount <= 0:
                    continue
                journal = ledger.post_payout(s, provider_id=provider, amount=amount, at=at,
                                             memo="Перечисление")
                payable[provider] -= amount
                journals.append((journal, 0, provider))
                payable_effect[journal] = -amount
            else:
                candidates = [j for j in journals if j[0] not in reversed_ids]
                if not candidates:
                    continue
                journal, effect, provider = candidates[action[1] % len(candidates)]
                ledger.reverse(s, journal, at, "Ошибка")
                reversed_ids.add(journal)
                clearing -= effect
                if provider is not None:
                    payable[provider] -= payable_effect.get(journal, 0)
        after = ledger.balances(s)
        assert after.clearing - before.clearing == clearing
        for provider in providers:
            assert after.payable.get(provider, 0) == payable[provider]
        assert after == _recomputed(s)
        assert ledger.check(s).problems == []
        assert s.scalar(select(func.count()).select_from(
            select(LedgerEntry.journal_id).group_by(LedgerEntry.journal_id)
            .having(func.sum(LedgerEntry.amount) != 0).subquery())) == 0
        uow.commit()


def test_the_posting_rules_balance_and_read_the_same_on_whole_columns() -> None:
    """One rule for the services and both demo loaders: every journal sums to zero, and the
    numpy columns the scale loader passes give, row by row, the lines of a single payment."""
    import numpy as np

    from core.finance.ledger import payment_lines, refund_lines

    assert payment_lines(7, 10_000, 150) == [
        (ledger.CLEARING, None, 10_150), (ledger.PROVIDER_PAYABLE, 7, -10_000),
        (ledger.COMMISSION_INCOME, None, -150)]
    assert refund_lines(7, 2_500) == [(ledger.PROVIDER_PAYABLE, 7, 2_500),
                                      (ledger.CLEARING, None, -2_500)]
    providers, amounts, fees = np.array([3, 5]), np.array([100, 2_000]), np.array([0, 30])
    columns = payment_lines(providers, amounts, fees, no_provider=np.full(2, -1))
    for row in range(2):
        single = payment_lines(int(providers[row]), int(amounts[row]), int(fees[row]),
                               no_provider=-1)
        assert [(a, int(p[row]), int(v[row])) for a, p, v in columns] == single
        assert sum(v for _, _, v in single) == 0
