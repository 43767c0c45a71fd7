"""How an invoice list and an invoice's charge breakdown look, on every page that shows them."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.money import Money, format_kopecks
from core.billing.invoices import InvoiceDetail, InvoiceRow
from core.timefmt import format_date
from dashboard.widgets import plain


def invoice_frame(rows: list[InvoiceRow], *, with_name: bool = False) -> pd.DataFrame:
    return pd.DataFrame([{
        "Поставщик": r.provider_name, "Лицевой счёт": r.account_number,
        **({"Название": r.account_name or ""} if with_name else {}),
        "Период": r.period_label, "К оплате": format_kopecks(r.total_due),
        "Оплачено": format_kopecks(r.paid_amount), "Статус": r.status_label,
        "Срок оплаты": format_date(r.due_date) + (" · просрочен" if r.overdue else ""),
    } for r in rows])


def render_invoice(detail: InvoiceDetail) -> None:
    row = detail.invoice
    st.subheader(f"Счёт за {row.period_label}: {Money(row.total_due)}")
    st.markdown(plain(f"{row.provider_name} (ИНН {detail.provider_inn}) · лицевой счёт "
                      f"{row.account_number} · {detail.address} · плательщик "
                      f"{detail.payer_masked}") + "  \n"
                f"Статус: **{row.status_label}** · оплачено {Money(row.paid_amount)} · "
                f"срок оплаты {format_date(row.due_date)}")
    lines = pd.DataFrame([{
        "Услуга": line.service, "Ед. изм.": line.unit,
        "Объём": f"{line.volume:.3f}".rstrip("0").rstrip(".").replace(".", ","),
        "Тариф": format_kopecks(line.tariff), "Начислено": format_kopecks(line.accrued),
        "Перерасчёт": format_kopecks(line.recalculation),
        "Долг (+) / аванс (−)": format_kopecks(line.debt), "Итого": format_kopecks(line.total),
    } for line in detail.lines])
    st.table(lines.map(plain))  # its cells are markdown; services come from files
    st.caption(f"Начислено {Money(detail.accrued)}, перерасчёт {Money(detail.recalculation)}, "
               f"долг/аванс {Money(detail.debt)}, итого к оплате {Money(row.total_due)}"
               + (f" · реестр «{plain(detail.registry_file_name)}»" if detail.registry_file_name
                  else ""))
