"""A reconciliation run as CSV, beside the XLSX (``reconciliation.export_run``), and
the lines whose bank commission is off the tariff (the run card's list).

One table (CSV has no sheets): every item of every class, the class first, then the
XLSX sheets' columns; UTF-8 with a BOM and ``;`` (``core.files.exports.to_csv``: what a
Russian Excel opens by a double click). The summary and the fee days stay the XLSX's
sheets and the card's tables. Audited like the XLSX (``reconciliation.export``,
``format`` csv).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.actors import StaffActor, require_role
from core.app import App
from core.files import exports
from core.finance import reconciliation as rec
from core.staff import audit

CSV_COLUMNS = (exports.Column("Класс", width=24), *rec.ITEM_COLUMNS)


def export_run_csv(app: App, actor: StaffActor, run_id: int) -> bytes:
    """Every item of the run in one CSV table (audited)."""
    require_role(actor, rec.RECONCILERS, "сверка с банком")
    view = rec.get_run(app, actor, run_id)
    counted = 0
    with app.uow(write=False) as uow:
        s = uow.session

        def rows() -> Iterator[tuple[Any, ...]]:
            nonlocal counted
            for klass in rec.CLASSES:
                for r in rec.export_items(s, view.id, klass):
                    counted += 1
                    yield (rec.CLASS_LABELS[klass], *rec.export_row(r))

        data = exports.to_csv(CSV_COLUMNS, rows())
    with app.uow() as uow:
        audit.record(uow.session, at=app.now(), action="reconciliation.export", actor=actor,
                     after={"run_id": view.id, "rows": counted, "format": "csv"})
        uow.commit()
    return data


def off_tariff(app: App, actor: StaffActor, run_id: int,
               limit: int = 100) -> list[rec.ItemRow]:
    """The run's lines whose commission is not the tariff's (for the card; the exports
    mark every one in «Комиссия не по тарифу»)."""
    require_role(actor, rec.RECONCILERS, "сверка с банком")
    with app.uow(write=False) as uow:
        return rec.off_tariff_items(uow.session, int(run_id), limit)


__all__ = ["CSV_COLUMNS", "export_run_csv", "off_tariff"]
