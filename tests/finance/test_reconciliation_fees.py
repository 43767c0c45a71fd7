"""Issue 15, point 7: the bank's commission and net in a run, the tariff check and the
day's payout against ours and the booked settlement; the CSV export of a run. Real
payments (``tests.finance.scenario``), on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from collections import Counter

import openpyxl
import pytest
from sqlalchemy import select

from core.db.models import AuditEntry, Payment, ReconciliationRun, Refund
from core.finance import reconciliation as rec, run_export, settlement
from core.finance.bank_profile import from_dict
from core.finance.bank_registry import HEADER, OPERATION_WORDS, write_registry_csv
from core.paging import PageRequest
from core.payments import gateway as g, machine
from core.timefmt import MOSCOW, as_utc
from tests.finance import scenario

RATE_BP = 180  # 1.8 %, the tariff of the profile and of the bank's file
WRONG_BY = 100  # kopecks the bank overcharged on one line


def _tariff(kopecks: int) -> int:
    return (kopecks * RATE_BP + 5_000) // 10_000


def _fee(line: g.SettlementLine) -> int:
    return _tariff(line.amount_kopecks) if line.operation is g.Operation.PAYMENT else 0


def _rubles(kopecks: int) -> str:
    return f"{kopecks // 100},{kopecks % 100:02d}"


def _fee_file(lines: list[g.SettlementLine], wrong_txn: str) -> bytes:
    """Our columns plus the bank's «Комиссия» and «Сумма к зачислению»; the line of
    ``wrong_txn`` carries WRONG_BY more commission than the tariff (and less net)."""
    rows = [";".join((*HEADER, "Комиссия", "Сумма к зачислению"))]
    for x in lines:
        fee = _fee(x) + (WRONG_BY if x.gateway_txn_id == wrong_txn
                         and x.operation is g.Operation.PAYMENT else 0)
        when = as_utc(x.time).astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M:%S")
        rows.append(";".join((when, OPERATION_WORDS[x.operation], x.gateway_txn_id, x.rrn,
                              x.masked_pan, _rubles(x.amount_kopecks), _rubles(fee),
                              _rubles(x.amount_kopecks - fee))))
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


PROFILE = from_dict({
    "name": "Банк с комиссией", "columns": {
        "time": ["Дата операции"], "operation": ["Операция"], "txn_id": ["ID транзакции"],
        "rrn": ["RRN"], "masked_pan": ["Карта"], "amount": ["Сумма"], "fee": ["Комиссия"],
        "net": ["Сумма к зачислению"]},
    "payment_words": ["Оплата"], "refund_words": ["Возврат"], "fee_rate_bp": RATE_BP,
    "fee_min": 0})


def _txn(app, payment_id: int) -> str:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(Payment.gateway_txn_id)
                                  .where(Payment.id == payment_id))


def _ours(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Independently: our charged payments minus succeeded refunds, and the tariff's fee
    on those payments."""
    with app.uow(write=False) as uow:
        s = uow.session
        charged = list(s.scalars(select(Payment.amount + Payment.commission).where(
            Payment.status.in_(machine.values(machine.CHARGED)))))
        refunded = list(s.scalars(select(Refund.amount).where(Refund.status == "succeeded")))
    return sum(charged) - sum(refunded), sum(_tariff(x) for x in charged)


def test_the_run_totals_the_banks_fee_and_net_and_lists_the_lines_off_the_tariff(
        app, story, finance):
    booked = settlement.settle_day(app, scenario.DAY)
    wrong = _txn(app, story.ids["plain2"])
    run = rec.reconcile(app, finance, "fee_net.csv", _fee_file(story.lines, wrong),
                        profile=PROFILE)

    payments = [x for x in story.lines if x.operation is g.Operation.PAYMENT]
    refunds = [x for x in story.lines if x.operation is g.Operation.REFUND]
    gross = sum(x.amount_kopecks for x in payments) - sum(x.amount_kopecks for x in refunds)
    fee = sum(_fee(x) for x in payments) + WRONG_BY
    net = sum(x.amount_kopecks - _fee(x) for x in payments) - WRONG_BY - sum(
        x.amount_kopecks for x in refunds)
    fees = run.fees
    assert fees is not None
    assert (fees.gross, fees.fee, fees.net) == (gross, fee, net)
    assert gross == run.bank_total and net == gross - fee
    assert (fees.checked, fees.differ_count, fees.differ_sum) == (len(payments), 1, WRONG_BY)
    assert fees.tariff_text == "1,8 % от суммы"

    our_gross, our_fee = _ours(app)
    settled = booked.payments_total.kopecks - booked.refunds_total.kopecks
    [day] = fees.days
    assert (day.day, day.bank_gross, day.bank_fee, day.bank_net) == (scenario.DAY, gross, fee,
                                                                     net)
    assert (day.our_gross, day.our_fee, day.our_net) == (our_gross, our_fee,
                                                         our_gross - our_fee)
    assert day.difference == net - (our_gross - our_fee)
    assert (day.settled, day.settled_difference) == (settled, settled - net)

    # Stored per item: the line off the tariff, a refund line (not checked), a missing one.
    detail = rec.run_detail(app, finance, run.id, "matched", PageRequest(number=1, size=100))
    by_txn = {(r.bank_txn_id, r.bank_operation): r for r in detail.items.items}
    line = by_txn[(wrong, "payment")]
    plain_amount = next(x.amount_kopecks for x in payments if x.gateway_txn_id == wrong)
    assert (line.bank_fee, line.expected_fee, line.bank_net) == (
        _tariff(plain_amount) + WRONG_BY, _tariff(plain_amount),
        plain_amount - _tariff(plain_amount) - WRONG_BY)
    assert line.fee_differs
    refund = next(r for (txn, op), r in by_txn.items() if op == "refund")
    assert (refund.bank_fee, refund.expected_fee, refund.fee_differs) == (0, None, False)
    assert [r for r in by_txn.values() if r.fee_differs] == [line]
    missing = rec.run_detail(app, finance, run.id, "missing_at_bank",
                             PageRequest(number=1, size=100)).items.items
    assert [(r.bank_fee, r.bank_net, r.expected_fee) for r in missing] == [(None, None, None)]

    # The XLSX: the fee columns of every class sheet, the totals and the days.
    book = openpyxl.load_workbook(io.BytesIO(rec.export_run(app, finance, run.id)))
    assert book.sheetnames[-2:] == ["Комиссия", "Перечисления по дням"]
    totals = {r[0]: r[1] for r in book["Комиссия"].iter_rows(min_row=2, values_only=True)}
    assert totals["Комиссия банка"] == pytest.approx(fee / 100)
    assert totals["Банк перечисляет"] == pytest.approx(net / 100)
    assert totals["Комиссия не по тарифу, строк"] == 1
    assert totals["Комиссия не по тарифу, разница"] == pytest.approx(WRONG_BY / 100)
    [days_row] = list(book["Перечисления по дням"].iter_rows(min_row=2, values_only=True))
    assert [round(v * 100) for v in days_row[1:]] == [
        gross, fee, net, our_gross, our_fee, our_gross - our_fee,
        net - (our_gross - our_fee), settled, settled - net]
    matched = list(book["Совпало"].iter_rows(values_only=True))
    assert matched[0][-4:] == ("Комиссия банка", "К перечислению", "Комиссия по тарифу",
                               "Комиссия не по тарифу")
    assert [r[-1] for r in matched[1:]].count("да") == 1


def test_a_file_without_fees_has_no_fee_summary_nor_fee_columns(app, story, finance):
    plain = rec.reconcile(app, finance, "plain.csv", write_registry_csv(story.lines),
                          profile=PROFILE)
    assert plain.fees is None and "fees" not in _stored_summary(app, plain.id)
    with app.uow(write=False) as uow:
        fees = {(r.bank_fee, r.bank_net, r.expected_fee)
                for r in rec.export_items(uow.session, plain.id, None)}
    assert fees == {(None, None, None)}


def _stored_summary(app, run_id: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    with app.uow(write=False) as uow:
        return uow.session.get(ReconciliationRun, run_id).summary


def test_without_a_tariff_the_fees_are_totalled_but_not_checked(app, story, finance):
    untariffed = from_dict({**PROFILE.to_dict(), "fee_rate_bp": None})
    run = rec.reconcile(app, finance, "fee_net.csv",
                        _fee_file(story.lines, _txn(app, story.ids["plain2"])),
                        profile=untariffed)
    fees = run.fees
    assert fees is not None and fees.fee_rate_bp is None
    assert (fees.checked, fees.differ_count, fees.differ_sum) == (0, 0, 0)
    assert fees.tariff_text == "тариф не указан в профиле: комиссия не проверялась"
    [day] = fees.days
    assert (day.our_fee, day.our_net, day.difference, day.settled) == (None, None, None, None)
    assert day.our_gross == _ours(app)[0]


def test_the_csv_export_has_every_item_of_every_class_and_is_journaled(app, story, finance):
    wrong = _txn(app, story.ids["plain2"])
    run = rec.reconcile(app, finance, "fee_net.csv", _fee_file(story.lines, wrong),
                        profile=PROFILE)
    data = run_export.export_run_csv(app, finance, run.id)
    assert data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Класс", *(c.title for c in rec.ITEM_COLUMNS)]
    with app.uow(write=False) as uow:
        stored = Counter(rec.CLASS_LABELS[r.klass]
                         for r in rec.export_items(uow.session, run.id, None))
    assert Counter(r[0] for r in rows[1:]) == stored
    assert set(stored) == set(rec.CLASS_LABELS.values())  # every class, in one file
    off = [r for r in rows[1:] if r[-1] == "да"]
    assert [(r[3], r[-4]) for r in off] == [
        (wrong, _rubles(next(_fee(x) for x in story.lines if x.gateway_txn_id == wrong
                             and x.operation is g.Operation.PAYMENT) + WRONG_BY))]
    with app.uow(write=False) as uow:
        journal = [e.after for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "reconciliation.export"))]
    assert journal == [{"run_id": run.id, "rows": len(rows) - 1, "format": "csv"}]
