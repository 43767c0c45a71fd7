"""«Сверка» through the services: real payments, the simulator's registry edited to hold
one discrepancy of every class, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
from collections import Counter

import openpyxl
import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry, Payment, ReconciliationRun, Refund
from core.actors import PermissionDenied, StaffRole
from core.errors import ValidationError
from core.finance.bank_registry import (HEADER, OPERATION_WORDS, read_registry, write_registry_csv,
                                        write_registry_xlsx)
from core.paging import PageRequest
from core.finance import reconciliation as rec, run_decisions as decide
from core.timefmt import MOSCOW, as_utc
from tests.factories.customers import make_staff


def _items(app, run_id):  # type: ignore[no-untyped-def]
    """Every row of the run as stored: the matched pairs, then the discrepancies."""
    with app.uow(write=False) as uow:
        return list(rec.export_items(uow.session, run_id, None))


def _messy_csv(lines) -> bytes:  # type: ignore[no-untyped-def]
    """What a bank's back office exports: cp1251, a title block, thousands grouped by a
    space, a decimal comma, minutes without seconds where they are zero, a totals row."""
    out = ["ПАО «Банк» — реестр операций эквайринга;;;;;",
           "Торговая точка: ООО «Платежи ЖКХ»;;;;;", ";;;;;",
           "Дата и время;Тип операции;Идентификатор транзакции;RRN;Номер карты;Сумма, руб."]
    total = 0
    for x in lines:
        moment = as_utc(x.time).astimezone(MOSCOW)
        when = moment.strftime("%d.%m.%Y %H:%M" if moment.second == 0 else "%d.%m.%Y %H:%M:%S")
        rubles = f"{x.amount_kopecks // 100:,}".replace(",", " ")
        out.append(f"{when};{OPERATION_WORDS[x.operation]};{x.gateway_txn_id};{x.rrn};"
                   f"{x.masked_pan};{rubles},{x.amount_kopecks % 100:02d}")
        total += x.amount_kopecks
    out.append(f"Итого: {len(lines)} операций;;;;;{total // 100},{total % 100:02d}")
    return ("\r\n".join(out) + "\r\n").encode("cp1251")


def _period_totals(app, story):  # type: ignore[no-untyped-def]
    """Independently: our payments in the run (every charged one of the day, and the pending
    one the bank charged) and the day's succeeded refunds."""
    with app.uow(write=False) as uow:
        s = uow.session
        payments = list(s.execute(select(Payment.id, Payment.amount + Payment.commission)))
        refunds = list(s.scalars(select(Refund.amount).where(Refund.status == "succeeded")))
    assert {pid for pid, _ in payments} == set(story.ids.values())
    return (len(payments) + len(refunds),
            sum(total for _, total in payments) - sum(refunds))


def test_every_discrepancy_lands_in_its_class_and_the_totals_add_up(app, story, finance):
    data = write_registry_csv(story.lines)
    run = rec.reconcile(app, finance, "reestr_25.11.2026.csv", data)
    items = _items(app, run.id)
    payment_rows = {i.payment_id: i.klass for i in items
                    if i.our_amount is not None and i.our_status != "refund"}
    assert {name: payment_rows[pid] for name, pid in story.ids.items()} == story.expected
    refund_rows = Counter((i.klass, i.bank_operation) for i in items
                          if i.bank_operation == "refund" or i.our_status == "refund")
    assert refund_rows == Counter({("matched", "refund"): 1, ("status_differs", "refund"): 1})
    assert [i.bank_txn_id for i in items if i.klass == "missing_at_ours"] == [
        "txn-unknown-000001"]
    assert [i.payment_id for i in items if i.klass == "duplicate_at_bank"] == [
        story.ids["doubled"]]
    # Every line of the file exactly once.
    assert sorted(i.bank_line_no for i in items if i.bank_line_no) == list(
        range(2, len(story.lines) + 2))

    by_class = {c.klass: c for c in run.classes}
    assert {k: c.bank_count for k, c in by_class.items()} == {
        "matched": 7, "amount_differs": 1, "status_differs": 2, "missing_at_bank": 0,
        "missing_at_ours": 1, "duplicate_at_bank": 1}
    assert {k: c.our_count for k, c in by_class.items()} == {
        "matched": 7, "amount_differs": 1, "status_differs": 1, "missing_at_bank": 1,
        "missing_at_ours": 0, "duplicate_at_bank": 0}
    paid = sum(x.amount_kopecks for x in story.lines if x.operation.value == "payment")
    refunded = sum(x.amount_kopecks for x in story.lines if x.operation.value == "refund")
    assert run.bank_lines == len(story.lines) == sum(c.bank_count for c in run.classes)
    assert run.bank_total == paid - refunded == sum(c.bank_sum for c in run.classes)
    our_count, our_total = _period_totals(app, story)
    assert run.our_count == our_count == sum(c.our_count for c in run.classes)
    assert run.our_total == our_total == sum(c.our_sum for c in run.classes)
    assert str(run.period_from) == str(run.period_to) == "2026-11-25"
    assert run.open_discrepancies == 6 and run.closed_at is None


def test_the_tolerant_variants_give_the_same_result_as_the_clean_file(app, story, finance):
    """The same lines read from each variant: a second upload of any of them is refused
    as the clean file's lines (the fingerprint of every line as read; issue 15, point 5)."""
    messy = _messy_csv(story.lines)
    registry = read_registry("bank.csv", messy)
    assert registry.accepted and registry.totals_rows == 1
    clean = rec.reconcile(app, finance, "clean.csv", write_registry_csv(story.lines))
    for name, data in (("bank.csv", messy), ("bank.xlsx", write_registry_xlsx(story.lines))):
        with pytest.raises(rec.LinesAlreadyReconciled) as caught:
            rec.reconcile(app, finance, name, data)
        assert caught.value.run_id == clean.id


def test_the_same_file_twice_is_recognised_and_nothing_is_added(app, story, finance):
    data = write_registry_csv(story.lines)
    first = rec.reconcile(app, finance, "reestr.csv", data)
    with pytest.raises(rec.FileAlreadyReconciled) as caught:
        rec.reconcile(app, make_staff(app, StaffRole.ADMIN), "copy-of-reestr.csv", data)
    assert caught.value.run_id == first.id
    assert f"сверка № {first.id}" in str(caught.value) and "«reestr.csv»" in str(caught.value)
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ReconciliationRun)) == 1


def test_a_bad_file_is_refused_whole_naming_rows_and_columns(app, story, finance):
    text = write_registry_csv(story.lines).decode()
    rows = text.split("\r\n")
    rows[2] = rows[2].replace("Оплата", "Перевод")
    rows[3] = ";".join(["31.02.2026 10:00:00", *rows[3].split(";")[1:5], "12,345"])
    with pytest.raises(rec.RegistryRejected) as caught:
        rec.reconcile(app, finance, "bad.csv", "\r\n".join(rows).encode())
    assert [p.text for p in caught.value.problems] == [
        "Строка 3, «Операция»: «Перевод» — ожидается «Оплата» или «Возврат»",
        ("Строка 4, «Дата операции»: «31.02.2026 10:00:00» не дата и время "
         "(ожидается дд.мм.гггг чч:мм:сс)"),
        "Строка 4, «Сумма»: «12,345»: не больше двух знаков после запятой"]
    assert "Ничего не сохранено" in str(caught.value)
    with pytest.raises(rec.RegistryRejected) as caught:
        rec.reconcile(app, finance, "other.csv", "Дата;Сумма\r\n1;2\r\n".encode())
    assert {p.column for p in caught.value.problems} >= {HEADER[1], HEADER[2]}
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ReconciliationRun)) == 0


def test_resolving_needs_a_comment_closes_the_run_and_a_reopen_is_audited(app, story, finance):
    run = rec.reconcile(app, finance, "r.csv", write_registry_csv(story.lines))
    open_items = [i for i in _items(app, run.id) if i.klass != "matched"]
    matched = next(i for i in _items(app, run.id) if i.klass == "matched")
    with pytest.raises(ValidationError, match="^Комментарий: "):
        decide.resolve_item(app, finance, open_items[0].id, "confirmed", "   ")
    assert matched.id is None  # a matched pair is no item: nothing to resolve
    assert rec.get_run(app, finance, run.id).open_discrepancies == len(open_items)
    for item in open_items[:-1]:
        view = decide.resolve_item(app, finance, item.id, "bank_error",
                                   "Уточнено с банком, письмо № 5")
        assert view.closed_at is None
    view = decide.resolve_item(app, finance, open_items[-1].id, "refunded",
                               "Возврат проведён банком")
    assert view.closed_at is not None and view.open_discrepancies == 0
    with pytest.raises(ValidationError, match="закрыта"):
        decide.resolve_item(app, finance, open_items[0].id, "confirmed", "ещё раз")
    with pytest.raises(ValidationError, match="^Причина: "):
        decide.reopen_run(app, finance, run.id, "")
    reopened = decide.reopen_run(app, finance, run.id, "Банк прислал исправленный реестр")
    assert reopened.closed_at is None
    again = decide.resolve_item(app, finance, open_items[0].id, "written_off",
                                 "Пересмотрено: списано, банк не вернёт")
    assert again.closed_at is not None
    detail = rec.run_detail(app, finance, run.id, "missing_at_bank", PageRequest(1, 25))
    assert [r.resolution_comment for r in detail.items.items] == ["Уточнено с банком, письмо № 5"]
    with app.uow(write=False) as uow:
        actions = Counter(uow.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("reconciliation.%"))))
    assert actions == {"reconciliation.run": 1, "reconciliation.resolve": len(open_items) + 1,
                       "reconciliation.reopen": 1}


def test_export_has_a_summary_sheet_and_one_sheet_per_class(app, story, finance):
    run = rec.reconcile(app, finance, "r.csv", write_registry_csv(story.lines))
    book = openpyxl.load_workbook(io.BytesIO(rec.export_run(app, finance, run.id)))
    assert book.sheetnames == ["Итоги", *rec.CLASS_LABELS.values()]
    summary = list(book["Итоги"].iter_rows(values_only=True))
    assert summary[-1][:2] == ("Итого", len(story.lines))
    assert book["Дубль в реестре банка"].max_row == 2
    with app.uow(write=False) as uow:
        assert uow.session.scalar(select(AuditEntry.after).where(
            AuditEntry.action == "reconciliation.export"))["rows"] == len(_items(app, run.id))


def test_only_finance_and_admins_reconcile(app, story):
    data = write_registry_csv(story.lines)
    for role in (StaffRole.AGENT, StaffRole.MANAGER):
        with pytest.raises(PermissionDenied):
            rec.reconcile(app, make_staff(app, role), "r.csv", data)
    admin = make_staff(app, StaffRole.ADMIN)
    run = rec.reconcile(app, admin, "r.csv", data)
    page = rec.list_runs(app, admin, PageRequest(1, 25))
    assert [(r.id, r.staff_name) for r in page.items] == [(run.id, run.staff_name)]
    with pytest.raises(ValidationError, match="^Класс: "):
        rec.run_detail(app, admin, run.id, "nonsense", PageRequest(1, 25))
