"""«Сверка» in AppTest after the matching: a suggested pair taken with «Сопоставить», a pair
made by hand in the form, what was done shown per item («—» where it was never recorded),
and the open items per period."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select, update

from core.actors import StaffRole
from core.db.models import Payment, ReconciliationItem
from core.money import format_kopecks
from core.finance.bank_registry import registry_for_period, write_registry_csv
from core.timefmt import moscow_date
from tests.dashboard.helpers import button, confirm, shown, table_with, texts
from tests.factories.payment_flow import pay_invoice, payer

PAGE = "views/reconciliation.py"


def _registry(app):  # type: ignore[no-untyped-def]
    """Three real payments. The bank lists the first under its own reference without our
    commission (suggested: «Та же карта, сумма отличается…», with the first payment, and
    with the second: it is of the same amount and card), the second under its own
    reference with an amount nothing explains (paired by hand), the third as it is."""
    views = [pay_invoice(app, payer(app)) for _ in range(3)]
    today = moscow_date(app.now())
    lines = registry_for_period(app, today - timedelta(days=1), today)
    assert len(lines) == 3
    with app.uow(write=False) as uow:
        payments = {p.gateway_txn_id: p for p in uow.session.scalars(select(Payment))}
    first, second = (payments[x.gateway_txn_id] for x in lines[:2])
    fee = replace(lines[0], gateway_txn_id="BANK-FEE-1", rrn="", amount_kopecks=first.amount)
    odd = replace(lines[1], gateway_txn_id="BANK-ODD-2", rrn="",
                  masked_pan="999999******9999", amount_kopecks=4_321)
    return write_registry_csv([fee, odd, lines[2]]), first, second, views


def _open(at, data: bytes):  # type: ignore[no-untyped-def]
    at.file_uploader(key="rec_file").set_value(("reestr.csv", data, "text/csv"))
    button(at, "Сверить").click().run()
    assert not at.exception, at.exception
    return at


def _decisions(app):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return {(i.klass, i.bank_txn_id or i.payment_id): (
            i.resolution_kind, i.resolution_comment, i.paired_item_id, i.payment_id)
            for i in uow.session.scalars(select(ReconciliationItem)
                                         .where(ReconciliationItem.klass != "matched"))}


def test_a_suggested_pair_is_taken_and_another_is_paired_by_hand(dash_app, logged_in):
    data, first, second, _ = _registry(dash_app)
    at, _ = logged_in(StaffRole.FINANCE)
    at.switch_page(PAGE).run()
    _open(at, data)
    assert "Сопоставление вручную" in texts(at)
    suggested = table_with(at, "Почему предложено")
    # Both payments are of one amount and card: the nearer in time first.
    assert suggested["Платёж №"].tolist() == [str(first.id), str(second.id)]
    assert suggested["Строка файла"].tolist() == ["2", "2"]
    assert suggested["Почему предложено"].iloc[0].startswith("Та же карта, сумма отличается на")
    assert "**Возможные пары** (показано 2 из 2)" in texts(at)

    button(at, "Сопоставить").click().run()
    confirm(at, "")
    assert any(shown(e.value).startswith("Причина: укажите, почему") for e in at.error)
    confirm(at, "Банк удержал нашу комиссию")
    assert not at.exception, at.exception
    decided = _decisions(dash_app)
    line, ours = decided[("missing_at_ours", "BANK-FEE-1")], decided[("missing_at_bank",
                                                                       first.id)]
    assert (line[0], line[1], line[3]) == ("paired", "Банк удержал нашу комиссию", first.id)
    assert (ours[0], ours[1]) == ("paired", "Банк удержал нашу комиссию")

    # Nothing else looks alike; the form pairs the odd line with the second payment.
    at.run()
    assert "Похожих пар не найдено" in texts(at)
    with dash_app.uow(write=False) as uow:
        ids = {(i.klass, i.bank_txn_id or i.payment_id): i.id for i in uow.session.scalars(
            select(ReconciliationItem))}
    odd_line, second_item = ids[("missing_at_ours", "BANK-ODD-2")], ids[("missing_at_bank",
                                                                          second.id)]
    assert len(at.selectbox(key="rec_pair_line").options) == 1  # the one open line
    at.selectbox(key="rec_pair_line").set_value(odd_line)
    at.selectbox(key="rec_pair_payment").set_value(second_item)
    button(at, "Сопоставить вручную").click().run()
    assert any(shown(e.value).startswith("Причина: ") for e in at.error)
    assert _decisions(dash_app)[("missing_at_ours", "BANK-ODD-2")][0] is None
    at.selectbox(key="rec_pair_line").set_value(odd_line)
    at.selectbox(key="rec_pair_payment").set_value(second_item)
    at.text_input(key="rec_pair_reason").input("Банк подтвердил письмом: опечатка в реестре")
    button(at, "Сопоставить вручную").click().run()
    assert not at.exception, at.exception
    decided = _decisions(dash_app)
    assert decided[("missing_at_ours", "BANK-ODD-2")] == (
        "paired", "Банк подтвердил письмом: опечатка в реестре", second_item, second.id)
    assert decided[("missing_at_bank", second.id)][2] == odd_line
    at.run()
    assert "Закрыта" in texts(at)  # the last open items were the two pairs
    at.selectbox(key="rec_klass").set_value("missing_at_ours").run()
    items = table_with(at, "Что сделано")
    assert items["Что сделано"].tolist() == ["Сопоставлено вручную"] * 2
    assert all(d.startswith("пара: строка сверки № ") for d in items["Решение"])


def test_what_was_done_reads_in_the_table_and_open_items_per_period(dash_app, logged_in):
    data, first, second, _ = _registry(dash_app)
    at, _ = logged_in(StaffRole.FINANCE)
    at.switch_page(PAGE).run()
    _open(at, data)
    at.selectbox(key="rec_klass").set_value("missing_at_ours").run()
    at.selectbox(key="rec_kind").set_value("bank_error").run()
    button(at, "Разрешить").click().run()
    confirm(at, "Написали в банк, письмо № 12")
    assert not at.exception, at.exception
    with dash_app.uow() as uow:  # as if resolved before the kind was asked (migration 0026)
        uow.session.execute(update(ReconciliationItem)
                            .where(ReconciliationItem.bank_txn_id == "BANK-ODD-2")
                            .values(resolved_at=dash_app.now(), resolution_comment="давно",
                                    resolution_kind=None))
        uow.commit()
    at.run()
    items = table_with(at, "Что сделано")
    assert sorted(items["Что сделано"].tolist()) == ["Сообщено банку об ошибке", "—"]

    periods = table_with(at, "Период сверок")
    month = periods["Период сверок"].iloc[0]
    assert periods["Период сверок"].tolist() == [month, "Итого"]
    assert periods["Не разрешено"].tolist() == [2, 2]  # the two payments «нет в банке»
    assert periods["Сверок"].tolist() == [1, 1] and periods["Закрыто"].tolist() == [0, 0]
    our_open = first.amount + first.commission + second.amount + second.commission
    assert periods["Сумма у нас"].tolist() == [format_kopecks(our_open)] * 2
    at.radio(key="rec_open_by").set_value("run").run()
    assert table_with(at, "Период сверок")["Период сверок"].iloc[0].startswith("№ 1 · ")
