"""Deterministic, realistic CRM data, generated one batch of customers at a time.

Each batch of customers brings everything that hangs off them (contacts, leads, opportunities,
orders, payments, follow-ups, tickets, campaign touches), drawn from a random generator seeded by
(seed, batch number): the same seed gives the same data, and no batch needs another in memory.
Times are seconds since the epoch (UTC) until they are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from . import schema as s

START = int(datetime(2023, 1, 1).timestamp() - datetime(1970, 1, 1).timestamp())
END = int(datetime(2026, 1, 1).timestamp() - datetime(1970, 1, 1).timestamp())
DAY = 86_400
MONTH = 30.44 * DAY
BATCH_CUSTOMERS = 2_000
ORDERS_PER_MONTH = {"strategic": 3.7, "key": 1.7, "normal": 0.85}
AMOUNT_MEDIAN = {"strategic": 40_000.0, "key": 11_000.0, "normal": 2_400.0}


@dataclass
class Reference:
    """Reps, channels and campaigns: shared by every batch, drawn once from the seed."""

    reps: pa.Table
    reps_by_region: dict[str, np.ndarray]
    campaigns: pa.Table
    campaign_start: np.ndarray
    campaign_end: np.ndarray
    campaign_channel: np.ndarray


@dataclass
class Counters:
    """The next free id of every table, so ids are dense and deterministic across batches."""

    contact: int = 1
    lead: int = 1
    opportunity: int = 1
    order: int = 1
    payment: int = 1
    follow_up: int = 1
    ticket: int = 1

    def take(self, name: str, count: int) -> np.ndarray:
        first = getattr(self, name)
        setattr(self, name, first + count)
        return np.arange(first, first + count, dtype=np.int64)


def reference(seed: int, scale: float) -> Reference:
    rng = np.random.default_rng([seed, 1_000_003])
    n_reps = max(8, round(40 * scale**0.5))
    regions = rng.choice([r for r, _ in s.REGIONS], size=n_reps, p=s.REGION_WEIGHTS)
    regions[: len(s.REGIONS)] = [r for r, _ in s.REGIONS]  # every region has at least one rep
    reps = pa.table(
        {
            "rep_id": np.arange(1, n_reps + 1, dtype=np.int32),
            "name": [f"rep_{i:03d}" for i in range(1, n_reps + 1)],
            "team": rng.choice(s.TEAMS, size=n_reps),
            "region": regions,
        }
    )
    by_region = {r: np.flatnonzero(regions == r) + 1 for r, _ in s.REGIONS}
    n_campaigns = 40
    starts = np.sort(rng.integers(START, END - 20 * DAY, size=n_campaigns)) // DAY * DAY
    ends = starts + rng.integers(14, 61, size=n_campaigns) * DAY
    channel = rng.choice([c for c, _, _ in s.CHANNELS], size=n_campaigns, p=s.CHANNEL_WEIGHTS)
    campaigns = pa.table(
        {
            "campaign_id": np.arange(1, n_campaigns + 1, dtype=np.int32),
            "name": [f"campaign_{i:02d}" for i in range(1, n_campaigns + 1)],
            "channel_id": channel.astype(np.int32),
            "cost": np.round(rng.uniform(5_000, 200_000, size=n_campaigns) * max(scale, 0.1), 2),
            "start_date": _dates(starts),
            "end_date": _dates(ends),
        }
    )
    return Reference(reps, by_region, campaigns, starts, ends, channel)


def batch(seed: int, number: int, first_customer: int, size: int, ref: Reference, ids: Counters) -> dict[str, pa.Table]:
    """All rows that belong to customers first_customer … first_customer + size − 1."""
    rng = np.random.default_rng([seed, number])
    cust = _customers(rng, first_customer, size, ref)
    quiet = np.minimum(cust["created"] + rng.exponential(540 * DAY, size).astype(np.int64), END)
    out = {"customers": cust["table"], "contacts": _contacts(rng, cust["id"], ids)}
    orders = _orders(rng, cust, quiet, ids, ref)
    out["orders"] = orders["table"]
    out["payments"] = _payments(rng, orders, ids)
    leads = _leads(rng, cust, quiet, ids, ref)
    out["leads"] = leads["table"]
    out["opportunities"] = _opportunities(rng, leads, cust, ids)
    out["follow_ups"] = _follow_ups(rng, cust, quiet, ids)
    out["tickets"] = _tickets(rng, cust, orders, ids)
    out["campaign_responses"] = _responses(rng, cust, ref)
    return out


def _customers(rng: np.random.Generator, first: int, n: int, ref: Reference) -> dict[str, np.ndarray | pa.Table]:
    ids = np.arange(first, first + n, dtype=np.int64)
    # Skewed towards later dates: the company grows.
    created = START + (rng.random(n) ** 0.8 * (END - START - 30 * DAY)).astype(np.int64)
    tier = rng.choice(s.TIERS, size=n, p=s.TIER_WEIGHTS)
    region = rng.choice([r for r, _ in s.REGIONS], size=n, p=s.REGION_WEIGHTS)
    owner = np.array([rng.choice(ref.reps_by_region[r]) for r in region], dtype=np.int64)
    channel = rng.choice([c for c, _, _ in s.CHANNELS], size=n, p=s.CHANNEL_WEIGHTS)
    table = pa.table(
        {
            "customer_id": ids.astype(np.int32),
            "name": [f"customer_{i:07d}" for i in ids],
            "tier": tier,
            "industry": rng.choice(s.INDUSTRIES, size=n),
            "region": region,
            "channel_id": channel.astype(np.int32),
            "owner_rep_id": owner.astype(np.int32),
            "created_at": _times(created),
        }
    )
    return {"id": ids, "created": created, "tier": tier, "owner": owner, "channel": channel, "table": table}


def _contacts(rng: np.random.Generator, customers: np.ndarray, ids: Counters) -> pa.Table:
    per = 1 + rng.poisson(1.5, size=len(customers))
    owner = np.repeat(customers, per)
    contact_ids = ids.take("contact", len(owner))
    first = np.r_[True, owner[1:] != owner[:-1]]
    phones = rng.integers(10**9, 10**10 - 1, size=len(owner))
    return pa.table(
        {
            "contact_id": contact_ids.astype(np.int32),
            "customer_id": owner.astype(np.int32),
            "name": [f"contact_{i}" for i in contact_ids],
            "phone": [f"+86 1{p}" for p in phones],
            "email": [f"contact_{i}@example.com" for i in contact_ids],
            "is_primary": first,
        }
    )


def _orders(
    rng: np.random.Generator,
    cust: dict[str, Any],
    quiet: np.ndarray,
    ids: Counters,
    ref: Reference,
) -> dict[str, np.ndarray | pa.Table]:
    months = np.maximum(quiet - cust["created"], 0) / MONTH
    rate = np.array([ORDERS_PER_MONTH[t] for t in cust["tier"]])
    # Draw extra candidates, then thin by season: busy months keep more of theirs.
    count = rng.poisson(rate * months * 1.1)
    owner_idx = np.repeat(np.arange(len(count)), count)
    start, span = cust["created"][owner_idx], (quiet - cust["created"])[owner_idx]
    when = start + (rng.random(len(owner_idx)) * span).astype(np.int64)
    keep = rng.random(len(when)) < np.array(s.SEASON)[_month(when)] / max(s.SEASON)
    owner_idx, when = owner_idx[keep], _business_hours(rng, when[keep])
    n = len(when)
    tier = cust["tier"][owner_idx]
    median = np.array([AMOUNT_MEDIAN[t] for t in tier])
    amount = np.round(median * rng.lognormal(0, 0.6, size=n), 2)
    status = rng.choice(["completed", "signed", "cancelled", "refunded"], size=n, p=[0.80, 0.07, 0.08, 0.05])
    status = np.where((when > END - 30 * DAY) & (status == "completed"), "signed", status)
    rep = np.where(rng.random(n) < 0.9, cust["owner"][owner_idx], rng.integers(1, ref.reps.num_rows + 1, size=n))
    order_ids = ids.take("order", n)
    table = pa.table(
        {
            "order_id": order_ids.astype(np.int32),
            "customer_id": cust["id"][owner_idx].astype(np.int32),
            "owner_rep_id": rep.astype(np.int32),
            "channel_id": cust["channel"][owner_idx].astype(np.int32),
            "status": status,
            "amount": amount,
            "signed_at": _times(when),
        }
    )
    return {
        "id": order_ids,
        "customer": cust["id"][owner_idx],
        "when": when,
        "amount": amount,
        "status": status,
        "table": table,
    }


def _payments(rng: np.random.Generator, orders: dict[str, Any], ids: Counters) -> pa.Table:
    billable = np.flatnonzero(orders["status"] != "cancelled")
    parts = rng.choice([1, 2, 3], size=len(billable), p=[0.7, 0.2, 0.1])
    idx = np.repeat(billable, parts)
    installment = np.concatenate([np.arange(1, p + 1) for p in parts]) if len(parts) else np.array([], dtype=int)
    due = (orders["when"][idx] // DAY + 30 * installment) * DAY
    amount_due = np.round(orders["amount"][idx] / np.repeat(parts, parts), 2)
    paid_at = np.where(
        rng.random(len(idx)) < 0.75,
        due - rng.integers(0, 21, size=len(idx)) * DAY,
        due + rng.integers(1, 61, size=len(idx)) * DAY,
    )
    paid = (rng.random(len(idx)) < 0.9) & (paid_at < END)
    return pa.table(
        {
            "payment_id": ids.take("payment", len(idx)).astype(np.int32),
            "order_id": orders["id"][idx].astype(np.int32),
            "customer_id": orders["customer"][idx].astype(np.int32),
            "installment": installment.astype(np.int32),
            "due_date": _dates(due),
            "amount_due": amount_due,
            "paid_date": _dates(paid_at, mask=~paid),
            "amount_paid": pa.array(np.where(paid, amount_due, 0.0), mask=~paid),
        }
    )


def _leads(
    rng: np.random.Generator,
    cust: dict[str, Any],
    quiet: np.ndarray,
    ids: Counters,
    ref: Reference,
) -> dict[str, np.ndarray | pa.Table]:
    per = 1 + rng.poisson(0.6, size=len(cust["id"]))
    idx = np.repeat(np.arange(len(per)), per)
    first = np.r_[True, idx[1:] != idx[:-1]]
    created = np.where(
        first,
        cust["created"][idx] - rng.integers(1, 60, size=len(idx)) * DAY,
        cust["created"][idx] + (rng.random(len(idx)) * (quiet - cust["created"])[idx]).astype(np.int64),
    )
    created = np.clip(created, START, END - DAY)
    customer = cust["id"][idx].astype(np.float64)
    # Leads that never became customers: as many again, spread over the whole period.
    extra = len(idx)
    created = np.r_[created, rng.integers(START, END - DAY, size=extra)]
    customer = np.r_[customer, np.full(extra, np.nan)]
    status = np.r_[
        np.where(first, "converted", "qualified"),
        rng.choice(["new", "nurturing", "disqualified"], size=extra, p=[0.2, 0.3, 0.5]),
    ]
    campaign = _campaign_at(rng, created, ref)
    channel = np.where(
        campaign > 0,
        ref.campaign_channel[np.maximum(campaign, 1) - 1],
        np.r_[cust["channel"][idx], rng.choice([c for c, _, _ in s.CHANNELS], size=extra, p=s.CHANNEL_WEIGHTS)],
    )
    lead_ids = ids.take("lead", len(created))
    table = pa.table(
        {
            "lead_id": lead_ids.astype(np.int32),
            "customer_id": pa.array(np.nan_to_num(customer).astype(np.int32), mask=np.isnan(customer)),
            "campaign_id": pa.array(campaign.astype(np.int32), mask=campaign == 0),
            "channel_id": channel.astype(np.int32),
            "created_at": _times(created),
            "status": status,
        }
    )
    has_customer = ~np.isnan(customer)
    return {"id": lead_ids[has_customer], "customer_index": idx, "created": created[has_customer], "table": table}


def _opportunities(rng: np.random.Generator, leads: dict[str, Any], cust: dict[str, Any], ids: Counters) -> pa.Table:
    chosen = np.flatnonzero(rng.random(len(leads["id"])) < 0.5)
    ci = leads["customer_index"][chosen]
    created = _business_hours(rng, leads["created"][chosen] + rng.integers(1, 15, size=len(chosen)) * DAY)
    outcome = rng.choice(["won", "lost"], size=len(chosen), p=[0.45, 0.55])
    closed = created + (rng.lognormal(np.log(35), 0.6, size=len(chosen)) * DAY).astype(np.int64)
    still_open = closed >= END
    stage = np.where(still_open, rng.choice(["qualified", "proposal", "negotiation"], size=len(chosen)), outcome)
    median = np.array([AMOUNT_MEDIAN[t] for t in cust["tier"][ci]]) * 1.5
    return pa.table(
        {
            "opportunity_id": ids.take("opportunity", len(chosen)).astype(np.int32),
            "lead_id": leads["id"][chosen].astype(np.int32),
            "customer_id": cust["id"][ci].astype(np.int32),
            "owner_rep_id": cust["owner"][ci].astype(np.int32),
            "stage": stage,
            "amount": np.round(median * rng.lognormal(0, 0.5, size=len(chosen)), 2),
            "created_at": _times(created),
            "closed_at": _times(closed, mask=still_open),
        }
    )


def _follow_ups(rng: np.random.Generator, cust: dict[str, Any], quiet: np.ndarray, ids: Counters) -> pa.Table:
    months = np.maximum(quiet - cust["created"], 0) / MONTH
    bonus = np.array([{"strategic": 2.0, "key": 1.0, "normal": 0.3}[t] for t in cust["tier"]])
    count = rng.poisson((0.9 + bonus) * months)
    idx = np.repeat(np.arange(len(count)), count)
    planned = _business_hours(
        rng, cust["created"][idx] + (rng.random(len(idx)) * (quiet - cust["created"])[idx]).astype(np.int64)
    )
    kind = rng.choice(["call", "visit", "email"], size=len(idx), p=[0.5, 0.3, 0.2])
    status = rng.choice(["completed", "missed"], size=len(idx), p=[0.82, 0.18])
    status = np.where(planned > END - 3 * DAY, "planned", status)
    done = status == "completed"
    completed = planned + rng.integers(0, 48 * 3600, size=len(idx))
    return pa.table(
        {
            "follow_up_id": ids.take("follow_up", len(idx)).astype(np.int32),
            "customer_id": cust["id"][idx].astype(np.int32),
            "rep_id": cust["owner"][idx].astype(np.int32),
            "kind": kind,
            "status": status,
            "planned_at": _times(planned),
            "completed_at": _times(np.minimum(completed, END - 1), mask=~done),
        }
    )


def _tickets(rng: np.random.Generator, cust: dict[str, Any], orders: dict[str, Any], ids: Counters) -> pa.Table:
    from_orders = np.flatnonzero(rng.random(len(orders["id"])) < 0.1)
    loose = rng.integers(0, len(cust["id"]), size=len(cust["id"]) // 5)
    created = np.r_[
        orders["when"][from_orders] + rng.integers(DAY, 60 * DAY, size=len(from_orders)),
        cust["created"][loose] + rng.integers(DAY, 365 * DAY, size=len(loose)),
    ]
    customer = np.r_[orders["customer"][from_orders], cust["id"][loose]]
    order = np.r_[orders["id"][from_orders].astype(np.float64), np.full(len(loose), np.nan)]
    keep = created < END - DAY
    created, customer, order = _business_hours(rng, created[keep]), customer[keep], order[keep]
    n = len(created)
    kind = rng.choice(["complaint", "question", "repair", "return"], size=n, p=[0.22, 0.38, 0.25, 0.15])
    first = created + (rng.lognormal(np.log(1.5), 1.0, size=n) * 3600).astype(np.int64)
    resolved = created + (rng.lognormal(np.log(28), 1.1, size=n) * 3600).astype(np.int64)
    unresolved = resolved >= END
    fast = resolved - created < 24 * 3600
    rated = ~unresolved & (rng.random(n) < 0.6)
    rating = np.where(
        fast,
        rng.choice([1, 2, 3, 4, 5], size=n, p=[0.03, 0.04, 0.10, 0.35, 0.48]),
        rng.choice([1, 2, 3, 4, 5], size=n, p=[0.10, 0.12, 0.23, 0.33, 0.22]),
    )
    return pa.table(
        {
            "ticket_id": ids.take("ticket", n).astype(np.int32),
            "customer_id": customer.astype(np.int32),
            "order_id": pa.array(np.nan_to_num(order).astype(np.int32), mask=np.isnan(order)),
            "type": kind,
            "priority": rng.choice(["low", "medium", "high", "urgent"], size=n, p=[0.3, 0.4, 0.2, 0.1]),
            "created_at": _times(created),
            "first_response_at": _times(np.minimum(first, END - 1)),
            "resolved_at": _times(resolved, mask=unresolved),
            "csat": pa.array(rating.astype(np.int32), mask=~rated),
        }
    )


def _responses(rng: np.random.Generator, cust: dict[str, Any], ref: Reference) -> pa.Table:
    reach = np.array([{"strategic": 0.15, "key": 0.10, "normal": 0.05}[t] for t in cust["tier"]])
    eligible = cust["created"][:, None] < ref.campaign_end[None, :]
    hit = eligible & (rng.random((len(cust["id"]), len(ref.campaign_end))) < reach[:, None])
    ci, ki = np.nonzero(hit)
    span = ref.campaign_end[ki] - ref.campaign_start[ki]
    reached = ref.campaign_start[ki] + (rng.random(len(ki)) * span).astype(np.int64)
    responded = rng.random(len(ki)) < 0.18
    answered = reached + rng.integers(3600, 10 * DAY, size=len(ki))
    return pa.table(
        {
            "campaign_id": (ki + 1).astype(np.int32),
            "customer_id": cust["id"][ci].astype(np.int32),
            "reached_at": _times(reached),
            "responded": responded,
            "responded_at": _times(answered, mask=~responded),
        }
    )


def _campaign_at(rng: np.random.Generator, when: np.ndarray, ref: Reference) -> np.ndarray:
    """A campaign running at each time, for 40% of leads (0 where none runs or none is drawn)."""
    running = (ref.campaign_start[None, :] <= when[:, None]) & (when[:, None] < ref.campaign_end[None, :])
    first = np.where(running.any(axis=1), running.argmax(axis=1) + 1, 0)
    return np.where(rng.random(len(when)) < 0.4, first, 0)


def _business_hours(rng: np.random.Generator, when: np.ndarray) -> np.ndarray:
    """Move times into 09:00–18:00 Asia/Shanghai (01:00–10:00 UTC) of their UTC day."""
    return when // DAY * DAY + rng.integers(3600, 10 * 3600, size=len(when))


def _month(when: np.ndarray) -> np.ndarray:
    return when.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12


def _times(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(seconds.astype("datetime64[s]"), mask=mask).cast(pa.timestamp("us"))


def _dates(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(seconds.astype("datetime64[s]").astype("datetime64[D]"), mask=mask)
