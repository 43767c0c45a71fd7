"""No card number and no CVV anywhere we keep data: after the demo seed and real
payments (a new card saved, then that saved card with its CVV), every table of the
database — and on SQLite the raw database and WAL files, free pages included — the
outbox, the SMS log, the e-mails and the logs hold neither the full PAN nor the CVV.

Fiscal drive (ФН) and register (ККТ) numbers are 16 digits too, so the generic search
is narrowed to what a card number looks like: 13-19 digits that pass Luhn and start
with a test BIN's first digit (2 Mir, 4 Visa, 5 Mastercard); every simulator test
card is also searched for literally.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from sqlalchemy import select

from core.payments.cards import luhn_ok
from core.db.models import Base, OutboxMessage, SavedCard
from core.demo.rich import seed_demo
from core.payments.machine import PaymentStatus
from core.payments.simulator import TEST_CARDS
from core.notifications import outbox
from core.payments import flow
from tests.factories.payment_flow import OK_CARD, card, last_otp, new_key, payer

PAN = "4111111111111111"
CVV = "123"
# A run of 13-19 digits not glued to other digits.
DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{13,19}(?![0-9])")
# Hex digests (sha256 fingerprints, code and token hashes) are not card data; a
# digit run inside one is chance.
HEX_TOKEN = re.compile(r"[0-9a-fA-F]{32,}")
CVV_TEXT = re.compile(r"cvv[\"']?\s*[=:]\s*[\"']?123", re.IGNORECASE)




def card_like_numbers(text: str) -> list[str]:
    """13-19 digit runs that pass Luhn and start like a test card (2, 4, 5)."""
    masked = HEX_TOKEN.sub(lambda m: "#" * len(m.group()), text)
    return [run for run in DIGIT_RUN.findall(masked)
            if run[0] in "245" and luhn_ok(run)]


def assert_no_card_data(text: str, where: str) -> None:
    assert PAN not in text, f"full PAN in {where}"
    assert OK_CARD not in text, f"full PAN (with spaces) in {where}"
    for number in TEST_CARDS:
        assert number not in text, f"test card {number} in {where}"
    found = card_like_numbers(text)
    assert not found, f"card-like numbers in {where}: {found[:5]}"
    assert not CVV_TEXT.search(text), f"CVV in {where}"


def dump_tables(app) -> tuple[str, list[tuple[str, str, object]]]:
    """Every row of every table as text, and the (table, column, value) cells."""
    parts: list[str] = []
    cells: list[tuple[str, str, object]] = []
    with app.uow(write=False) as uow:
        for table in Base.metadata.sorted_tables:
            for row in uow.session.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    cells.append((table.name, column, value))
                    parts.append(json.dumps(value, ensure_ascii=False, default=str)
                                 if isinstance(value, (dict, list)) else str(value))
    return "\n".join(parts), cells


def _json_leaves(value: object) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _json_leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _json_leaves(v)]
    return [value] if isinstance(value, str) else []


def raw_sqlite_text(app) -> str:
    if app.engine.dialect.name != "sqlite":
        return ""
    path = Path(app.engine.url.database)
    chunks = [path.read_bytes()]
    for suffix in ("-wal", "-journal"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            chunks.append(extra.read_bytes())
    return b"\n".join(chunks).decode("latin-1")


def test_no_card_number_or_cvv_is_kept_anywhere(app, caplog, email_sender):
    seed_demo(app, customers=30, seed=7, billing=True)
    p = payer(app)
    caplog.set_level(logging.DEBUG)

    # A new card, saved.
    view = flow.start_invoice_payment(app, p.token, p.invoice_id, new_key())
    view = flow.pay_with_new_card(app, view.id, card(OK_CARD, CVV), save_card=True,
                                  token=p.token)
    assert view.awaiting_otp
    view = flow.confirm_payment(app, view.id, last_otp(app, view.id), token=p.token)
    assert view.status is PaymentStatus.SUCCEEDED
    # The saved card with its CVV typed again.
    with app.uow(write=False) as uow:
        saved = uow.session.scalar(select(SavedCard).where(
            SavedCard.customer_id == p.customer_id))
        assert saved is not None
        card_id, masked = saved.id, saved.masked_pan
    assert masked.startswith("411111") and masked.endswith("1111") and PAN not in masked
    second = flow.start_account_payment(
        app, provider_id=p.provider_id, account_number=p.account_number,
        idempotency_key=new_key(), amount_text="250", token=p.token)
    second = flow.pay_with_saved_card(app, p.token, second.id, card_id, CVV)
    assert second.awaiting_otp
    second = flow.confirm_payment(app, second.id, last_otp(app, second.id), token=p.token)
    assert second.status is PaymentStatus.SUCCEEDED
    outbox.send_pending(app)  # the SMS and e-mails go out (SMS to the log file)

    # Every table, every row.
    text, cells = dump_tables(app)
    assert "411111******1111" in text or "411111" in text  # the masked number is there
    assert_no_card_data(text, "the database tables")
    for table, column, value in cells:
        if isinstance(value, str):
            assert value.strip() != CVV, f"{table}.{column} holds the CVV"
        if isinstance(value, (dict, list)):
            # «incorrect_cvv» is a decline code (the bank said the CVV was wrong), not a CVV.
            details = json.dumps(value, ensure_ascii=False).lower().replace("incorrect_cvv", "")
            assert "cvv" not in details, f"{table}.{column}: {value}"
            assert CVV not in _json_leaves(value), f"{table}.{column}: {value}"

    # On SQLite, the files themselves (free pages and the WAL keep deleted rows).
    raw = raw_sqlite_text(app)
    if raw:
        assert PAN not in raw and OK_CARD not in raw
        for number in TEST_CARDS:
            assert number not in raw
        assert not CVV_TEXT.search(raw)
        # Utf-16 or digit-by-digit copies would not be caught above; the PAN's bytes
        # as a whole are what matters.
        assert PAN.encode("utf-16-le").decode("latin-1") not in raw

    # The outbox, the SMS log, the e-mails and the logs.
    with app.uow(write=False) as uow:
        bodies = [f"{m.subject or ''}\n{m.body}\n{m.redacted_body or ''}"
                  for m in uow.session.scalars(select(OutboxMessage))]
    assert_no_card_data("\n".join(bodies), "the outbox")
    sms_log = app.settings.notify_log_dir / "sms.log"
    assert sms_log.exists()
    assert_no_card_data(sms_log.read_text(encoding="utf-8"), "the SMS log")
    mails = "\n".join(str(m) for m in email_sender.sent)
    assert_no_card_data(mails, "the e-mails")
    assert caplog.records, "DEBUG logging was captured"
    logged = caplog.text + "\n".join(repr(r.args) for r in caplog.records)
    assert_no_card_data(logged, "the log")
    assert "cvv=123" not in logged.lower()
