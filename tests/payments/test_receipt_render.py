"""The receipt's three renderings: HTML page, PDF (text read back with pypdf), plain text."""
from __future__ import annotations

import html
import io
import re
from dataclasses import replace
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings, strategies as st
from pypdf import PdfReader

from core.billing.account_rules import inn_checksum_ok
from core.money import Money
from core.payments.fiscal import FiscalDocument, FiscalOperation
from core.payments.receipt_render import (AGENT_INN, AGENT_NAME, AGENT_PHONE, AGENT_SIGN, FONTS_DIR,
                                          ReceiptData, fiscal_check_query, receipt_text,
                                          render_html, render_pdf)

UNMASKED_PAN = "4111111111111111"
MASKED_PAN = "411111******1111"
HOSTILE_NAME = "ПАО «Свет & Тепло» <script>alert(1)</script>"
FN = "9999078900012345"
RN = "0000000001012345"

FISCAL = FiscalDocument(
    fiscal_drive_number=FN,
    fiscal_document_number=4217,
    fiscal_sign="0123456789",
    registered_at=datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc),
    kkt_registration_number=RN,
    shift_number=12,
)

PAID = ReceiptData(
    provider_name="ПАО «Пермэнергосбыт»",
    provider_inn="5904123456",
    provider_phone="+7 342 212-00-00",
    account_number="0123456789",
    amount_kopecks=123_456,
    commission_kopecks=1_852,
    at=datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc),  # 12:30 in Moscow
    receipt_number=1001,
    payment_number=55_017,
    status_label="Оплачен",
    sent_to="ivan@example.ru",
    fiscal=FISCAL,
    masked_pan=MASKED_PAN,
    card_brand="visa",
    auth_code="A1B2C3",
    rrn="633012345678",
)

DECLINED = replace(
    PAID, fiscal=None, status_label="Отклонён", auth_code=None, rrn=None,
    decline_reason="Недостаточно средств", receipt_number=1002,
)


class _FieldText(HTMLParser):
    """Collects the unescaped text of each ``<td data-field=...>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, str] = {}
        self._current: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "td":
            self._current = dict(attrs).get("data-field")
            if self._current:
                self.fields[self._current] = ""

    def handle_endtag(self, tag) -> None:
        if tag == "td":
            self._current = None

    def handle_data(self, data) -> None:
        if self._current:
            self.fields[self._current] += data


def fields_of(page: str) -> dict[str, str]:
    parser = _FieldText()
    parser.feed(page)
    parser.close()
    return parser.fields


def flat(text: str) -> str:
    """PDF text extraction turns no-break spaces and line wraps into plain whitespace."""
    return " ".join(text.replace("\u00a0", " ").split())


@pytest.fixture(scope="module")
def paid_pdf_text() -> str:
    pdf = render_pdf(PAID)
    assert pdf.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture(scope="module")
def declined_pdf_text() -> str:
    pdf = render_pdf(DECLINED)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_agent_constants_are_valid() -> None:
    assert re.fullmatch(r"\d{10}", AGENT_INN) and inn_checksum_ok(AGENT_INN)
    assert AGENT_NAME == "ООО «Платёжный агент ЖКХ»"
    assert AGENT_PHONE == "8 800 100 39 00"
    assert AGENT_SIGN == "Платёжный агент"


def test_fonts_and_licence_ship_with_the_code() -> None:
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE-DejaVu.txt"):
        assert (FONTS_DIR / name).is_file()
    assert "Bitstream" in (FONTS_DIR / "LICENSE-DejaVu.txt").read_text()


def test_html_is_a_complete_russian_page() -> None:
    page = render_html(PAID)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="ru">' in page and '<meta charset="utf-8">' in page
    assert "<style>" in page and "<link" not in page and "<script" not in page
    assert page.rstrip().endswith("</html>")


def test_html_carries_every_field() -> None:
    page = render_html(PAID)
    for label in ("Кассовый чек", "Приход", "Агент", "ИНН", "Телефон", "Признак агента",
                  "Поставщик услуг", "Лицевой счёт", "Сумма", "Комиссия", "Итого",
                  "Дата и время", "Чек №", "Платёж №", "Карта", "Код авторизации", "RRN",
                  "Чек отправлен", "ФН", "ФД", "ФП", "РН ККТ", "Смена", "nalog.gov.ru"):
        assert label in page, label
    fields = fields_of(page)
    assert fields["agent_name"] == AGENT_NAME
    assert fields["agent_inn"] == AGENT_INN
    assert fields["agent_phone"] == AGENT_PHONE
    assert fields["agent_sign"] == AGENT_SIGN
    assert fields["provider_name"] == PAID.provider_name
    assert fields["provider_inn"] == "5904123456"
    assert fields["provider_phone"] == "+7 342 212-00-00"
    assert fields["account_number"] == "0123456789"
    assert fields["amount"] == Money(123_456).format() == "1\u00a0234,56\u00a0₽"
    assert fields["commission"] == "18,52\u00a0₽"
    assert fields["total"] == "1\u00a0253,08\u00a0₽"
    assert fields["at"] == "25.11.2026 12:30 (МСК)"
    assert fields["receipt_number"] == "1001"
    assert fields["payment_number"] == "55017"
    assert fields["status"] == "Оплачен"
    assert fields["card"] == f"Visa {MASKED_PAN}"
    assert fields["auth_code"] == "A1B2C3"
    assert fields["rrn"] == "633012345678"
    assert fields["sent_to"] == "ivan@example.ru"
    assert fields["fn"] == FN and fields["fd"] == "4217" and fields["fp"] == "0123456789"
    assert fields["kkt_rn"] == RN and fields["shift"] == "12"
    assert "refunded" not in fields and "decline_reason" not in fields


def test_refund_receipt_shows_operation_and_refunded_amount() -> None:
    refund = replace(PAID, operation=FiscalOperation.INCOME_RETURN, refunded_kopecks=125_308,
                     status_label="Возвращён")
    fields = fields_of(render_html(refund))
    assert fields["operation"] == "Возврат прихода"
    assert fields["refunded"] == "1\u00a0253,08\u00a0₽"
    assert fiscal_check_query(refund).endswith("&n=2")


def test_html_escapes_every_value() -> None:
    hostile = replace(PAID, provider_name=HOSTILE_NAME, sent_to='"><img src=x>')
    page = render_html(hostile)
    assert "<script>" not in page and "<img" not in page
    assert html.escape(HOSTILE_NAME) in page
    assert "&amp;" in page
    fields = fields_of(page)
    assert fields["provider_name"] == HOSTILE_NAME
    assert fields["sent_to"] == '"><img src=x>'


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60))
def test_any_printable_provider_name_round_trips_escaped(name: str) -> None:
    baseline = render_html(replace(PAID, provider_name="x"))
    page = render_html(replace(PAID, provider_name=name))
    assert html.escape(name, quote=True) in page
    assert page.count("<") == baseline.count("<")  # no markup came in with the name
    assert fields_of(page)["provider_name"] == name


def test_pdf_text_has_the_receipt(paid_pdf_text: str) -> None:
    text = flat(paid_pdf_text)
    for expected in ("Кассовый чек", "Приход", "ПАО «Пермэнергосбыт»", "1 234,56 ₽",
                     "1 253,08 ₽", "18,52 ₽", MASKED_PAN, "Лицевой счёт 0123456789",
                     f"ФН {FN}", "ФД 4217", "ФП 0123456789", f"РН ККТ {RN}", "Смена 12",
                     "nalog.gov.ru", "25.11.2026 12:30 (МСК)", AGENT_NAME, AGENT_INN,
                     "Признак агента Платёжный агент", "Чек отправлен ivan@example.ru",
                     "Код авторизации A1B2C3", "RRN 633012345678"):
        assert expected in text, expected


def test_pdf_is_deterministic() -> None:
    assert render_pdf(PAID) == render_pdf(PAID)


def test_declined_payment_gets_a_statement_without_fiscal_block(declined_pdf_text) -> None:
    page = render_html(DECLINED)
    text = receipt_text(DECLINED)
    pdf_text = flat(declined_pdf_text)
    for document in (page, text, pdf_text):
        assert "Справка об операции" in document
        assert "Кассовый чек" not in document
        assert "Деньги не списаны" in document
        assert "Недостаточно средств" in document
        assert "ФН" not in document and "ФП" not in document and "РН ККТ" not in document
        assert "nalog.gov.ru" not in document
        # Not a «чек»: neither numbered nor sent as one.
        assert "Чек №" not in document and "Чек отправлен" not in document
        assert "Справка №" in document and "Справка отправлена" in document
    assert "Справка №: 1002" in text.splitlines()
    assert fields_of(page)["auth_code"] == "—"
    assert fiscal_check_query(DECLINED) is None


def test_plain_text_has_the_same_content() -> None:
    text = receipt_text(PAID)
    assert text.startswith("КАССОВЫЙ ЧЕК\nПриход\n")
    for line in ("Поставщик услуг: ПАО «Пермэнергосбыт»", "Итого: 1\u00a0253,08\u00a0₽",
                 f"Карта: Visa {MASKED_PAN}", f"ФН: {FN}", "ФД: 4217", "ФП: 0123456789",
                 f"РН ККТ: {RN}", "Смена: 12", "Чек отправлен: ivan@example.ru",
                 "Дата и время: 25.11.2026 12:30 (МСК)"):
        assert line in text.splitlines(), line
    assert "t=20261125T1230&s=1253.08&fn=9999078900012345&i=4217&fp=0123456789&n=1" in text


def test_no_full_card_number_or_cvv_anywhere(paid_pdf_text: str) -> None:
    documents = [render_html(PAID), receipt_text(PAID), paid_pdf_text]
    for document in documents:
        assert MASKED_PAN in document
        assert UNMASKED_PAN not in document
        # The only 16-digit runs are the fiscal drive and register numbers.
        assert set(re.findall(r"(?<!\d)\d{16}(?!\d)", document)) <= {FN, RN}
        assert "CVV" not in document and "CVC" not in document


@pytest.mark.parametrize("pan", [UNMASKED_PAN, "4111 1111 1111 1111", "411111****"])
def test_receipt_data_refuses_an_unmasked_card(pan: str) -> None:
    with pytest.raises(ValueError):
        replace(PAID, masked_pan=pan)


def test_document_without_fiscal_data_must_say_why() -> None:
    # A paid payment still waiting for the register must not read «Деньги не списаны».
    with pytest.raises(ValueError):
        replace(PAID, fiscal=None)
    with pytest.raises(ValueError):
        replace(PAID, decline_reason="Отказ")
