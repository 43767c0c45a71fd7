"""Issue 16, point 5, in AppTest: the run card counts and lists the matched pairs, which
are now one compact row of the run (``core.finance.matched_store``), not item rows."""
from __future__ import annotations

from sqlalchemy import select

from core.actors import StaffRole
from core.db.models import Payment, ReconciliationItem, ReconciliationMatched
from tests.dashboard.test_reconciliation_page import PAGE, _registry, _upload


def test_the_run_card_counts_and_lists_the_matched_pairs(dash_app, logged_in):
    data = _registry(dash_app)  # two payments the bank lists, one line we never had
    at, _ = logged_in(StaffRole.FINANCE)
    at.switch_page(PAGE).run()
    _upload(at, "reestr.csv", data)
    assert not at.exception, at.exception
    summary = next(d.value for d in at.dataframe if "Класс" in d.value.columns)
    assert dict(zip(summary["Класс"], summary["Строк банка"]))["Совпало"] == 2
    assert dict(zip(summary["Класс"], summary["Операций у нас"]))["Совпало"] == 2
    labels = at.selectbox(key="rec_klass").options
    assert "Совпало (4)" in labels  # lines of the bank + operations of ours
    at.selectbox(key="rec_klass").set_value("matched").run()
    assert not at.exception, at.exception
    pairs = at.dataframe[-1].value
    with dash_app.uow(write=False) as uow:
        s = uow.session
        paid = {str(pid): txn for pid, txn in s.execute(
            select(Payment.id, Payment.gateway_txn_id))}
        stored = s.execute(select(ReconciliationMatched.run_id,
                                  ReconciliationMatched.pairs)).all()
        kinds = list(s.scalars(select(ReconciliationItem.klass)))
    assert sorted(pairs["Платёж №"]) == sorted(paid)
    assert [paid[p] for p in pairs["Платёж №"]] == pairs["ID транзакции"].tolist()
    assert pairs["Строка файла"].tolist() == ["2", "3"]
    assert set(pairs["Решение"]) == {""}
    assert [tuple(r) for r in stored] == [(1, 2)] and kinds == ["missing_at_ours"]
