"""The payment receipt: one ``ReceiptData``, three renderings (HTML page, PDF, plain text).

A payment that moved money gets a «Кассовый чек» carrying the fiscal requisites
(ФН, ФД, ФП, РН ККТ, смена) so the customer can check it on nalog.gov.ru. A payment
that moved no money (declined, timed out without a charge) gets a «Справка об
операции» instead: no fiscal block, an explicit «Деньги не списаны» and the reason.

All three renderings are built from one list of rows (``receipt_rows``), so the page,
the PDF and the e-mail body can never disagree about what the receipt says.

The card appears only masked (411111******1111): ``ReceiptData`` refuses anything
else, and there is no field where a full number or a CVV could go.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from core.money import Money
from core.payments.cards import brand_label
from core.payments.fiscal import FiscalDocument, FiscalOperation
from core.timefmt import MOSCOW, as_utc, format_datetime_msk

AGENT_NAME = "ООО «Платёжный агент ЖКХ»"
# 10-digit organisation INN with a valid check digit (7701234567 would fail the checksum).
AGENT_INN = "7701234560"
AGENT_PHONE = "8 800 100 39 00"
AGENT_SIGN = "Платёжный агент"
FNS_SITE = "www.nalog.gov.ru"

TITLE_RECEIPT = "Кассовый чек"
TITLE_STATEMENT = "Справка об операции"
NO_MONEY_NOTE = "Деньги не списаны"


FONTS_DIR = Path(__file__).resolve().parent.parent / "data" / "fonts"
_FONT_REGULAR = FONTS_DIR / "DejaVuSans.ttf"
_FONT_BOLD = FONTS_DIR / "DejaVuSans-Bold.ttf"

# First 6 and last 4 digits with 2..9 stars between: the only card form we ever print.
_MASKED_PAN = re.compile(r"\d{6}\*{2,9}\d{4}")


@dataclass(frozen=True)
class ReceiptData:
    """Everything a payment agent's receipt carries (54-FZ, 103-FZ).

    ``amount_kopecks`` goes to the provider; ``commission_kopecks`` is ours; the total
    charged is their sum (``total_kopecks``), computed so it can never disagree.
    ``at`` is UTC and shown in Moscow time. ``fiscal`` is None exactly for operations
    that moved no money; those must say why (``decline_reason``).
    """

    provider_name: str
    provider_inn: str
    provider_phone: str
    account_number: str
    amount_kopecks: int
    commission_kopecks: int
    at: datetime
    receipt_number: int
    payment_number: int
    status_label: str  # «Оплачен», «Отклонён», «Возвращён»…
    sent_to: str  # the customer's e-mail or phone
    fiscal: FiscalDocument | None
    masked_pan: str | None = None
    card_brand: str | None = None  # "visa" / "mir" / … or a ready label
    auth_code: str | None = None
    rrn: str | None = None
    refunded_kopecks: int = 0
    decline_reason: str | None = None
    operation: FiscalOperation = FiscalOperation.INCOME
    agent_name: str = AGENT_NAME
    agent_inn: str = AGENT_INN
    agent_phone: str = AGENT_PHONE
    agent_sign: str = AGENT_SIGN

    def __post_init__(self) -> None:
        object.__setattr__(self, "operation", FiscalOperation(self.operation))
        if self.masked_pan is not None and not _MASKED_PAN.fullmatch(self.masked_pan):
            # A full card number must never reach a document that is e-mailed and stored.
            raise ValueError("masked_pan must be masked, e.g. 411111******1111")
        if self.at.tzinfo is None:
            raise ValueError("at must be timezone-aware (UTC)")
        if min(self.amount_kopecks, self.commission_kopecks, self.refunded_kopecks) < 0:
            raise ValueError("amounts are non-negative kopecks")
        # A paid payment still waiting for the register must not be shown as «Деньги не
        # списаны»: without a fiscal document the caller has to say why nothing moved.
        if self.fiscal is None and not (self.decline_reason or "").strip():
            raise ValueError("a document without fiscal data needs decline_reason")
        if self.fiscal is not None and self.decline_reason is not None:
            raise ValueError("a fiscal receipt has no decline_reason")

    @property
    def total_kopecks(self) -> int:
        return self.amount_kopecks + self.commission_kopecks

    @property
    def is_fiscal(self) -> bool:
        return self.fiscal is not None

    @property
    def title(self) -> str:
        return TITLE_RECEIPT if self.fiscal is not None else TITLE_STATEMENT


@dataclass(frozen=True)
class Row:
    """One «label: value» line; ``key`` names the field for the page's markup and tests."""

    key: str
    label: str
    value: str


@dataclass(frozen=True)
class Section:
    heading: str | None
    rows: tuple[Row, ...]


def _dash(value: str | None) -> str:
    return value if value and value.strip() else "—"


def card_label(data: ReceiptData) -> str:
    """«Visa 411111******1111», or «—» when no card reached the gateway."""
    brand = brand_label(data.card_brand)
    return " ".join(part for part in (brand, data.masked_pan or "") if part) or "—"


def fiscal_check_query(data: ReceiptData) -> str | None:
    """The string the ФНС «Проверка чеков» app reads from a receipt's QR code.

    ``t`` is the register's local (Moscow) time, ``s`` the total in rubles.
    """
    if data.fiscal is None:
        return None
    doc = data.fiscal
    local = as_utc(doc.registered_at).astimezone(MOSCOW)
    rubles, kopecks = divmod(data.total_kopecks, 100)
    return (
        f"t={local:%Y%m%dT%H%M}&s={rubles}.{kopecks:02d}&fn={doc.fiscal_drive_number}"
        f"&i={doc.fiscal_document_number}&fp={doc.fiscal_sign}&n={data.operation.check_code}"
    )


def receipt_rows(data: ReceiptData) -> list[Section]:
    """The receipt's content, in print order; every renderer draws exactly this."""
    def money(kopecks: int) -> str:
        return Money(kopecks).format()

    sections = [
        Section(None, (
            Row("agent_name", "Агент", data.agent_name),
            Row("agent_inn", "ИНН", data.agent_inn),
            Row("agent_phone", "Телефон", data.agent_phone),
            Row("agent_sign", "Признак агента", data.agent_sign),
        )),
        Section(None, (
            Row("provider_name", "Поставщик услуг", data.provider_name),
            Row("provider_inn", "ИНН поставщика", data.provider_inn),
            Row("provider_phone", "Телефон поставщика", data.provider_phone),
            Row("account_number", "Лицевой счёт", data.account_number),
        )),
    ]
    amounts = [
        Row("operation", "Операция", data.operation.label),
        Row("amount", "Сумма", money(data.amount_kopecks)),
        Row("commission", "Комиссия", money(data.commission_kopecks)),
        Row("total", "Итого", money(data.total_kopecks)),
    ]
    if data.refunded_kopecks:
        amounts.append(Row("refunded", "Возвращено", money(data.refunded_kopecks)))
    sections.append(Section(None, tuple(amounts)))
    payment = [
        Row("at", "Дата и время", format_datetime_msk(data.at)),
        # A statement moved no money: it is not a «чек», and is not numbered or sent as one.
        Row("receipt_number", "Чек №" if data.fiscal is not None else "Справка №",
            str(data.receipt_number)),
        Row("payment_number", "Платёж №", str(data.payment_number)),
        Row("status", "Статус", data.status_label),
        Row("card", "Карта", card_label(data)),
        Row("auth_code", "Код авторизации", _dash(data.auth_code)),
        Row("rrn", "RRN", _dash(data.rrn)),
    ]
    if data.fiscal is None:
        payment.append(Row("decline_reason", "Причина", _dash(data.decline_reason)))
    sections.append(Section(None, tuple(payment)))
    if data.fiscal is not None:
        doc = data.fiscal
        sections.append(Section("Фискальные данные", (
            Row("fn", "ФН", doc.fiscal_drive_number),
            Row("fd", "ФД", str(doc.fiscal_document_number)),
            Row("fp", "ФП", doc.fiscal_sign),
            Row("kkt_rn", "РН ККТ", doc.kkt_registration_number),
            Row("shift", "Смена", str(doc.shift_number)),
            Row("registered_at", "Зарегистрирован", format_datetime_msk(doc.registered_at)),
            Row("fns_site", "Сайт ФНС", FNS_SITE),
            Row("check_query", "Данные для проверки", fiscal_check_query(data) or "—"),
        )))
    sent = "Чек отправлен" if data.fiscal is not None else "Справка отправлена"
    sections.append(Section(None, (Row("sent_to", sent, _dash(data.sent_to)),)))
    return sections


def _notice(data: ReceiptData) -> str | None:
    """The line under the title of a document that moved no money."""
    if data.fiscal is not None:
        return None
    return f"{NO_MONEY_NOTE}. {TITLE_STATEMENT} не является кассовым чеком."


# --- HTML ------------------------------------------------------------------

_CSS = """
body{margin:0;padding:24px;background:#f3f4f6;font-family:"DejaVu Sans",Arial,sans-serif;color:#111}
.receipt{max-width:420px;margin:0 auto;background:#fff;padding:20px 24px;border:1px solid #d1d5db}
h1{font-size:20px;text-align:center;margin:0 0 4px}
.operation{text-align:center;margin:0 0 12px;color:#374151}
.notice{border:1px solid #b91c1c;color:#b91c1c;padding:8px;margin:0 0 12px;text-align:center}
h2{font-size:14px;margin:12px 0 4px}
table{width:100%;border-collapse:collapse;border-top:1px dashed #9ca3af}
th,td{padding:3px 0;vertical-align:top;font-size:13px}
th{text-align:left;font-weight:normal;color:#4b5563;width:45%}
td{text-align:right;word-break:break-word}
tr.total td,tr.total th{font-weight:bold;color:#111}
""".strip()


def render_html(data: ReceiptData) -> str:
    """A complete, self-contained HTML5 page; every value is escaped."""
    def e(text: object) -> str:
        return html.escape(str(text), quote=True)

    parts = [
        "<!DOCTYPE html>",
        '<html lang="ru">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(data.title)} № {e(data.receipt_number)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        '<main class="receipt">',
        f"<h1>{e(data.title)}</h1>",
        f'<p class="operation">{e(data.operation.label)}</p>',
    ]
    notice = _notice(data)
    if notice:
        parts.append(f'<p class="notice">{e(notice)}</p>')
    for section in receipt_rows(data):
        if section.heading:
            parts.append(f"<h2>{e(section.heading)}</h2>")
        parts.append("<table>")
        for row in section.rows:
            css = ' class="total"' if row.key == "total" else ""
            parts.append(
                f'<tr{css}><th scope="row">{e(row.label)}</th>'
                f'<td data-field="{e(row.key)}">{e(row.value)}</td></tr>'
            )
        parts.append("</table>")
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


# --- plain text --------------------------------------------------------------

def receipt_text(data: ReceiptData) -> str:
    """The receipt as plain text: the body of the e-mail that carries it."""
    lines = [data.title.upper(), data.operation.label]
    notice = _notice(data)
    if notice:
        lines.append(notice)
    for section in receipt_rows(data):
        lines.append("-" * 40)
        if section.heading:
            lines.append(section.heading)
        lines += [f"{row.label}: {row.value}" for row in section.rows]
    return "\n".join(lines) + "\n"


# --- PDF ---------------------------------------------------------------------

def render_pdf(data: ReceiptData) -> bytes:
    """The same content as a one-page PDF, Cyrillic via the bundled DejaVu Sans.

    The creation date is the receipt's own time, so the same receipt renders to the
    same bytes (stable for tests, for de-duplicating attachments, for archives).
    """
    from fpdf import FPDF  # imported here: only receipt downloads and e-mails need it
    from fpdf.enums import XPos, YPos

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(as_utc(data.at).astimezone(timezone.utc))
    pdf.set_title(f"{data.title} № {data.receipt_number}")
    pdf.set_author(data.agent_name)
    pdf.set_creator("Платёжный агент ЖКХ")
    pdf.set_lang("ru")
    # A narrow column in the middle of an A4 page: reads like a till slip, prints anywhere.
    pdf.set_margins(40, 15, 40)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(_FONT_REGULAR))
    pdf.add_font("DejaVu", "B", str(_FONT_BOLD))
    pdf.add_page()

    width = pdf.epw
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(width, 8, data.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(width, 6, data.operation.label, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    notice = _notice(data)
    if notice:
        pdf.set_text_color(185, 28, 28)
        pdf.multi_cell(width, 5, notice, border=1, align="C",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)

    label_width = width * 0.42
    for section in receipt_rows(data):
        pdf.ln(2)
        pdf.set_draw_color(156, 163, 175)
        pdf.set_dash_pattern(dash=1, gap=1)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.set_dash_pattern()
        pdf.ln(1)
        if section.heading:
            pdf.set_font("DejaVu", "B", 10)
            pdf.cell(width, 6, section.heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for row in section.rows:
            bold = row.key == "total"
            pdf.set_font("DejaVu", "B" if bold else "", 9)
            # Labels are short and fit one line; values (long names, the check string)
            # wrap inside their column.
            if row.key == "check_query":
                # One long token: give it the full width on its own line, smaller.
                pdf.cell(width, 5, row.label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.set_font("DejaVu", "", 7)
                pdf.multi_cell(width, 4, row.value, align="R",
                               new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                continue
            pdf.cell(label_width, 5, row.label)
            pdf.multi_cell(width - label_width, 5, row.value, align="R",
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
