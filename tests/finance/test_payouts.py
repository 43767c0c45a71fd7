"""Payout registries: a provider's day = payments that succeeded that day minus refunds
completed that day; producing it moves the ledger once and only once."""
from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry, LedgerEntry, LedgerJournal, Payment, Payout, Provider
from core.actors import PermissionDenied, StaffRole
from core.errors import ValidationError
from core.paging import PageRequest
from core.finance import ledger, payouts
from core.payments import refunds
from core.timefmt import moscow_date
from tests.factories.customers import make_staff
from tests.factories.payment_flow import DECLINED_CARD, pay_invoice, payer

FORMULAS = ('=HYPERLINK("http://x","y")', "+1", "-1", "@x", "\t=1")


def _payable(app, provider_id):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return ledger.balances(uow.session).payable.get(provider_id, 0)


def _ledger_ok(app):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        result = ledger.check(uow.session)
    assert result.ok, result.problems


def _payment(app, payment_id):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.get(Payment, payment_id)


@pytest.fixture
def day_one(app, clock):  # type: ignore[no-untyped-def]
    """Day D (Moscow): two payments and a partial refund for provider A, a declined payment
    for A, a payment for provider B. Then the clock moves to D+1."""
    finance = make_staff(app, StaffRole.FINANCE)
    day = moscow_date(clock.now())
    first = payer(app, total_due=150_000)
    a = first.provider_id
    second = payer(app, total_due=80_000, provider_id=a)
    declined = payer(app, total_due=55_000, provider_id=a)
    other = payer(app, total_due=40_000)
    p1 = pay_invoice(app, first).id
    p2 = pay_invoice(app, second).id
    pay_invoice(app, declined, DECLINED_CARD)
    p3 = pay_invoice(app, other).id
    refunds.refund(app, finance, p1, "200,00", "Ошибка в сумме")
    clock.advance(days=1)
    return {"day": day, "a": a, "b": other.provider_id, "p1": p1, "p2": p2, "p3": p3,
            "finance": finance, "second": second}


def test_preview_sums_the_days_payments_minus_its_refunds_per_provider(app, day_one):
    rows = {p.provider_id: p for p in payouts.preview(app, day_one["finance"], day_one["day"])}
    assert set(rows) == {day_one["a"], day_one["b"]}  # the declined payment adds nothing
    a = rows[day_one["a"]]
    p1, p2 = _payment(app, day_one["p1"]), _payment(app, day_one["p2"])
    assert (a.payments_count, a.payments_total) == (2, 230_000)
    assert (a.refunds_count, a.refunds_total) == (1, 20_000)
    assert a.commission_total == p1.commission + p2.commission > 0
    assert a.net == 210_000 and a.can_produce and a.produced is None
    assert sorted((x.operation, x.payment_id, x.amount) for x in a.lines) == sorted([
        ("payment", p1.id, 150_000), ("payment", p2.id, 80_000), ("refund", p1.id, -20_000)])
    assert rows[day_one["b"]].net == 40_000


def test_produce_pays_the_net_out_of_the_providers_payable(app, day_one):
    a = day_one["a"]
    before = _payable(app, a)
    assert before == 230_000 - 20_000  # everything A is owed so far is day D's
    view = payouts.produce(app, day_one["finance"], day_one["day"], a)
    assert (view.payments_count, view.payments_total, view.refunds_total,
            view.net_amount) == (2, 230_000, 20_000, 210_000)
    assert _payable(app, a) == before - view.net_amount == 0
    _ledger_ok(app)
    with app.uow(write=False) as uow:
        s = uow.session
        journal = s.get(LedgerJournal, view.journal_id)
        assert journal.kind == ledger.KIND_PAYOUT
        entries = sorted((e.account, e.provider_id, e.amount) for e in s.scalars(
            select(LedgerEntry).where(LedgerEntry.journal_id == view.journal_id)))
        assert entries == [(ledger.BANK, None, -210_000), (ledger.PROVIDER_PAYABLE, a, 210_000)]
        row = s.get(Payout, view.id)
        assert (row.staff_id, row.commission_total) == (day_one["finance"].staff_id,
                                                        view.commission_total)
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "payout.produce")).one()
        assert entry.staff_id == day_one["finance"].staff_id
        assert entry.after["net"] == 210_000 and entry.after["payout_id"] == view.id
    # The provider B is untouched; the preview shows A's payout as produced.
    assert _payable(app, day_one["b"]) == 40_000
    shown = {p.provider_id: p for p in payouts.preview(app, day_one["finance"], day_one["day"])}
    assert shown[a].produced == view and not shown[a].can_produce


def test_other_days_payments_and_refunds_go_to_their_own_day(app, clock, day_one):
    a, finance = day_one["a"], day_one["finance"]
    d1 = day_one["day"] + timedelta(days=1)
    later = payer(app, total_due=60_000, provider_id=a)
    p5 = pay_invoice(app, later).id
    refunds.refund(app, finance, day_one["p2"], "300,00", "Переплата")  # a day-D payment
    first = payouts.produce(app, finance, day_one["day"], a)
    assert first.net_amount == 210_000  # neither p5 nor the later refund
    clock.advance(days=1)
    second = payouts.produce(app, finance, d1, a)
    assert (second.payments_count, second.payments_total, second.refunds_total) == \
        (1, 60_000, 30_000)
    assert p5 in {x.payment_id for x in payouts.preview(app, finance, d1, a)[0].lines}
    # Day by day the payouts pay out everything the ledger says A is owed.
    assert _payable(app, a) == 0
    _ledger_ok(app)


def test_a_day_that_is_not_over_cannot_be_produced(app, day_one):
    today = moscow_date(app.now())
    with pytest.raises(ValidationError, match="^День: реестр формируется только за прошедший"):
        payouts.produce(app, day_one["finance"], today, day_one["a"])


def test_a_day_whose_refunds_exceed_its_payments_is_not_produced(app, clock, day_one):
    finance = day_one["finance"]
    refunds.refund(app, finance, day_one["p3"], "400,00", "Отказ от услуги")
    d1 = day_one["day"] + timedelta(days=1)
    clock.advance(days=1)
    (b,) = payouts.preview(app, finance, d1, day_one["b"])
    assert b.net == -40_000 and not b.can_produce
    with pytest.raises(payouts.NothingToPay, match="сумма к перечислению -400,00"):
        payouts.produce(app, finance, d1, day_one["b"])
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Payout)) == 0


def test_a_second_payout_for_the_same_day_and_provider_is_refused(app, day_one):
    first = payouts.produce(app, day_one["finance"], day_one["day"], day_one["a"])
    admin = make_staff(app, StaffRole.ADMIN)
    with pytest.raises(payouts.AlreadyProduced,
                       match=f"уже сформирован \\(реестр № {first.id}\\)"):
        payouts.produce(app, admin, day_one["day"], day_one["a"])
    assert _payable(app, day_one["a"]) == 0  # paid once
    _ledger_ok(app)


def test_two_payouts_at_once_produce_exactly_one(app, day_one):
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]
    other = make_staff(app, StaffRole.FINANCE)

    def run(index: int, actor) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            outcomes[index] = payouts.produce(app, actor, day_one["day"], day_one["a"])
        except Exception as error:  # noqa: BLE001 - the test looks at what it was
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i, actor))
               for i, actor in enumerate((day_one["finance"], other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    views = [o for o in outcomes if isinstance(o, payouts.PayoutView)]
    errors = [o for o in outcomes if not isinstance(o, payouts.PayoutView)]
    assert len(views) == 1 and len(errors) == 1, outcomes
    assert isinstance(errors[0], payouts.AlreadyProduced)
    with app.uow(write=False) as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(Payout)) == 1
        assert s.scalar(select(func.count()).select_from(LedgerJournal)
                        .where(LedgerJournal.kind == ledger.KIND_PAYOUT)) == 1
    assert _payable(app, day_one["a"]) == 0
    _ledger_ok(app)


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.MANAGER])
def test_agents_and_managers_have_no_payouts(app, day_one, role):
    view = payouts.produce(app, day_one["finance"], day_one["day"], day_one["a"])
    actor = make_staff(app, role)
    calls = [lambda: payouts.preview(app, actor, day_one["day"]),
             lambda: payouts.produce(app, actor, day_one["day"], day_one["b"]),
             lambda: payouts.list_payouts(app, actor, PageRequest()),
             lambda: payouts.payout_file(app, actor, view.id, "csv"),
             lambda: payouts.export_payouts(app, actor)]
    for call in calls:
        with pytest.raises(PermissionDenied, match="^Недостаточно прав: реестры перечислений"):
            call()
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Payout)) == 1


def test_list_filters_by_day_and_provider(app, day_one):
    finance = day_one["finance"]
    a = payouts.produce(app, finance, day_one["day"], day_one["a"])
    b = payouts.produce(app, finance, day_one["day"], day_one["b"])
    page = payouts.list_payouts(app, finance, PageRequest())
    assert {v.id for v in page.items} == {a.id, b.id} and page.total == 2
    only = payouts.list_payouts(app, finance, PageRequest(), provider_id=day_one["b"])
    assert [v.id for v in only.items] == [b.id]
    later = day_one["day"] + timedelta(days=1)
    assert payouts.list_payouts(app, finance, PageRequest(), later, later).total == 0
    with pytest.raises(ValidationError, match="^Период: дата «с» позже даты «по»"):
        payouts.list_payouts(app, finance, PageRequest(), later, day_one["day"])


def _rename_provider(app, provider_id, name):  # type: ignore[no-untyped-def]
    with app.uow() as uow:
        uow.session.get(Provider, provider_id).name = name
        uow.commit()


def _money(text: str) -> int:
    return int(text.replace(",", "").replace(" ", ""))


def test_the_csv_registry_adds_up_to_the_net_and_neutralises_formulas(app, day_one):
    _rename_provider(app, day_one["a"], FORMULAS[0])
    view = payouts.produce(app, day_one["finance"], day_one["day"], day_one["a"])
    data = payouts.payout_file(app, day_one["finance"], view.id, "csv")
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["№ платежа", "Дата и время (МСК)", "Лицевой счёт", "Сумма", "Комиссия",
                       "RRN", "Операция"]
    lines, totals = rows[1:-3], {r[0]: r for r in rows[-3:]}
    assert len(lines) == 3
    assert sum(_money(r[3]) for r in lines) == view.net_amount == 210_000
    assert [r[3] for r in lines if r[6].startswith("возврат")] == ["-200,00"]
    assert _money(totals["Итого платежей"][3]) == view.payments_total
    assert _money(totals["Итого возвратов"][3]) == -view.refunds_total
    assert _money(totals["К перечислению"][3]) == view.net_amount
    assert totals["К перечислению"][2].startswith("'" + FORMULAS[0])
    p1 = _payment(app, day_one["p1"])
    assert [str(p1.id), p1.account_number, p1.rrn] == [lines[0][0], lines[0][2], lines[0][5]]
    with app.uow(write=False) as uow:
        entry = uow.session.scalars(select(AuditEntry)
                                    .where(AuditEntry.action == "payout.export")).one()
        assert entry.after == {"payout_id": view.id, "rows": 3, "format": "csv"}


@pytest.mark.parametrize("name", FORMULAS)
def test_the_xlsx_registry_adds_up_to_the_net_and_keeps_text_as_text(app, day_one, name):
    _rename_provider(app, day_one["a"], name)
    view = payouts.produce(app, day_one["finance"], day_one["day"], day_one["a"])
    data = payouts.payout_file(app, day_one["finance"], view.id, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [[c for c in row] for row in sheet.iter_rows()]
    assert [c.value for c in rows[0]] == [c.title for c in payouts.FILE_COLUMNS]
    assert all(c.data_type != "f" for row in rows for c in row)
    lines, totals = rows[1:-3], {r[0].value: r for r in rows[-3:]}
    assert round(sum(r[3].value for r in lines) * 100) == view.net_amount
    assert round(totals["К перечислению"][3].value * 100) == view.net_amount
    assert round(totals["Итого возвратов"][3].value * 100) == -view.refunds_total
    cell = totals["К перечислению"][2]
    assert cell.data_type == "s" and cell.value.startswith(name)


def test_payout_file_refuses_an_unknown_format_and_payout(app, day_one):
    view = payouts.produce(app, day_one["finance"], day_one["day"], day_one["a"])
    with pytest.raises(ValidationError, match="^Формат файла"):
        payouts.payout_file(app, day_one["finance"], view.id, "pdf")  # type: ignore[arg-type]
    with pytest.raises(payouts.NotFound, match="Реестр перечислений № 999 не найден"):
        payouts.payout_file(app, day_one["finance"], 999, "csv")


def test_producing_for_an_unknown_provider_names_the_field(app, day_one):
    with pytest.raises(payouts.NotFound, match="^Поставщик: поставщик № 9999 не найден"):
        payouts.produce(app, day_one["finance"], day_one["day"], 9999)
    with pytest.raises(ValidationError, match="^День: выберите дату"):
        payouts.produce(app, day_one["finance"], "2026-11-25", day_one["a"])  # type: ignore[arg-type]
