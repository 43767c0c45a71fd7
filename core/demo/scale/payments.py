"""Scale demo, writing a chunk's payment plan: payments (chronological ids), ~1 % of the
successes refunded by the demo finance officer, every payment's events (its flow through
``core.payments.machine`` — the same steps as the rich demo — then its refunds), the
ledger (the lines of ``ledger.post_payment`` / ``post_refund``), a fiscalised receipt per
success (as ``payment_state`` writes one with each success), and the invoices' paid
amounts and statuses from what their payments paid net of refunds.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from core.demo.payments import (_STEPS, DECLINES, REFUND_REASONS_FULL, REFUND_REASONS_PART,
                                _fingerprint)
from core.demo.receipts import COLUMNS, demo_receipts
from core.demo.scale.billing import Invoices, write_invoices
from core.demo.scale.people import BIN_BRAND, BIN_TEXT, DAY, HOUR, MINUTE, People
from core.demo.scale.plan import (F_DECLINED, F_FAILED, F_OTP_REJECTED, F_PENDING_AUTH,
                                  F_PENDING_OTP, F_SUCCEEDED, FLOWS, Plan)
from core.demo.scale.writer import BulkWriter, us
from core.payments import gateway
from core.finance import ledger

REFUNDED = 0.01
LAST_SECONDS = np.array([_STEPS[f][-1][4] for f in FLOWS], dtype=np.int64)
FINAL = np.array([_STEPS[f][-1][2] for f in FLOWS], dtype=object)
DECLINE_CODES = np.array([c for c, _ in DECLINES[:-1]], dtype=object)
DECLINE_P = np.array([w for _, w in DECLINES[:-1]], float) / sum(w for _, w in DECLINES[:-1])


@dataclass
class Written:
    payments: int = 0
    refunds: int = 0


def write_payments(w: BulkWriter, rng: np.random.Generator, people: People, inv: Invoices,
                   plan: Plan, *, now: int, provider_ids: list[int], rules: list[tuple[int, int]],
                   finance: int) -> None:
    n = len(plan.amount)
    order = np.argsort(plan.start, kind="stable")  # ids grow with time, as in production
    p = Plan(**{k: getattr(plan, k)[order] for k in plan.__dataclass_fields__})
    ids = w.next_id("payments") + np.arange(n)
    owner = people.acc_customer[p.account]
    cabinet = p.cabinet & (p.start >= people.bound_at[p.account])
    customer_id = np.where(cabinet, people.ids[owner], -1)
    owner_email = np.array(people.emails, dtype=object)[owner]
    email = np.where(cabinet, None, np.where(p.email == None, owner_email, p.email))
    provider = people.acc_provider[p.account]
    bp = np.array([r[0] for r in rules], np.int64)[provider]
    minimum = np.array([r[1] for r in rules], np.int64)[provider]
    commission = np.maximum((p.amount * bp + 5000) // 10_000, minimum)

    # The card: a saved one of the cabinet (when saved by then), else the payer's own.
    c1, c2 = people.card1[owner], people.card2[owner]
    has1 = cabinet & (c1 >= 0) & (people.card1_at[owner] <= p.start) & (rng.random(n) < 0.85)
    use2 = has1 & (c2 >= 0) & (people.card2_at[owner] <= p.start) & (rng.random(n) >= 0.75)
    saved = np.where(use2, c2, np.where(has1, c1, -1))
    stranger = ~cabinet & (p.email != None)  # anonymous: any card
    bins = np.where(stranger, rng.integers(0, len(BIN_TEXT), n), people.own_bin[owner])
    last4 = np.where(stranger, rng.integers(0, 10_000, n), people.own_last4[owner])
    masked = [f"{b}{d:04d}" for b, d in zip(BIN_TEXT[bins].tolist(), last4.tolist())]
    brand = BIN_BRAND[bins].tolist()
    for i in np.flatnonzero(saved >= 0).tolist():
        masked[i], brand[i] = people.card_text[int(saved[i])]

    end = p.start + (LAST_SECONDS[p.flow] + rng.integers(0, 21, n)) * us(1)
    pending = (p.flow == F_PENDING_AUTH) | (p.flow == F_PENDING_OTP)
    ok = p.flow == F_SUCCEEDED
    code = np.full(n, None, dtype=object)
    declined = p.flow == F_DECLINED
    code[declined] = rng.choice(DECLINE_CODES, int(declined.sum()), p=DECLINE_P)
    code[p.flow == F_OTP_REJECTED] = gateway.OTP_ATTEMPTS_EXCEEDED
    code[p.flow == F_FAILED] = gateway.PROCESSING_ERROR
    reason = np.array([None if c is None else gateway.DECLINE_MESSAGES[c] for c in code.tolist()],
                      dtype=object)
    rrn = np.full(n, None, dtype=object)
    auth = np.full(n, None, dtype=object)
    rrn[ok] = [str(v) for v in rng.integers(10**11, 10**12, int(ok.sum())).tolist()]
    auth[ok] = [f"{v:06d}" for v in rng.integers(0, 10**6, int(ok.sum())).tolist()]

    # Refunds: about 1 % of the successes older than a day; some partial, a few in two.
    latest = now - HOUR
    candidates = np.flatnonzero(ok & (end < latest - DAY))
    chosen = np.sort(rng.choice(candidates, round(len(candidates) * REFUNDED), replace=False))
    at = np.minimum(end[chosen] + (rng.uniform(2, 24 * 20, len(chosen)) * HOUR).astype(np.int64),
                    latest - 30 * MINUTE)
    amount = p.amount[chosen]
    partial = (amount >= 200) & (rng.random(len(chosen)) < 0.4)
    part = np.where(partial, np.maximum(100, (amount * rng.uniform(0.1, 0.6, len(chosen)))
                                        .astype(np.int64)), amount)
    rest = partial & (rng.random(len(chosen)) < 0.15)
    r_pay = np.concatenate([chosen, chosen[rest]])
    r_amount = np.concatenate([part, (amount - part)[rest]])
    r_at = np.concatenate([at, np.minimum(at[rest] + 2 * DAY, latest)])
    r_reason = np.concatenate([
        np.where(partial, rng.choice(np.array(REFUND_REASONS_PART, dtype=object), len(chosen)),
                 rng.choice(np.array(REFUND_REASONS_FULL, dtype=object), len(chosen))),
        rng.choice(np.array(REFUND_REASONS_FULL, dtype=object), int(rest.sum()))])
    r_order = np.lexsort((r_at, r_pay))  # per payment in time order
    r_pay, r_amount, r_at, r_reason = r_pay[r_order], r_amount[r_order], r_at[r_order], \
        r_reason[r_order]
    r_done = r_at + rng.integers(2, 41, len(r_pay)) * us(1)
    by_time = np.argsort(r_at, kind="stable")
    r_ids = np.empty(len(r_pay), np.int64)
    r_ids[by_time] = w.next_id("refunds") + np.arange(len(r_pay))
    refunded = np.bincount(r_pay, weights=r_amount, minlength=n).astype(np.int64)
    status = FINAL[p.flow].copy()
    status[refunded > 0] = "partially_refunded"
    status[(refunded > 0) & (refunded == p.amount)] = "refunded"
    updated = end.copy()
    np.maximum.at(updated, r_pay, r_done)

    keys = [f"demo-pay-{i:08d}" for i in ids.tolist()]
    accounts = np.array(people.acc_numbers, dtype=object)[p.account].tolist()
    provider_id = np.array(provider_ids)[provider].tolist()
    invoice_id = np.where(p.invoice >= 0, inv.ids[np.maximum(p.invoice, 0)], -1)
    invoice_value = [None if v < 0 else v for v in invoice_id.tolist()]
    prints = _fingerprints(provider_id, accounts, invoice_value, p.amount.tolist(), keys)
    txn = [None if f == F_PENDING_AUTH else f"demo-{i:08d}"
           for i, f in zip(ids.tolist(), p.flow.tolist())]
    next_check = np.where(pending & ~p.review, now, 0)
    # Foreign keys first: the invoices (with what their payments paid net of refunds).
    paid = np.zeros(len(inv.ids), np.int64)
    billed = ok & (p.invoice >= 0)
    np.add.at(paid, p.invoice[billed], (p.amount - refunded)[billed])
    write_invoices(w, inv, people.acc_ids, paid, now)
    w.insert("payments", (
        "id", "idempotency_key", "request_fingerprint", "customer_id", "receipt_email",
        "provider_id", "provider_account_id", "account_number", "invoice_id", "amount",
        "commission", "status", "saved_card_id", "card_brand", "masked_pan", "gateway_txn_id",
        "rrn", "auth_code", "decline_code", "decline_reason", "refunded_amount", "created_at",
        "updated_at", "finalized_at", "next_check_at", "check_attempts", "manual_review",
        "version"), zip(
        ids.tolist(), keys, prints, [None if c < 0 else c for c in customer_id.tolist()],
        email.tolist(), provider_id, people.acc_ids[p.account].tolist(), accounts,
        invoice_value, p.amount.tolist(), commission.tolist(), status.tolist(),
        [None if s < 0 else s for s in saved.tolist()], brand, masked, txn, rrn.tolist(),
        auth.tolist(), code.tolist(), reason.tolist(), refunded.tolist(), w.stamps(p.start),
        w.stamps(updated), w.stamps(end, pending), w.stamps(next_check, next_check == 0),
        np.where(p.review, 8, 0).tolist(), p.review.tolist(), repeat(1)), n)

    m = len(r_pay)
    w.insert("refunds", ("id", "payment_id", "idempotency_key", "amount", "reason", "status",
                         "requested_by_staff_id", "gateway_refund_id", "created_at",
                         "completed_at"),
             sorted(zip(r_ids.tolist(), ids[r_pay].tolist(),
                        [f"demo-refund-{i:08d}" for i in r_ids.tolist()], r_amount.tolist(),
                        r_reason.tolist(), repeat("succeeded"), repeat(finance),
                        [f"demo-r-{i:08d}" for i in r_ids.tolist()], w.stamps(r_at),
                        w.stamps(r_done))), m)

    _events(w, p, ids, cabinet, end, rrn, auth, code, r_pay, r_ids, r_amount, r_done, finance)
    _ledger(w, ids, ok, end, p.amount, commission, np.array(provider_id), r_pay, r_ids,
            r_amount, r_done)
    _receipts(w, rng, ids[ok], end[ok], np.where(cabinet, owner_email, email)[ok])



def _fingerprints(*columns: list[object]) -> list[str]:
    """``_fingerprint`` of each row, the digit-run check done once on all digests
    (16 hex digits in a row look like a card number): the few that fail are salted
    again by ``_fingerprint`` itself. Same values, a third of the cost."""
    digests = [hashlib.sha256(f"{a}|{b}|{c}|{d}|{e}|0".encode()).digest()
               for a, b, c, d, e in zip(*columns)]
    if not digests:
        return []
    nibbles = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32)
    digit = np.empty((len(digests), 64), dtype=np.int32)
    digit[:, 0::2] = (nibbles >> 4) < 10
    digit[:, 1::2] = (nibbles & 15) < 10
    run = np.cumsum(np.pad(digit, ((0, 0), (1, 0))), axis=1)
    bad = ((run[:, 16:] - run[:, :-16]) == 16).any(axis=1)
    out = [d.hex() for d in digests]
    for i in np.flatnonzero(bad).tolist():
        out[i] = _fingerprint(*(column[i] for column in columns))
    return out


def _events(w: BulkWriter, p: Plan, ids: np.ndarray, cabinet: np.ndarray, end: np.ndarray,
            rrn: np.ndarray, auth: np.ndarray, code: np.ndarray, r_pay: np.ndarray,
            r_ids: np.ndarray, r_amount: np.ndarray, r_done: np.ndarray, finance: int) -> None:
    """Each flow's steps (the last one at the payment's end), then its refunds."""
    cols: dict[str, list[np.ndarray]] = {k: [] for k in (
        "pos", "seq", "at", "event", "from", "to", "actor", "staff", "details")}

    def add(pos: np.ndarray, seq: int | np.ndarray, at: np.ndarray, event: object,
            before: object, after: object, actor: np.ndarray | str, staff: object,
            details: np.ndarray) -> None:
        k = len(pos)
        for name, value in (("pos", pos), ("seq", np.broadcast_to(seq, (k,))), ("at", at),
                            ("event", np.broadcast_to(np.asarray(event, object), (k,))),
                            ("from", np.broadcast_to(np.asarray(before, object), (k,))),
                            ("to", np.broadcast_to(np.asarray(after, object), (k,))),
                            ("actor", np.broadcast_to(np.asarray(actor, object), (k,))),
                            ("staff", np.broadcast_to(np.asarray(staff, object), (k,))),
                            ("details", details)):
            cols[name].append(value)

    none = np.array(None, dtype=object)
    for f, name in enumerate(FLOWS):
        pos = np.flatnonzero(p.flow == f)
        steps = _STEPS[name]
        for k, (event, before, after, actor, seconds) in enumerate(steps):
            at = end[pos] if k == len(steps) - 1 else p.start[pos] + seconds * us(1)
            who = np.where(cabinet[pos], actor, "system") if actor == "customer" else actor
            if event == "otp_confirmed":
                details = np.array([f'{{"rrn": "{r}", "auth_code": "{a}"}}' for r, a in zip(
                    rrn[pos].tolist(), auth[pos].tolist())], dtype=object)
            elif after in ("declined", "failed"):
                details = np.array([json.dumps({"decline_code": c}) for c in code[pos].tolist()],
                                   dtype=object)
            else:
                details = np.broadcast_to(none, (len(pos),))
            add(pos, k, at, event, before, after, who, None, details)
    # Refunds: r_pay is sorted by payment then time, so the running total is per payment.
    first = np.r_[True, r_pay[1:] != r_pay[:-1]] if len(r_pay) else np.zeros(0, bool)
    done_before = np.where(first, 0, np.r_[0, r_amount[:-1]])
    left = p.amount[r_pay] - done_before - r_amount
    before = np.where(first, "succeeded", "partially_refunded")
    full = left == 0
    add(r_pay, 10 + (~first).astype(np.int64), r_done,
        np.where(full, "refund_full", "refund_partial"), before,
        np.where(full, "refunded", "partially_refunded"), "staff", finance,
        np.array([f'{{"refund_id": {i}, "amount": {a}}}' for i, a in zip(
            r_ids.tolist(), r_amount.tolist())], dtype=object))
    merged = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((merged["seq"], merged["pos"]))
    m = len(order)
    w.insert("payment_events", ("id", "payment_id", "at", "event", "from_status", "to_status",
                                "actor_kind", "staff_id", "details"),
             zip(range(w.next_id("payment_events"), w.next_id("payment_events") + m),
                 ids[merged["pos"][order]].tolist(), w.stamps(merged["at"][order]),
                 merged["event"][order].tolist(), merged["from"][order].tolist(),
                 merged["to"][order].tolist(), merged["actor"][order].tolist(),
                 merged["staff"][order].tolist(), merged["details"][order].tolist()), m)


def _ledger(w: BulkWriter, ids: np.ndarray, ok: np.ndarray, end: np.ndarray, amount: np.ndarray,
            commission: np.ndarray, provider: np.ndarray, r_pay: np.ndarray, r_ids: np.ndarray,
            r_amount: np.ndarray, r_done: np.ndarray) -> None:
    """A payment journal per success, a refund journal per refund, in time order."""
    paid = np.flatnonzero(ok)
    k, m = len(paid), len(r_pay)
    at = np.concatenate([end[paid], r_done])
    order = np.argsort(at, kind="stable")
    journal = np.empty(k + m, np.int64)
    journal[order] = w.next_id("ledger_journals") + np.arange(k + m)
    is_refund = np.r_[np.zeros(k, bool), np.ones(m, bool)]
    payment = np.concatenate([ids[paid], ids[r_pay]])
    refund = np.concatenate([np.full(k, -1), r_ids])
    w.insert("ledger_journals", ("id", "kind", "at", "payment_id", "refund_id"),
             zip(journal[order].tolist(),
                 np.where(is_refund, ledger.KIND_REFUND, ledger.KIND_PAYMENT)[order].tolist(),
                 w.stamps(at[order]), payment[order].tolist(),
                 [None if r < 0 else r for r in refund[order].tolist()]), k + m)
    # Entries: (journal, account, provider or -1, amount); zero commissions make none.
    pj, rj = journal[:k], journal[k:]
    parts = [
        (journals, account, prov, value, n)
        for journals, lines in (
            (pj, ledger.payment_lines(provider[paid], amount[paid], commission[paid],
                                      no_provider=np.full(k, -1))),
            (rj, ledger.refund_lines(provider[r_pay], r_amount, no_provider=np.full(m, -1))))
        for n, (account, prov, value) in enumerate(lines)]
    j = np.concatenate([x[0] for x in parts])
    account = np.concatenate([np.full(len(x[0]), x[1], dtype=object) for x in parts])
    prov = np.concatenate([x[2] for x in parts])
    value = np.concatenate([x[3] for x in parts])
    line = np.concatenate([np.full(len(x[0]), x[4]) for x in parts])
    keep = value != 0
    order = np.lexsort((line[keep], j[keep]))
    j, account, prov, value = j[keep][order], account[keep][order], prov[keep][order], \
        value[keep][order]
    first = w.next_id("ledger_entries")
    w.insert("ledger_entries", ("id", "journal_id", "account", "provider_id", "amount"),
             zip(range(first, first + len(j)), j.tolist(), account.tolist(),
                 [None if v < 0 else v for v in prov.tolist()], value.tolist()), len(j))


def _receipts(w: BulkWriter, rng: np.random.Generator, payment_ids: np.ndarray, at: np.ndarray,
              sent_to: np.ndarray) -> None:
    """A receipt per success (``core.demo.receipts``); ФД = the receipt's number."""
    first = w.next_id("receipts")
    receipts = demo_receipts(rng, payment_ids, at, sent_to.tolist(), first_document_number=first)
    k = len(payment_ids)
    w.insert("receipts", ("id", *COLUMNS),
             ((i, *row) for i, row in zip(range(first, first + k),
                                          receipts.rows(w.stamps(at),
                                                        w.stamps(receipts.fiscalised_at)))), k)
