"""«Сверка» in AppTest (issue 15, points 3 and 5): a file in kopecks read as rubles is
stopped with «Читать суммы как копейки», a second registry over a reconciled period with
links to the earlier runs and «Всё равно сверить»; nothing is stored until the button's
run, which stores the run."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from core.actors import StaffRole
from core.db.models import ReconciliationRun
from core.finance.bank_registry import registry_for_period, write_registry_csv
from core.timefmt import moscow_date
from tests.dashboard.helpers import button, shown, texts
from tests.factories.payment_flow import pay_invoice, payer
from tests.finance import bank_files

PAGE = "views/reconciliation.py"


def _lines(app):  # type: ignore[no-untyped-def]
    for _ in range(3):
        pay_invoice(app, payer(app))
    today = moscow_date(app.now())
    lines = registry_for_period(app, today - timedelta(days=1), today)
    assert len(lines) == 3
    return lines


def _runs(app) -> int:  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return uow.session.scalar(select(func.count()).select_from(ReconciliationRun)) or 0


def _upload(at, name: str, data: bytes):  # type: ignore[no-untyped-def]
    at.file_uploader(key="rec_file").set_value((name, data, "text/csv"))
    at.run()
    return button(at, "Сверить").click().run()


def _page_links(at) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(link.proto.label, link.proto.page) for link in at.get("page_link")]


def test_kopecks_read_as_rubles_are_stopped_and_read_as_kopecks_by_the_button(
        dash_app, logged_in):
    data = bank_files.kopecks_as_rubles(_lines(dash_app))
    at, _ = logged_in(StaffRole.FINANCE)
    at.switch_page(PAGE).run()
    _upload(at, "kopecks.csv", data)
    assert not at.exception, at.exception
    [error] = [shown(e.value) for e in at.error]
    assert error.startswith("Файл «kopecks.csv» не сверен: суммы в нём, похоже, записаны в "
                            "копейках, а прочитаны как рубли")
    assert "единицей сумм «копейки»" in error and "Ничего не сохранено" in error
    assert _runs(dash_app) == 0 and "Сверок пока нет" in texts(at)

    button(at, "Читать суммы как копейки").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "Сверка № 1 за" in texts(at) and "расхождений 0" in texts(at)
    summary = next(d.value for d in at.dataframe if "Класс" in d.value.columns)
    assert dict(zip(summary["Класс"], summary["Строк банка"]))["Совпало"] == 3
    assert _runs(dash_app) == 1


def test_a_second_registry_of_a_period_is_asked_about_with_links_to_the_earlier_run(
        dash_app, logged_in):
    lines = _lines(dash_app)
    at, _ = logged_in(StaffRole.FINANCE)
    at.switch_page(PAGE).run()
    _upload(at, "reestr.csv", write_registry_csv(lines))
    assert "Сверка № 1 за" in texts(at) and _runs(dash_app) == 1

    # The same lines as XLSX: refused as the first file, which opens.
    _upload(at, "reestr.xlsx", bank_files.ours_xlsx(lines))
    assert any(shown(w.value).startswith("Этот реестр уже сверен: в нём те же операции, что "
                                         "в файле «reestr.csv» (сверка № 1") for w in at.warning)
    assert at.query_params.get("run") == "1" and _runs(dash_app) == 1

    fixed = [*lines, replace(lines[-1], gateway_txn_id="txn-late-1", rrn="688888888888",
                             amount_kopecks=4_200)]
    _upload(at, "fixed.csv", write_registry_csv(fixed))
    assert not at.exception, at.exception
    [warning] = [shown(w.value) for w in at.warning]
    assert "уже есть сверка № 1 за" in warning and "(файл «reestr.csv»)" in warning
    label, page = _page_links(at)[0]
    assert label.startswith("Сверка № 1 за") and page.endswith("reconciliation")
    assert at.get("page_link")[0].proto.query_string == "run=1"
    assert _runs(dash_app) == 1

    button(at, "Всё равно сверить").click().run()
    assert not at.exception, at.exception
    assert "Сверка № 2 за" in texts(at) and _runs(dash_app) == 2
    assert not _page_links(at)
