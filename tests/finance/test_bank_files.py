"""Registry files as banks send them (``tests.finance.bank_files``): each kind is read as
its profile says, and reconciles with the scenario's expected classes."""
from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from core.db.models import Refund
from core.finance import bank_registry
from core.payments import gateway as g
from core.actors import StaffRole
from core.errors import ValidationError
from core.finance import reconciliation as rec
from core.finance.bank_profile import DEFAULT, SHIPPED, from_dict
from core.finance.registry_preview import PREVIEW_COLUMNS, detect_profile, preview_registry
from core.finance.bank_registry import read_registry
from core.money import format_kopecks
from core.timefmt import MOSCOW, as_utc
from tests.factories.customers import make_staff
from tests.finance import bank_files as bf, scenario


def test_the_generator_writes_every_kind(tmp_path):
    assert bf.main([str(tmp_path)]) == 0
    written = {p.name for p in tmp_path.iterdir()}
    assert written == {f.file_name for f in bf.all_files(bf.sample_lines()).values()}
    assert (tmp_path / "reestr.xlsx").read_bytes().startswith(b"PK")


def test_the_banks_commission_and_net_are_read_in_kopecks():
    lines = bf.sample_lines(10)
    text = bf.ours_crlf(lines).decode().split("\r\n")
    text[0] += ";Комиссия;К перечислению"
    for n, line in enumerate(lines, start=1):
        fee = bf.fee_of(line)
        text[n] += f";{fee // 100},{fee % 100:02d};" + bf._rubles(line.amount_kopecks - fee)
    registry = read_registry("fee.csv", "\r\n".join(text).encode())
    assert registry.accepted, registry.problems
    assert registry.lines["fee"].dtype == "Int64" and registry.lines["net"].dtype == "Int64"
    assert registry.lines["fee"].tolist() == [bf.fee_of(x) for x in lines]
    assert registry.lines["net"].tolist() == [x.amount_kopecks - bf.fee_of(x) for x in lines]
    plain = read_registry("plain.csv", bf.ours_crlf(lines))
    assert plain.lines["fee"].isna().all() and plain.lines["net"].isna().all()
    assert plain.lines["fee"].dtype == "Int64"
    pd.testing.assert_frame_equal(plain.lines.drop(columns=["fee", "net"]),
                                  registry.lines.drop(columns=["fee", "net"]))


def _profile(name):  # type: ignore[no-untyped-def]
    return None if name is None else next(p for p in SHIPPED if p.name == name)


@pytest.mark.parametrize("kind", list(bf.READABLE))
def test_each_kind_reads_as_the_lines_it_was_made_of(kind):
    lines = bf.sample_lines()
    file = bf.all_files(lines)[kind]
    registry = read_registry(file.file_name, file.data, _profile(file.profile))
    assert registry.accepted, [p.text for p in registry.problems[:3]]
    got = registry.lines
    assert got["amount"].tolist() == [x.amount_kopecks for x in lines]
    assert got["operation"].tolist() == [x.operation.value for x in lines]
    assert got["masked_pan"].tolist() == [x.masked_pan for x in lines]
    assert got["rrn"].tolist() == [x.rrn for x in lines]
    days = [pd.Timestamp(as_utc(x.time)).tz_convert(MOSCOW).normalize() for x in lines]
    if kind == "date_only_rub":  # the day alone: the Moscow midnight, flagged
        assert got["day_only"].all()
        assert got["time"].tolist() == [d.tz_convert("UTC") for d in days]
    else:
        assert not got["day_only"].any()
        assert got["time"].tolist() == [pd.Timestamp(as_utc(x.time)) for x in lines]
    has_txn = kind not in ("rrn_only", "split_date_time_fee", "date_only_rub")
    assert got["txn_id"].tolist() == [x.gateway_txn_id if has_txn else "" for x in lines]
    if kind in ("split_date_time_fee", "fee_net_credit"):
        assert got["fee"].tolist() == [bf.fee_of(x) for x in lines]
        assert got["net"].tolist() == [x.amount_kopecks - bf.fee_of(x) for x in lines]
    else:
        assert got["fee"].isna().all() and got["net"].isna().all()


def _tolerant(monkeypatch, name, data, profile=None):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(bank_registry, "_plain_csv", lambda *_args: None)
        return read_registry(name, data, profile)


def test_a_row_with_one_cell_more_than_the_header_is_refused_naming_row_and_counts(
        monkeypatch):
    data = bf.extra_cell(bf.sample_lines(), row=3)
    expected = ["Строка 3, «Столбец 7»: в строке 7 ячеек, а в заголовке 6 столбцов: лишняя "
                "ячейка не относится ни к одному столбцу, строка не принята"]
    assert [p.text for p in read_registry("r.csv", data).problems] == expected
    assert [p.text for p in _tolerant(monkeypatch, "r.csv", data).problems] == expected
    # Trailing empty cells (a «;» at the end of every row) are nobody's column: fine.
    padded = b"\r\n".join(row + b";" if row else row
                          for row in bf.ours_crlf(bf.sample_lines()).split(b"\r\n"))
    assert read_registry("r.csv", padded).accepted


def test_a_comma_separated_file_with_unquoted_decimal_commas_gets_one_problem():
    registry = read_registry("comma.csv", bf.comma_unquoted(bf.sample_lines()))
    assert len(registry.problems) == 1
    text = registry.problems[0].text
    assert "разделены запятой" in text and "без кавычек" in text
    assert "разделителем «;»" in text and "в кавычки" in text


def test_iso_times_are_converted_by_their_offset_not_taken_as_moscow():
    lines = bf.sample_lines(3)
    text = bf.english_iso_offset(lines).decode().replace("+03:00", "+05:00")
    registry = read_registry("en.csv", text.encode(), _profile("English, ISO 8601"))
    assert registry.accepted
    assert registry.lines["time"].tolist() == [
        pd.Timestamp(as_utc(x.time)) - pd.Timedelta(hours=2) for x in lines]


def test_an_unknown_operation_word_names_the_profiles_words():
    lines = bf.sample_lines(3)
    data = bf.date_only_rub(lines).decode().replace("Покупка (онлайн)", "Перевод", 1).encode()
    registry = read_registry("online.csv", data, _profile("Интернет-банк: только дата"))
    assert [p.text for p in registry.problems] == [
        "Строка 2, «Операция»: «Перевод» — ожидается оплата («Покупка (онлайн)», «Покупка», "
        "«Оплата») или возврат («Возврат покупки», «Возврат») — слова профиля «Интернет-банк: "
        "только дата»"]


def test_a_kopecks_profile_reads_integer_kopecks_and_refuses_rubles():
    lines = bf.sample_lines(3)
    profile = _profile("Суммы в копейках")
    registry = read_registry("k.csv", bf.kopecks_header(lines), profile)
    assert registry.lines["amount"].tolist() == [x.amount_kopecks for x in lines]
    data = bf.kopecks_header(lines).decode().replace(f";{lines[0].amount_kopecks}\r",
                                                     ";1000,50\r").encode()
    assert [p.text for p in read_registry("k.csv", data, profile).problems] == [
        "Строка 2, «Сумма»: «1000,50»: не целое число копеек (единица сумм профиля — копейки)"]


def test_a_file_without_any_key_column_is_refused_naming_it():
    data = "Дата операции;Операция;Сумма\r\n25.11.2026 10:00:00;Оплата;10,00\r\n".encode()
    assert [p.text for p in read_registry("r.csv", data).problems] == [
        "Заголовок файла, «ID транзакции»: в файле нет ни ID транзакции, ни RRN, ни карты: "
        "строку не с чем найти у нас"]
    rows = bf.rrn_only(bf.sample_lines(3)).decode().split("\r\n")
    rows[1] = ";".join([*rows[1].split(";")[:2], "", "", rows[1].split(";")[-1]])
    assert [p.text for p in read_registry("r.csv", "\r\n".join(rows).encode()).problems] == [
        "Строка 2, «RRN»: не заполнено (нет ни RRN, ни карты: строку не с чем найти у нас)"]


@pytest.mark.parametrize("kind", list(bf.READABLE))
def test_the_profile_is_detected_from_the_header(kind):
    file = bf.all_files(bf.sample_lines(5))[kind]
    found = detect_profile(file.file_name, file.data, SHIPPED)
    assert found is not None and found.name == (file.profile or DEFAULT.name)


def test_no_profile_is_detected_for_a_file_none_can_read():
    assert detect_profile("x.csv", "Дата;Сумма\r\n1;2\r\n".encode(), SHIPPED) is None


def test_a_preview_shows_the_first_rows_as_read_without_reading_the_rest():
    lines = bf.sample_lines(40)
    data = bf.split_date_time_fee(lines) + b"\xff\xfe garbage that would refuse the file\r\n"
    preview = preview_registry("a.csv", data, _profile(bf.READABLE["split_date_time_fee"][2]),
                               rows=3)
    assert preview.readable
    assert list(preview.rows.columns) == list(PREVIEW_COLUMNS)
    first = preview.rows.iloc[0].to_dict()
    moscow = as_utc(lines[0].time).astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M:%S")
    assert first == {"Строка": 3, "Дата и время (МСК)": moscow, "Операция": "Оплата",
                     "ID транзакции": "", "RRN": lines[0].rrn, "Карта": lines[0].masked_pan,
                     "Сумма": format_kopecks(lines[0].amount_kopecks),
                     "Комиссия банка": format_kopecks(bf.fee_of(lines[0])),
                     "К перечислению": format_kopecks(lines[0].amount_kopecks
                                                      - bf.fee_of(lines[0]))}
    assert set(preview_registry("a.csv", bf.rrn_only(lines[:2]),
                                DEFAULT).rows["Комиссия банка"]) == {""}  # a file without the bank's commission shows none, not «None»
    assert len(preview.rows) == 3


def test_a_preview_names_the_problems_of_its_rows():
    rows = bf.ours_crlf(bf.sample_lines(5)).decode().split("\r\n")
    rows[2] = rows[2].replace("Оплата", "Перевод")
    preview = preview_registry("r.csv", "\r\n".join(rows).encode(), DEFAULT, rows=5)
    assert [p.text for p in preview.problems] == [
        "Строка 3, «Операция»: «Перевод» — ожидается «Оплата» или «Возврат»"]
    assert preview.rows["Операция"].tolist()[1] == "Перевод"


def test_a_bad_profile_is_refused_naming_the_field():
    raw = DEFAULT.to_dict()
    with pytest.raises(ValidationError, match="^Столбец «Сумма»: "):
        from_dict({**raw, "columns": {k: v for k, v in raw["columns"].items() if k != "amount"}})
    with pytest.raises(ValidationError, match="^Единица сумм: "):
        from_dict({**raw, "amount_unit": "dollars"})
    assert from_dict(raw) == DEFAULT  # the shipped default survives its file form


_ALL = {"matched": 7, "amount_differs": 1, "status_differs": 2, "missing_at_bank": 0,
        "missing_at_ours": 1, "duplicate_at_bank": 1}
# Without our transaction id the refund is paired by its own RRN (kept from the acquirer's
# answer), the doubled payment's second line by its RRN; only the refund line of a payment
# we never refunded names no payment of ours (its RRN is the bank's own): «нет у нас», not
# «расходится статус».
_NO_TXN = {**_ALL, "status_differs": 1, "missing_at_ours": 2}


@pytest.mark.parametrize("kind", list(bf.READABLE))
def test_each_kind_reconciles_with_the_expected_classes(app, clock, kind, monkeypatch):  # type: ignore[no-untyped-def]
    story = scenario.build(app, clock)
    file = bf.all_files(story.lines)[kind]
    results = []
    match = rec.matching.match
    monkeypatch.setattr(rec.matching, "match",
                        lambda *args, **kw: results.append(match(*args, **kw)) or results[-1])
    run = rec.reconcile(app, make_staff(app, StaffRole.FINANCE), file.file_name, file.data,
                        profile=_profile(file.profile))
    counts = {c.klass: c.bank_count for c in run.classes}
    no_txn = kind in ("rrn_only", "split_date_time_fee", "date_only_rub")
    if no_txn:
        assert counts == _NO_TXN, (counts, {c.klass: c.our_count for c in run.classes})
    else:
        assert counts == _ALL, counts
    # The refund we made is paired with its line by the transaction id, or (no id in the
    # file) by the refund's own RRN the acquirer answered, not by the card's amount.
    with app.uow(write=False) as uow:
        made = uow.session.execute(select(Refund.id, Refund.rrn)).all()
    assert len(made) == 1 and made[0].rrn
    assert made[0].rrn in {x.rrn for x in story.lines if x.operation is g.Operation.REFUND}
    ours = results[-1][results[-1]["refund_id"] == made[0].id]
    assert ours["klass"].tolist() == ["matched"]
    assert ours["matched_by"].tolist() == ["rrn" if no_txn else "txn"]
    assert ours["bank_rrn"].tolist() == [made[0].rrn]
    ours = {c.klass: c.our_count for c in run.classes}
    assert ours["missing_at_bank"] == 1  # the payment the bank lost, not the refund
    assert run.bank_lines == len(story.lines)
