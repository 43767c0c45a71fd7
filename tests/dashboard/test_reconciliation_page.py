"""«Сверка» in AppTest: finance uploads the bank's registry and sees the classes;
agents and managers have no such page."""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pyarrow as pa
import pytest
from sqlalchemy import select

from core.db.models import ReconciliationItem
from core.actors import StaffRole
from core.finance.bank_registry import registry_for_period, write_registry_csv
from core.timefmt import moscow_date
from tests.dashboard.helpers import button, confirm, shown, table_with, texts
from tests.factories.payment_flow import pay_invoice, payer

PAGE = "views/reconciliation.py"


def _registry(app) -> bytes:  # type: ignore[no-untyped-def]
    """Two real payments; the bank's registry of today plus a line we never had."""
    for _ in range(2):
        pay_invoice(app, payer(app))
    today = moscow_date(app.now())
    lines = registry_for_period(app, today - timedelta(days=1), today)
    assert len(lines) == 2
    stranger = replace(lines[-1], gateway_txn_id="txn-stranger-1", rrn="699999999999",
                       amount_kopecks=12_345)
    return write_registry_csv([*lines, stranger])


def _upload(at, name: str, data: bytes):  # type: ignore[no-untyped-def]
    at.file_uploader(key="rec_file").set_value((name, data, "text/csv"))
    return button(at, "Сверить").click().run()


def test_finance_uploads_sees_the_classes_and_resolves_a_discrepancy(dash_app, logged_in):
    data = _registry(dash_app)
    at, _ = logged_in(StaffRole.FINANCE)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert "Сверок пока нет" in texts(at)
    _upload(at, "reestr.csv", data)
    assert not at.exception, at.exception
    page = texts(at)
    assert "Сверка № 1 за" in page and "расхождений 1" in page
    assert "Сверка № 1 · период" in page
    summary = next(d.value for d in at.dataframe if "Класс" in d.value.columns)
    assert summary["Класс"].tolist() == ["Совпало", "Расходится сумма", "Расходится статус",
                                         "Нет в реестре банка", "Нет у нас",
                                         "Дубль в реестре банка", "Итого"]
    counts = dict(zip(summary["Класс"], summary["Строк банка"]))
    assert counts["Совпало"] == 2 and counts["Нет у нас"] == 1 and counts["Итого"] == 3
    assert dict(zip(summary["Класс"], summary["Операций у нас"]))["Итого"] == 2
    items = at.dataframe[-1].value
    assert items["ID транзакции"].tolist() == ["txn-stranger-1"]
    assert items["Решение"].tolist() == ["не разрешено"]

    # «Разрешить» without what was done, or a write-off without its reason, is refused;
    # with both, the run closes.
    button(at, "Разрешить").click().run()
    confirm(at, "Чужая операция")
    assert any(shown(e.value).startswith("Что сделано: выберите") for e in at.error)
    at.selectbox(key="rec_kind").set_value("written_off").run()
    confirm(at, "")
    assert any(shown(e.value) == "Комментарий: укажите причину списания" for e in at.error)
    confirm(at, "Чужая операция, банк исправит реестр")
    assert not at.exception, at.exception
    with dash_app.uow(write=False) as uow:
        decisions = list(uow.session.execute(
            select(ReconciliationItem.resolution_kind, ReconciliationItem.resolution_comment)
            .where(ReconciliationItem.klass != "matched")))
    assert decisions == [("written_off", "Чужая операция, банк исправит реестр")]
    at.run()
    assert "Закрыта" in texts(at)
    assert "Открыть заново" in [b.label for b in at.button]

    # The same file again is recognised and opens the earlier run.
    _upload(at, "reestr-copy.csv", data)
    assert any("уже сверен: сверка № 1" in w.value for w in at.warning)
    runs = table_with(at, "Провёл(а)")
    assert runs["№"].tolist() == [1] and runs["Провёл(а)"].iloc[0]


def test_a_bad_file_lists_its_problems(dash_app, logged_in):
    at, _ = logged_in(StaffRole.ADMIN)
    at.switch_page(PAGE).run()
    bad = "Дата операции;Операция;ID транзакции;RRN;Карта;Сумма\r\nвчера;Оплата;t1;;;10\r\n"
    _upload(at, "bad.csv", bad.encode())
    assert any("не сверен" in e.value for e in at.error)
    problems = at.dataframe[0].value
    assert problems["Колонка"].tolist() == ["Дата операции"]


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.MANAGER])
def test_agents_and_managers_have_no_reconciliation_page(logged_in, role):
    at, _ = logged_in(role)
    at.switch_page(PAGE).run()  # its address says so and shows nothing of it
    assert [shown(e.value) for e in at.error] == ["Нет доступа к разделу «Сверка»"]
    assert not at.dataframe


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_every_table_of_the_page_goes_to_arrow_without_a_fix(dash_app, logged_in):
    """Streamlit logs «Serialization of dataframe to Arrow table was unsuccessful» (the
    ArrowTypeError on «Не разрешено»: numbers and "" in one column) and then shows the
    column turned to text; every column of the page's tables has one type."""
    data = _registry(dash_app)
    at, _ = logged_in(StaffRole.FINANCE)
    at.switch_page(PAGE).run()
    records = _Records()
    arrow_log = logging.getLogger("streamlit.dataframe_util")
    level = arrow_log.level
    arrow_log.addHandler(records)
    arrow_log.setLevel(logging.DEBUG)
    try:
        _upload(at, "reestr.csv", data)
        at.selectbox(key="rec_klass").set_value("missing_at_ours").run()
    finally:
        arrow_log.removeHandler(records)
        arrow_log.setLevel(level)
    assert not at.exception, at.exception
    assert not [m for m in records.messages if "Arrow" in m], records.messages
    summary = next(d.value for d in at.dataframe if "Класс" in d.value.columns)
    assert summary["Не разрешено"].tolist() == ["—", "0", "0", "0", "1", "0", "1"]


def test_a_header_problem_and_row_problems_share_one_column_type() -> None:
    from core.files.readers import RowProblem
    from dashboard.uploads import problems_table

    table = problems_table([RowProblem(None, "Сумма", "нет колонки"),
                            RowProblem(3, "Сумма", "не число")])
    assert table["Строка"].tolist() == ["заголовок", "3"]
    pa.Table.from_pandas(table)  # raised ArrowTypeError («заголовок» among numbers)
