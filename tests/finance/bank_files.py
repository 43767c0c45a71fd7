"""Registry files as banks really send them, generated from settlement lines.

Every kind of file issue 15 names is made here from a list of ``SettlementLine`` (the
test scenario's or ``sample_lines``), never kept as a hand-edited binary: each function
returns the file's bytes. ``all_files(lines)`` gives every kind by name with the file
name to upload it under; ``python -m tests.finance.bank_files OUTDIR`` writes them all
(to look at them, or to try them in the dashboard).

The amounts: a payment line is what the card was charged (as in the simulator's
registry); ``fee_bp`` is the bank's commission of the files that list it (basis
points of a payment line, rounded half up; nothing on a refund), the net amount is the
line minus it.
"""
from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.finance.bank_registry import write_registry_csv, write_registry_xlsx
from core.payments import gateway as g
from core.timefmt import MOSCOW, as_utc

FEE_BP = 180  # 1.8 %: the commission the «fee and net» files list


@dataclass(frozen=True)
class BankFile:
    file_name: str
    data: bytes
    profile: str | None  # the shipped profile that reads it; None: the default one reads it


def _moscow(line: g.SettlementLine) -> datetime:
    return as_utc(line.time).astimezone(MOSCOW)


def _rubles(kopecks: int, thousands: str = "", decimal: str = ",") -> str:
    whole = f"{kopecks // 100:,}".replace(",", thousands)
    return f"{whole}{decimal}{kopecks % 100:02d}"


def fee_of(line: g.SettlementLine, fee_bp: int = FEE_BP) -> int:
    """The bank's commission of a line (kopecks): ``fee_bp`` of a payment, 0 of a refund."""
    if line.operation is not g.Operation.PAYMENT:
        return 0
    return (line.amount_kopecks * fee_bp + 5_000) // 10_000


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]], *, sep: str = ";",
         newline: str = "\r\n", encoding: str = "utf-8", quoting: int = csv.QUOTE_MINIMAL,
         above: Sequence[str] = ()) -> bytes:
    out = io.StringIO()
    for title in above:
        out.write(title + newline)
    writer = csv.writer(out, delimiter=sep, lineterminator=newline, quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _words(payment: str, refund: str | Sequence[str]) -> Callable[[g.SettlementLine, int], str]:
    """The operation's word; several refund words take turns (line by line)."""
    refunds = (refund,) if isinstance(refund, str) else tuple(refund)

    def word(line: g.SettlementLine, index: int) -> str:
        if line.operation is g.Operation.PAYMENT:
            return payment
        return refunds[index % len(refunds)]
    return word


# --- our own format and its byte layouts ---------------------------------------------------

def ours_crlf(lines: Sequence[g.SettlementLine]) -> bytes:
    """The simulator's format as written (UTF-8, ``;``, CRLF)."""
    return write_registry_csv(lines)


def ours_lf(lines: Sequence[g.SettlementLine]) -> bytes:
    """The same registry with Unix line ends."""
    return write_registry_csv(lines).replace(b"\r\n", b"\n")


def ours_bom(lines: Sequence[g.SettlementLine]) -> bytes:
    """The same registry saved by Excel as «CSV UTF-8»: a BOM in front."""
    return b"\xef\xbb\xbf" + write_registry_csv(lines)


def ours_xlsx(lines: Sequence[g.SettlementLine]) -> bytes:
    return write_registry_xlsx(lines)


# --- layouts of banks' own exports ---------------------------------------------------------

def rrn_only(lines: Sequence[g.SettlementLine]) -> bytes:
    """A bank's export without our transaction id: RRN and the card to find a line by."""
    word = _words("Оплата", "Возврат")
    return _csv(("Дата и время операции", "Тип операции", "RRN", "Номер карты", "Сумма"),
                [(_moscow(x).strftime("%d.%m.%Y %H:%M:%S"), word(x, i), x.rrn, x.masked_pan,
                  _rubles(x.amount_kopecks)) for i, x in enumerate(lines)])


def split_date_time_fee(lines: Sequence[g.SettlementLine], fee_bp: int = FEE_BP) -> bytes:
    """An acquirer's export: cp1251, a title row, the date and the clock in two columns,
    RRN and no transaction id, «Оплата товаров и услуг» / «Сторно», the bank's commission
    and the net amount («Комиссия», «К перечислению»)."""
    word = _words("Оплата товаров и услуг", "Сторно")
    rows = []
    for i, x in enumerate(lines):
        fee = fee_of(x, fee_bp)
        rows.append((_moscow(x).strftime("%d.%m.%Y"), _moscow(x).strftime("%H:%M:%S"),
                     word(x, i), x.rrn, x.masked_pan, _rubles(x.amount_kopecks, " "),
                     _rubles(fee, " "), _rubles(x.amount_kopecks - fee, " ")))
    return _csv(("Дата операции", "Время операции", "Операция", "RRN", "Номер карты", "Сумма",
                 "Комиссия", "К перечислению"), rows, encoding="cp1251",
                above=("Реестр операций по эквайрингу ПАО «Банк»;;;;;;;",))


def fee_net_credit(lines: Sequence[g.SettlementLine], fee_bp: int = FEE_BP) -> bytes:
    """Our columns plus the commission and «Сумма к зачислению» (the net), amounts with
    thousands grouped by a point («1.234,50»)."""
    word = _words("Оплата", "Возврат")
    rows = []
    for i, x in enumerate(lines):
        fee = fee_of(x, fee_bp)
        rows.append((_moscow(x).strftime("%d.%m.%Y %H:%M:%S"), word(x, i), x.gateway_txn_id,
                     x.rrn, x.masked_pan, _rubles(x.amount_kopecks, "."), _rubles(fee, "."),
                     _rubles(x.amount_kopecks - fee, ".")))
    return _csv(("Дата операции", "Операция", "ID транзакции", "RRN", "Карта", "Сумма",
                 "Комиссия", "Сумма к зачислению"), rows)


def date_only_rub(lines: Sequence[g.SettlementLine]) -> bytes:
    """An online bank's statement: the day only, «Покупка (онлайн)» / «Возврат покупки»,
    amounts «139,11 ₽» under «Сумма (RUB)», RRN and the card (no transaction id)."""
    word = _words("Покупка (онлайн)", "Возврат покупки")
    return _csv(("Дата", "Описание операции", "RRN", "Номер карты", "Сумма (RUB)"),
                [(_moscow(x).strftime("%d.%m.%Y"), word(x, i), x.rrn, x.masked_pan,
                  _rubles(x.amount_kopecks, " ") + " ₽") for i, x in enumerate(lines)])


def kopecks_header(lines: Sequence[g.SettlementLine]) -> bytes:
    """Integer kopecks under «Сумма, коп.», «Оплата услуг» / «Возврат»."""
    word = _words("Оплата услуг", "Возврат")
    return _csv(("Дата операции", "Операция", "ID транзакции", "RRN", "Карта", "Сумма, коп."),
                [(_moscow(x).strftime("%d.%m.%Y %H:%M:%S"), word(x, i), x.gateway_txn_id, x.rrn,
                  x.masked_pan, str(x.amount_kopecks)) for i, x in enumerate(lines)])


def english_iso_offset(lines: Sequence[g.SettlementLine]) -> bytes:
    """An English export: ``,``-separated, ISO times with ``+03:00``, a decimal point,
    «Purchase» / «Refund» and «Reversal» (refunds take turns)."""
    word = _words("Purchase", ("Refund", "Reversal"))
    return _csv(("Date", "Type", "Transaction ID", "RRN", "Card", "Amount"),
                [(_moscow(x).isoformat(timespec="seconds"), word(x, i), x.gateway_txn_id,
                  x.rrn, x.masked_pan, _rubles(x.amount_kopecks, decimal="."))
                 for i, x in enumerate(lines)], sep=",", newline="\n")


def english_iso_millis(lines: Sequence[g.SettlementLine]) -> bytes:
    """The same in UTC with milliseconds (``2026-11-25T09:03:00.000+00:00``), so a
    reader assuming Moscow time would be three hours off."""
    word = _words("Purchase", ("Reversal", "Refund"))
    return _csv(("Date", "Type", "Transaction ID", "RRN", "Card", "Amount"),
                [(as_utc(x.time).astimezone(UTC).isoformat(timespec="milliseconds"),
                  word(x, i), x.gateway_txn_id, x.rrn, x.masked_pan,
                  _rubles(x.amount_kopecks, decimal=".")) for i, x in enumerate(lines)],
                sep=",", newline="\n")


# --- files to be refused (or stopped) ---------------------------------------------------

def comma_unquoted(lines: Sequence[g.SettlementLine]) -> bytes:
    """``,``-separated with decimal commas not quoted: «1391,10» splits into two cells."""
    body = [",".join(("Дата операции", "Операция", "ID транзакции", "RRN", "Карта", "Сумма"))]
    for i, x in enumerate(lines):
        body.append(",".join((_moscow(x).strftime("%d.%m.%Y %H:%M:%S"),
                              _words("Оплата", "Возврат")(x, i), x.gateway_txn_id, x.rrn,
                              x.masked_pan, _rubles(x.amount_kopecks))))
    return ("\r\n".join(body) + "\r\n").encode()


def extra_cell(lines: Sequence[g.SettlementLine], row: int = 3) -> bytes:
    """Our format with one cell more than the header on file row ``row`` (point 4)."""
    rows = write_registry_csv(lines).decode().split("\r\n")
    rows[row - 1] += ";лишнее"
    return "\r\n".join(rows).encode()


def kopecks_as_rubles(lines: Sequence[g.SettlementLine]) -> bytes:
    """Kopecks written under a plain «Сумма» («13911» for 139,11 ₽; point 3)."""
    word = _words("Оплата", "Возврат")
    return _csv(("Дата операции", "Операция", "ID транзакции", "RRN", "Карта", "Сумма"),
                [(_moscow(x).strftime("%d.%m.%Y %H:%M:%S"), word(x, i), x.gateway_txn_id, x.rrn,
                  x.masked_pan, str(x.amount_kopecks)) for i, x in enumerate(lines)])


# The kinds a profile reads (file name, maker, the shipped profile's name or None for
# the default one), and the kinds that must be refused or stopped.
READABLE: dict[str, tuple[str, Callable[[Sequence[g.SettlementLine]], bytes], str | None]] = {
    "ours_crlf": ("reestr_crlf.csv", ours_crlf, None),
    "ours_lf": ("reestr_lf.csv", ours_lf, None),
    "ours_bom": ("reestr_bom.csv", ours_bom, None),
    "ours_xlsx": ("reestr.xlsx", ours_xlsx, None),
    "rrn_only": ("bank_rrn.csv", rrn_only, None),
    "split_date_time_fee": ("acquirer_export.csv", split_date_time_fee,
                            "Эквайринг: дата и время раздельно, комиссия"),
    "fee_net_credit": ("fee_net.csv", fee_net_credit, None),
    "date_only_rub": ("online_bank.csv", date_only_rub, "Интернет-банк: только дата"),
    "kopecks_header": ("kopecks.csv", kopecks_header, "Суммы в копейках"),
    "english_iso_offset": ("export_en.csv", english_iso_offset, "English, ISO 8601"),
    "english_iso_millis": ("export_en_utc.csv", english_iso_millis, "English, ISO 8601"),
}
REFUSED: dict[str, tuple[str, Callable[[Sequence[g.SettlementLine]], bytes]]] = {
    "comma_unquoted": ("comma.csv", comma_unquoted),
    "extra_cell": ("extra_cell.csv", extra_cell),
    "kopecks_as_rubles": ("kopecks_as_rubles.csv", kopecks_as_rubles),
}


def all_files(lines: Sequence[g.SettlementLine]) -> dict[str, BankFile]:
    """Every kind by name (``READABLE`` then ``REFUSED``)."""
    files = {kind: BankFile(name, make(lines), profile)
             for kind, (name, make, profile) in READABLE.items()}
    files.update({kind: BankFile(name, make(lines), None)
                  for kind, (name, make) in REFUSED.items()})
    return files


def sample_lines(n: int = 40) -> list[g.SettlementLine]:
    """A day of lines without a database (every 7th a refund of the line before)."""
    start = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    lines: list[g.SettlementLine] = []
    for i in range(n):
        if i % 7 == 6:
            paid = lines[-1]
            lines.append(g.SettlementLine(paid.gateway_txn_id, paid.rrn, paid.masked_pan,
                                          paid.amount_kopecks // 2, g.Operation.REFUND,
                                          paid.time + timedelta(minutes=5)))
            continue
        lines.append(g.SettlementLine(
            f"sim-{i:08d}", f"{600_000_000_000 + i}", f"411111******{1000 + i:04d}",
            100_000 + 13_911 * i, g.Operation.PAYMENT, start + timedelta(minutes=11 * i)))
    return lines


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.finance.bank_files OUTDIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for kind, file in all_files(sample_lines()).items():
        (out / file.file_name).write_bytes(file.data)
        print(f"{kind}: {out / file.file_name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
