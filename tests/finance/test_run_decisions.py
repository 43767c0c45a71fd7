"""Decisions after the matching (core.finance.run_decisions): resolving with what was done,
pairing a «нет у нас» line with a «нет в банке» payment by hand, the suggested pairs and
the open items per period; on SQLite and PostgreSQL, with real payments."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry, Payment, ReconciliationItem, ReconciliationRun
from core.errors import ValidationError
from core.finance import reconciliation as rec, run_decisions as decide
from core.finance.bank_registry import write_registry_csv
from core.payments import gateway as g
from core.paging import PageRequest
from core.staff.journal_words import describe
from tests.finance import scenario


def _payment(app, payment_id):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.get(Payment, payment_id)


def _pairable(app, clock):  # type: ignore[no-untyped-def]
    """The scenario, plus two lines the matching cannot pair: the lost payment listed by
    the bank under its own reference without our commission, and «plain2» with a typo
    in the card mask (its own line dropped)."""
    story = scenario.build(app, clock)
    lost, plain2 = (_payment(app, story.ids[n]) for n in ("lost_at_bank", "plain2"))
    line_of = {x.gateway_txn_id: x for x in story.original
               if x.operation is g.Operation.PAYMENT}
    fee_line = replace(line_of[lost.gateway_txn_id], gateway_txn_id="BANK-REF-LOST", rrn="",
                       amount_kopecks=lost.amount, time=line_of[lost.gateway_txn_id].time
                       + timedelta(minutes=1))
    typo = line_of[plain2.gateway_txn_id]
    pan = typo.masked_pan
    typo = replace(typo, gateway_txn_id="BANK-REF-TYPO", rrn="",
                   masked_pan=pan[:-1] + ("5" if pan[-1] != "5" else "6"))
    lines = [x for x in story.lines if not (x.gateway_txn_id == plain2.gateway_txn_id
                                            and x.operation is g.Operation.PAYMENT)]
    return story, lost, plain2, [*lines, fee_line, typo]


def _items(app, run_id):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return {i.id: i for i in uow.session.scalars(
            select(ReconciliationItem).where(ReconciliationItem.run_id == run_id))}


def _state(app):  # type: ignore[no-untyped-def]
    """Everything a decision may change: items, runs, the journal."""
    with app.uow(write=False) as uow:
        s = uow.session
        items = [(i.id, i.payment_id, i.resolved_at, i.resolved_by_staff_id,
                  i.resolution_comment, i.resolution_kind, i.paired_item_id)
                 for i in s.scalars(select(ReconciliationItem).order_by(ReconciliationItem.id))]
        runs = [(r.id, r.closed_at) for r in s.scalars(select(ReconciliationRun))]
        journal = s.scalar(select(func.count()).select_from(AuditEntry))
    return items, runs, journal


def _journal(app, action):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                        .order_by(AuditEntry.id)))


def _refused(app, call, message):  # type: ignore[no-untyped-def]
    before = _state(app)
    with pytest.raises(ValidationError, match=message):
        call()
    assert _state(app) == before


def test_resolving_records_what_was_done_and_a_write_off_needs_its_reason(app, clock, finance):
    story = scenario.build(app, clock)
    run = rec.reconcile(app, finance, "r.csv", write_registry_csv(story.lines))
    open_items = sorted(i.id for i in _items(app, run.id).values() if i.klass != "matched")
    first = open_items[0]
    _refused(app, lambda: decide.resolve_item(app, finance, first, None, "Банк подтвердил"),
             "^Что сделано: выберите одно из: «Деньги возвращены клиенту», «Платёж "
             "подтверждён банком», «Сообщено банку об ошибке», «Списано»$")
    _refused(app, lambda: decide.resolve_item(app, finance, first, "deleted", "x"),
             "^Что сделано: ")
    _refused(app, lambda: decide.resolve_item(app, finance, first, "paired", "x"),
             "^Что сделано: «Сопоставлено вручную» записывается сопоставлением")
    _refused(app, lambda: decide.resolve_item(app, finance, first, "written_off", "  "),
             "^Комментарий: укажите причину списания$")

    kinds = ["refunded", "confirmed", "bank_error", "written_off", "confirmed", "refunded"]
    assert len(kinds) == len(open_items)
    for item_id, kind in zip(open_items, kinds):
        assert rec.get_run(app, finance, run.id).closed_at is None  # something is still open
        view = decide.resolve_item(app, finance, item_id, kind, f"Решено: {kind}, акт № 7")
    assert view.closed_at is not None and view.open_discrepancies == 0
    items = _items(app, run.id)
    assert [(items[i].resolution_kind, items[i].resolution_comment) for i in open_items] == [
        (k, f"Решено: {k}, акт № 7") for k in kinds]
    assert all(i.resolution_kind is None for i in items.values() if i.klass == "matched")
    rows = rec.run_detail(app, finance, run.id, "missing_at_bank", PageRequest(1, 25)).items.items
    assert [r.resolution_kind for r in rows] == [items[rows[0].id].resolution_kind]

    entries = _journal(app, "reconciliation.resolve")
    assert [e.after["resolution_kind"] for e in entries] == kinds
    assert [e.reason for e in entries] == [f"Решено: {k}, акт № 7" for k in kinds]
    assert entries[-1].after["run_closed"] is True
    assert "что сделано: «Списано»" in describe(entries[3].action, entries[3].before,
                                                 entries[3].after)

    # A revision (after a re-open) keeps what was decided before in the journal.
    decide.reopen_run(app, finance, run.id, "Банк прислал исправленный реестр")
    decide.resolve_item(app, finance, first, "bank_error", "Банк ошибся, письмо № 9")
    revised = _journal(app, "reconciliation.resolve")[-1]
    assert revised.before["resolution_kind"] == "refunded"
    assert revised.after["resolution_kind"] == "bank_error"
    text = describe(revised.action, revised.before, revised.after)
    assert "«Деньги возвращены клиенту» → «Сообщено банку об ошибке»" in text


def test_the_last_two_items_resolved_at_once_close_the_run(app, clock, finance, monkeypatch):
    """Two people resolve the run's last two open items at the same moment: the one
    counting the open items second must see the other's decision and close the run."""
    story = scenario.build(app, clock)
    run = rec.reconcile(app, finance, "r.csv", write_registry_csv(story.lines))
    open_items = sorted(i.id for i in _items(app, run.id).values() if i.klass != "matched")
    for item_id in open_items[:-2]:
        decide.resolve_item(app, finance, item_id, "confirmed", "Банк подтвердил")
    first, last = open_items[-2:]
    counted, go = threading.Event(), threading.Event()
    close_if_done = decide._close_if_done
    errors: list[BaseException] = []

    def slow(s, run_row, now):  # type: ignore[no-untyped-def]
        closed = close_if_done(s, run_row, now)
        if threading.current_thread().name == "first":
            counted.set()  # counted (the last item still open), not committed yet
            go.wait(10)
        return closed

    def resolve(item_id):  # type: ignore[no-untyped-def]
        try:
            decide.resolve_item(app, finance, item_id, "bank_error", "Письмо в банк")
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    monkeypatch.setattr(decide, "_close_if_done", slow)
    one = threading.Thread(target=resolve, args=(first,), name="first")
    one.start()
    assert counted.wait(10)
    two = threading.Thread(target=resolve, args=(last,), name="second")
    two.start()
    two.join(1.0)
    waited = two.is_alive()  # the second decision waits for the first one's run
    go.set()
    one.join(10)
    two.join(10)
    assert errors == []
    assert waited
    view = rec.get_run(app, finance, run.id)
    assert view.open_discrepancies == 0 and view.closed_at is not None


def _pair_items(app, run_id, lost, plain2):  # type: ignore[no-untyped-def]
    items = _items(app, run_id).values()
    line = {i.bank_txn_id: i for i in items if i.klass == "missing_at_ours"}
    ours = {i.payment_id: i for i in items if i.klass == "missing_at_bank"}
    return line["BANK-REF-LOST"], ours[lost.id], line["BANK-REF-TYPO"], ours[plain2.id], line


def test_a_line_and_a_payment_are_paired_by_hand_with_a_reason(app, clock, finance):
    story, lost, plain2, lines = _pairable(app, clock)
    run = rec.reconcile(app, finance, "r.csv", write_registry_csv(lines))
    fee_line, lost_item, typo_line, plain2_item, _ = _pair_items(app, run.id, lost, plain2)
    assert fee_line.bank_amount == lost_item.our_amount - lost.commission
    # Not a «нет у нас» line (a matched pair is no item at all: it has no id to pass).
    other = next(i for i in _items(app, run.id).values() if i.klass == "amount_differs")
    reason = "Банк списал без нашей комиссии, та же карта и время"

    _refused(app, lambda: decide.pair_items(app, finance, fee_line.id, lost_item.id, " \n "),
             "^Причина: укажите, почему строка банка и платёж — одна операция$")
    _refused(app, lambda: decide.pair_items(app, finance, other.id, lost_item.id, reason),
             "^Строка банка: сопоставляется строка класса «Нет у нас», а строка файла "
             f"{other.bank_line_no} — «Расходится сумма»$")
    _refused(app, lambda: decide.pair_items(app, finance, fee_line.id, typo_line.id, reason),
             "^Платёж: сопоставляется строка класса «Нет в реестре банка», а строка файла "
             f"{typo_line.bank_line_no} — «Нет у нас»$")
    view = decide.pair_items(app, finance, fee_line.id, lost_item.id, reason)
    assert view.closed_at is None
    items = _items(app, run.id)
    line, ours = items[fee_line.id], items[lost_item.id]
    for item, other in ((line, ours), (ours, line)):
        assert (item.resolution_kind, item.resolution_comment, item.paired_item_id,
                item.resolved_by_staff_id) == ("paired", reason, other.id, finance.staff_id)
        assert item.resolved_at is not None
    assert line.payment_id == lost.id  # the bank's line now names the payment
    assert (line.bank_amount, ours.our_amount) == (fee_line.bank_amount, lost_item.our_amount)
    assert run.open_discrepancies == 6 + 3  # the scenario's, the two lines, plain2
    assert view.open_discrepancies == run.open_discrepancies - 2
    entry = _journal(app, "reconciliation.pair")[-1]
    assert entry.reason == reason and entry.before is None
    assert entry.after == {"run_id": run.id, "item_id": line.id, "paired_item_id": ours.id,
                           "bank_line_no": line.bank_line_no, "payment_id": lost.id,
                           "bank_amount": line.bank_amount, "our_amount": ours.our_amount,
                           "run_closed": False}
    text = describe(entry.action, entry.before, entry.after)
    assert f"сопоставлена со строкой сверки: № {ours.id}" in text and "₽" in text

    # Already paired, on either side; a paired item is not resolved otherwise.
    _refused(app, lambda: decide.pair_items(app, finance, fee_line.id, plain2_item.id, reason),
             f"^Строка банка: строка файла {line.bank_line_no} уже сопоставлена со строкой "
             f"сверки № {ours.id}$")
    _refused(app, lambda: decide.pair_items(app, finance, typo_line.id, lost_item.id, reason),
             f"^Платёж: платёж № {lost.id} уже сопоставлена со строкой сверки № {line.id}$")
    _refused(app, lambda: decide.resolve_item(app, finance, lost_item.id, "confirmed", "x"),
             "^Строка сверки: сопоставлена вручную")

    # Undone: both open again, the line names no payment; then paired again.
    _refused(app, lambda: decide.unpair_items(app, finance, lost_item.id, ""), "^Причина: ")
    decide.unpair_items(app, finance, lost_item.id, "Ошиблись парой")
    items = _items(app, run.id)
    assert [(i.resolved_at, i.resolution_kind, i.paired_item_id, i.payment_id)
            for i in (items[fee_line.id], items[lost_item.id])] == [
        (None, None, None, None), (None, None, None, lost.id)]
    unpaired = _journal(app, "reconciliation.unpair")[-1]
    assert unpaired.before["payment_id"] == lost.id and unpaired.reason == "Ошиблись парой"
    decide.pair_items(app, finance, fee_line.id, lost_item.id, reason)

    # The run closes only when the last open item is decided; then pairing is refused.
    decide.pair_items(app, finance, typo_line.id, plain2_item.id, "Опечатка в маске карты")
    rest = sorted(i.id for i in _items(app, run.id).values()
                  if i.klass != "matched" and i.resolved_at is None)
    for item_id in rest:
        assert rec.get_run(app, finance, run.id).closed_at is None
        view = decide.resolve_item(app, finance, item_id, "bank_error", "Письмо в банк № 3")
    assert view.closed_at is not None
    decide.reopen_run(app, finance, run.id, "Проверить пары")
    decide.unpair_items(app, finance, typo_line.id, "Проверить пары")
    assert rec.get_run(app, finance, run.id).closed_at is None
    decide.resolve_item(app, finance, typo_line.id, "bank_error", "Письмо в банк № 4")
    decide.resolve_item(app, finance, plain2_item.id, "confirmed", "Банк подтвердил")
    assert rec.get_run(app, finance, run.id).closed_at is not None
    _refused(app, lambda: decide.unpair_items(app, finance, fee_line.id, "x"),
             f"^Сверка: сверка № {run.id} закрыта")


def test_pairing_across_runs_and_across_operations_is_refused(app, clock, finance):
    story, lost, plain2, lines = _pairable(app, clock)
    run = rec.reconcile(app, finance, "r.csv", write_registry_csv(lines))
    fee_line, lost_item, *_ = _pair_items(app, run.id, lost, plain2)
    earlier = scenario.DAY - timedelta(days=3)
    stranger = g.SettlementLine("txn-elsewhere-1", "611111111111", "220000******0004", 10_000,
                                g.Operation.PAYMENT, lines[0].time - timedelta(days=3))
    other = rec.reconcile(app, finance, "earlier.csv", write_registry_csv([stranger]))
    assert other.period_from == earlier
    other_line = next(i for i in _items(app, other.id).values()
                      if i.klass == "missing_at_ours")
    _refused(app, lambda: decide.pair_items(app, finance, other_line.id, lost_item.id, "одна"),
             f"^Платёж: платёж № {lost.id} из сверки № {run.id}, а строка банка — из сверки "
             f"№ {other.id}; сопоставляются строки одной сверки$")
    with app.uow() as uow:  # as if the bank listed the line as a refund
        uow.session.get(ReconciliationItem, fee_line.id).bank_operation = "refund"
        uow.commit()
    _refused(app, lambda: decide.pair_items(app, finance, fee_line.id, lost_item.id, "одна"),
             "^Платёж: в банке возврат, а у нас оплата: это не одна операция$")
    with pytest.raises(Exception, match="не найдена"):
        decide.pair_items(app, finance, 10**8, lost_item.id, "одна")
    with pytest.raises(ValidationError, match="^Строка банка: укажите строку сверки$"):
        decide.pair_items(app, finance, "первая", lost_item.id, "одна")


def test_suggestions_name_the_pairs_and_why(app, clock, finance):
    story, lost, plain2, lines = _pairable(app, clock)
    run = rec.reconcile(app, finance, "r.csv", write_registry_csv(lines))
    fee_line, lost_item, typo_line, plain2_item, _ = _pair_items(app, run.id, lost, plain2)
    found = decide.suggest_pairs(app, finance, run.id)
    pairs = [(s.bank.item_id, s.ours.item_id, s.rule) for s in found.items]
    assert (typo_line.id, plain2_item.id, "digit") in pairs
    assert (fee_line.id, lost_item.id, "fee") in pairs
    assert pairs.index((typo_line.id, plain2_item.id, "digit")) < pairs.index(
        (fee_line.id, lost_item.id, "fee"))
    assert found.total == len(found.items)
    by_pair = {(s.bank.item_id, s.ours.item_id): s for s in found.items}
    fee = by_pair[(fee_line.id, lost_item.id)]
    assert fee.reason.startswith("Та же карта, сумма отличается на ")
    assert "не больше комиссии" in fee.reason and "разница во времени 1 мин" in fee.reason
    assert (fee.bank.bank_line_no, fee.bank.amount, fee.ours.payment_id, fee.ours.amount) == (
        fee_line.bank_line_no, fee_line.bank_amount, lost.id, lost_item.our_amount)
    digit = by_pair[(typo_line.id, plain2_item.id)]
    assert "карта отличается одной цифрой" in digit.reason
    assert typo_line.bank_masked_pan in digit.reason

    decide.pair_items(app, finance, fee_line.id, lost_item.id, fee.reason)
    left = decide.suggest_pairs(app, finance, run.id)
    assert [(s.bank.item_id, s.ours.item_id) for s in left.items] == [
        (typo_line.id, plain2_item.id)]
    assert decide.suggest_pairs(app, finance, run.id, limit=0).items == ()


def test_open_items_and_their_sums_per_run_and_per_month(app, clock, finance):
    story = scenario.build(app, clock)
    run = rec.reconcile(app, finance, "r.csv", write_registry_csv(story.lines))
    stranger = g.SettlementLine("txn-elsewhere-1", "611111111111", "220000******0004", 10_000,
                                g.Operation.PAYMENT, story.lines[0].time - timedelta(days=30))
    october = rec.reconcile(app, finance, "october.csv", write_registry_csv([stranger]))
    assert october.period_from.month == 10
    items = [i for i in _items(app, run.id).values() if i.klass != "matched"]

    def signed(i):  # type: ignore[no-untyped-def]
        bank = (i.bank_amount or 0) * (-1 if i.bank_operation == "refund" else 1)
        ours = (i.our_amount or 0) * (-1 if i.our_status == "refund" else 1)
        return bank, ours

    resolved = next(i for i in items if i.klass == "amount_differs")
    decide.resolve_item(app, finance, resolved.id, "bank_error", "Банк ошибся в сумме")
    still = [i for i in items if i.id != resolved.id]
    summary = decide.open_by_period(app, finance, date(2026, 10, 1), date(2026, 11, 30), "run")
    assert [(r.run_id, r.runs, r.closed_runs, r.open_count) for r in summary.rows] == [
        (october.id, 1, 0, 1), (run.id, 1, 0, len(still))]
    assert summary.rows[1].label == f"№ {run.id} · 25.11.2026"
    assert (summary.rows[1].bank_sum, summary.rows[1].our_sum) == (
        sum(signed(i)[0] for i in still), sum(signed(i)[1] for i in still))
    assert (summary.rows[0].bank_sum, summary.rows[0].our_sum) == (10_000, 0)
    assert summary.total.open_count == len(still) + 1
    assert summary.total.bank_sum == summary.rows[0].bank_sum + summary.rows[1].bank_sum

    months = decide.open_by_period(app, finance, date(2026, 10, 1), date(2026, 11, 30))
    assert [(r.label, r.open_count) for r in months.rows] == [("октябрь 2026", 1),
                                                              ("ноябрь 2026", len(still))]
    only_november = decide.open_by_period(app, finance, date(2026, 11, 1), date(2026, 11, 30))
    assert [r.label for r in only_november.rows] == ["ноябрь 2026"]
    assert decide.open_by_period(app, finance, date(2025, 1, 1), date(2025, 1, 31)).rows == ()

    with pytest.raises(ValidationError, match="^С: 30.11.2026 позже даты «по» \\(01.11.2026\\)$"):
        decide.open_by_period(app, finance, date(2026, 11, 30), date(2026, 11, 1))
    with pytest.raises(ValidationError, match="^По: укажите дату$"):
        decide.open_by_period(app, finance, date(2026, 11, 1), None)
    with pytest.raises(ValidationError, match="^Группировка: "):
        decide.open_by_period(app, finance, date(2026, 11, 1), date(2026, 11, 30), "week")


def test_the_exports_say_what_was_done_and_name_the_pair(app, clock, finance):
    import csv
    import io

    from openpyxl import load_workbook

    from core.finance import run_export

    story, lost, plain2, lines = _pairable(app, clock)
    run = rec.reconcile(app, finance, "r.csv", write_registry_csv(lines))
    fee_line, lost_item, typo_line, _, _ = _pair_items(app, run.id, lost, plain2)
    decide.pair_items(app, finance, fee_line.id, lost_item.id, "Банк не взял комиссию")
    decide.resolve_item(app, finance, typo_line.id, "bank_error", "Письмо в банк № 5")

    table = list(csv.reader(io.StringIO(
        run_export.export_run_csv(app, finance, run.id).decode("utf-8-sig")), delimiter=";"))
    head = table[0]
    by_line = {row[head.index("Строка файла")]: row for row in table[1:]}
    paired = by_line[str(fee_line.bank_line_no)]
    assert paired[head.index("Что сделано")] == "Сопоставлено вручную"
    assert paired[head.index("Пара: строка сверки №")] == str(lost_item.id)
    assert paired[head.index("Комментарий")] == "Банк не взял комиссию"
    reported = by_line[str(typo_line.bank_line_no)]
    assert reported[head.index("Что сделано")] == "Сообщено банку об ошибке"
    assert reported[head.index("Пара: строка сверки №")] == ""
    untouched = next(row for row in table[1:] if row[0] == "Расходится сумма")
    assert untouched[head.index("Что сделано")] == ""

    sheet = load_workbook(io.BytesIO(rec.export_run(app, finance, run.id)))["Нет у нас"]
    titles = [c.value for c in sheet[1]]
    rows = {r[titles.index("Строка файла")]: r for r in sheet.iter_rows(min_row=2,
                                                                          values_only=True)}
    assert rows[fee_line.bank_line_no][titles.index("Что сделано")] == "Сопоставлено вручную"
    assert rows[fee_line.bank_line_no][titles.index("Пара: строка сверки №")] == lost_item.id
