"""Files «Сверка» accepted wrongly before issue 15 (points 3 and 5): amounts in kopecks
read as rubles, and the same registry stored again as another file or over a period
already reconciled. Each is stopped before anything is stored. SQLite and PostgreSQL."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.actors import StaffRole
from core.db.models import AuditEntry, ReconciliationRun
from core.finance import reconciliation as rec
from core.finance.bank_profile import DEFAULT
from core.finance.bank_registry import write_registry_csv
from core.money import format_kopecks
from tests.factories.customers import make_staff
from tests.finance import bank_files


def _stored(app) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(runs, journaled runs)."""
    with app.uow(write=False) as uow:
        s = uow.session
        return (s.scalar(select(func.count()).select_from(ReconciliationRun)) or 0,
                s.scalar(select(func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "reconciliation.run")) or 0)


def _total(lines) -> int:  # type: ignore[no-untyped-def]
    return sum(x.amount_kopecks if x.operation.value == "payment" else -x.amount_kopecks
               for x in lines)


# --- point 3: the amount unit ---------------------------------------------------------

def test_kopecks_under_a_plain_sum_stop_the_run_naming_the_unit(app, story, finance):
    """Before: read as rubles, 157 853 162,00 ₽ of «discrepancies», 0 matched, no word."""
    data = bank_files.kopecks_as_rubles(story.lines)
    with pytest.raises(rec.AmountUnitSuspected) as caught:
        rec.reconcile(app, finance, "kopecks.csv", data)
    error = caught.value
    assert error.unit == "kopecks"
    text = str(error)
    assert text.startswith("Файл «kopecks.csv» не сверен: суммы в нём, похоже, записаны в "
                           "копейках, а прочитаны как рубли")
    assert f"Итого по файлу {format_kopecks(100 * _total(story.lines))}" in text
    assert "у нас за период" in text and "в 100 раз больше" in text
    assert "единицей сумм «копейки»" in text and "Ничего не сохранено" in text
    # The story's discrepancies (a line of a stranger, one amount off) do not hide it.
    assert error.guess.share >= 0.5 and error.guess.share_as_read == 0
    assert _stored(app) == (0, 0)


def test_the_same_file_read_in_kopecks_by_the_profile_is_reconciled(app, story, finance):
    data = bank_files.kopecks_as_rubles(story.lines)
    run = rec.reconcile(app, finance, "kopecks.csv", data,
                        profile=replace(DEFAULT, amount_unit="kopecks"))
    clean = {c.klass: c.bank_count for c in run.classes}
    assert clean["matched"] == 7 and run.bank_total == _total(story.lines)
    assert _stored(app) == (1, 1)


def test_rubles_read_as_kopecks_are_stopped_too(app, story, finance):
    # Whole rubles («1020» for 1 020 ₽) read by a profile in kopecks: 10,20 ₽.
    lines = [replace(x, amount_kopecks=x.amount_kopecks // 100) for x in story.lines]
    data = bank_files.kopecks_as_rubles(lines)
    with pytest.raises(rec.AmountUnitSuspected) as caught:
        rec.reconcile(app, finance, "small.csv", data,
                      profile=replace(DEFAULT, amount_unit="kopecks"))
    assert caught.value.unit == "rubles"
    assert "записаны в рублях, а прочитаны как копейки" in str(caught.value)
    assert "в 100 раз меньше" in str(caught.value)
    assert _stored(app) == (0, 0)


def test_a_file_of_the_right_unit_with_discrepancies_is_not_suspected(app, story, finance):
    lines = [replace(x, amount_kopecks=x.amount_kopecks + 7) if n % 2 else x
             for n, x in enumerate(story.lines)]  # half the amounts off by kopecks
    run = rec.reconcile(app, finance, "r.csv", write_registry_csv(lines))
    assert run.bank_lines == len(lines)


# --- point 5: the same lines in another file ------------------------------------------

@pytest.mark.parametrize("kind", ["ours_lf", "ours_bom", "ours_xlsx", "reordered"])
def test_the_same_registry_in_another_byte_layout_is_recognised(app, story, finance, kind):
    """Before: each layout was a new run (one period had 25 open runs)."""
    first = rec.reconcile(app, finance, "reestr.csv", bank_files.ours_crlf(story.lines))
    data = (write_registry_csv(list(reversed(story.lines))) if kind == "reordered"
            else getattr(bank_files, kind)(story.lines))
    with pytest.raises(rec.FileAlreadyReconciled) as caught:
        rec.reconcile(app, make_staff(app, StaffRole.ADMIN), "again.xlsx", data)
    error = caught.value
    assert isinstance(error, rec.LinesAlreadyReconciled) and error.run_id == first.id
    assert str(error).startswith("Этот реестр уже сверен: в нём те же операции, что в файле "
                                 f"«reestr.csv» (сверка № {first.id} от ")
    assert "Ничего не сохранено" in str(error)
    # Even when the person said «сверить всё равно» to the period's question.
    with pytest.raises(rec.LinesAlreadyReconciled):
        rec.reconcile(app, finance, "again.xlsx", data, confirm_overlap=True)
    assert _stored(app) == (1, 1)
    with app.uow(write=False) as uow:
        stored = uow.session.scalar(select(ReconciliationRun.content_sha256))
        detail = uow.session.scalar(select(AuditEntry.after)
                                    .where(AuditEntry.action == "reconciliation.run"))
    assert stored and len(stored) == 64 and detail["content_sha256"] == stored


def test_a_parallel_upload_of_the_same_lines_is_refused_by_the_unique_index(
        app, story, finance, monkeypatch):
    """Two people upload the CSV and the XLSX at once: both pass the look-ups before
    either is stored; the second to store meets the unique index and is told which run
    holds the lines."""
    first = rec.reconcile(app, finance, "reestr.csv", bank_files.ours_crlf(story.lines))
    real = rec._refuse_known
    looked = []

    def blind_at_first(s, checksum, content=None):  # type: ignore[no-untyped-def]
        looked.append(content)
        if len(looked) > 3:  # the look-up after the unique index refused the row
            real(s, checksum, content)

    monkeypatch.setattr(rec, "_refuse_known", blind_at_first)
    with pytest.raises(rec.LinesAlreadyReconciled) as caught:
        rec.reconcile(app, finance, "reestr.xlsx", bank_files.ours_xlsx(story.lines),
                      confirm_overlap=True)
    assert caught.value.run_id == first.id and len(looked) == 4
    assert _stored(app) == (1, 1)


def test_a_changed_line_is_another_registry(app, story, finance):
    rec.reconcile(app, finance, "reestr.csv", write_registry_csv(story.lines))
    changed = [replace(story.lines[0], amount_kopecks=story.lines[0].amount_kopecks + 1),
               *story.lines[1:]]
    with pytest.raises(rec.PeriodAlreadyReconciled):  # asked about the period, not refused
        rec.reconcile(app, finance, "fixed.csv", write_registry_csv(changed))


# --- point 5: a second run over a period ----------------------------------------------

def test_a_second_run_over_a_reconciled_period_is_asked_first(app, story, finance):
    first = rec.reconcile(app, finance, "reestr.csv", write_registry_csv(story.lines))
    later = story.lines[-1].time + timedelta(days=1)  # the next day too: still overlapping
    fixed = [*story.lines[:-1], replace(story.lines[-1], time=later)]
    with pytest.raises(rec.PeriodAlreadyReconciled) as caught:
        rec.reconcile(app, finance, "fixed.csv", write_registry_csv(fixed))
    error = caught.value
    assert [(r.run_id, r.period_text, r.file_name) for r in error.runs] == [
        (first.id, "25.11.2026", "reestr.csv")]
    assert str(error).startswith("Файл «fixed.csv» не сверен: за 25.11.2026 — 26.11.2026 "
                                 f"уже есть сверка № {first.id} за 25.11.2026 (файл "
                                 "«reestr.csv»)")
    assert _stored(app) == (1, 1)

    second = rec.reconcile(app, finance, "fixed.csv", write_registry_csv(fixed),
                           confirm_overlap=True)
    assert second.id != first.id and _stored(app) == (2, 2)
    with app.uow(write=False) as uow:
        detail = uow.session.scalar(select(AuditEntry.after).where(
            AuditEntry.action == "reconciliation.run").order_by(AuditEntry.id.desc()))
    assert detail["overlaps"] == [first.id]


def test_another_period_is_not_asked_about(app, story, finance):
    rec.reconcile(app, finance, "reestr.csv", write_registry_csv(story.lines))
    other = [replace(x, time=x.time + timedelta(days=3), gateway_txn_id=f"{x.gateway_txn_id}-b")
             for x in story.lines]
    run = rec.reconcile(app, finance, "other.csv", write_registry_csv(other))
    assert str(run.period_from) == "2026-11-28" and _stored(app) == (2, 2)
