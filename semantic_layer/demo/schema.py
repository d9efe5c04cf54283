"""The CRM demo warehouse: table definitions and the reference lists every batch draws from.

Timestamps are naive TIMESTAMP columns holding UTC instants (the layer converts them to the query
time zone); due and paid dates of payments are calendar dates in the company's own zone.
"""

from __future__ import annotations

DDL = """
CREATE TABLE regions (region VARCHAR PRIMARY KEY, name_zh VARCHAR);
CREATE TABLE channels (channel_id INTEGER PRIMARY KEY, name VARCHAR, kind VARCHAR);
CREATE TABLE sales_reps (rep_id INTEGER PRIMARY KEY, name VARCHAR, team VARCHAR, region VARCHAR);
CREATE TABLE campaigns (campaign_id INTEGER PRIMARY KEY, name VARCHAR, channel_id INTEGER, cost DECIMAL(14, 2),
                        start_date DATE, end_date DATE);
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name VARCHAR, tier VARCHAR, industry VARCHAR,
                        region VARCHAR, channel_id INTEGER, owner_rep_id INTEGER, created_at TIMESTAMP);
CREATE TABLE contacts (contact_id INTEGER PRIMARY KEY, customer_id INTEGER, name VARCHAR, phone VARCHAR,
                       email VARCHAR, is_primary BOOLEAN);
CREATE TABLE leads (lead_id INTEGER PRIMARY KEY, customer_id INTEGER, campaign_id INTEGER, channel_id INTEGER,
                    created_at TIMESTAMP, status VARCHAR);
CREATE TABLE opportunities (opportunity_id INTEGER PRIMARY KEY, lead_id INTEGER, customer_id INTEGER,
                            owner_rep_id INTEGER, stage VARCHAR, amount DECIMAL(14, 2), created_at TIMESTAMP,
                            closed_at TIMESTAMP);
-- Snapshot tables declare no PRIMARY KEY: DuckDB would keep an index of millions of entries, larger
-- than the data. Their keys are the models' primary_key, checked by `validate --warehouse`.
CREATE TABLE opportunity_snapshots (snapshot_date DATE, opportunity_id INTEGER, customer_id INTEGER,
                                    owner_rep_id INTEGER, amount DECIMAL(14, 2));
CREATE TABLE receivable_snapshots (snapshot_date DATE, customer_id INTEGER, overdue_amount DECIMAL(14, 2),
                                   overdue_installments INTEGER);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, owner_rep_id INTEGER, channel_id INTEGER,
                     status VARCHAR, amount DECIMAL(14, 2), signed_at TIMESTAMP);
CREATE TABLE payments (payment_id INTEGER PRIMARY KEY, order_id INTEGER, customer_id INTEGER, installment INTEGER,
                       due_date DATE, amount_due DECIMAL(14, 2), paid_date DATE, amount_paid DECIMAL(14, 2));
CREATE TABLE follow_ups (follow_up_id INTEGER PRIMARY KEY, customer_id INTEGER, rep_id INTEGER, kind VARCHAR,
                         status VARCHAR, planned_at TIMESTAMP, completed_at TIMESTAMP);
CREATE TABLE tickets (ticket_id INTEGER PRIMARY KEY, customer_id INTEGER, order_id INTEGER, type VARCHAR,
                      priority VARCHAR, created_at TIMESTAMP, first_response_at TIMESTAMP, resolved_at TIMESTAMP,
                      csat INTEGER);
CREATE TABLE campaign_responses (campaign_id INTEGER, customer_id INTEGER, reached_at TIMESTAMP,
                                 responded BOOLEAN, responded_at TIMESTAMP, PRIMARY KEY (campaign_id, customer_id));
"""

# Daily snapshots derived once all batches are in, each as of the end of its day: every open
# opportunity, and per customer what is overdue — installments due on or before the day and not
# paid by its end (one paid late is overdue from its due date to the day before it is paid).
SNAPSHOTS = [
    """
INSERT INTO opportunity_snapshots
SELECT CAST(day AS DATE), opportunity_id, customer_id, owner_rep_id, amount
FROM (SELECT *, UNNEST(generate_series(CAST(created_at AS DATE),
                                       CAST(COALESCE(closed_at, TIMESTAMP '{end}') AS DATE) - INTERVAL 1 DAY,
                                       INTERVAL 1 DAY)) AS day
      FROM opportunities)
ORDER BY 1, 2
""",
    """
INSERT INTO receivable_snapshots
SELECT CAST(day AS DATE), customer_id, SUM(amount_due - COALESCE(amount_paid, 0)), COUNT(*)
FROM (SELECT *, UNNEST(generate_series(due_date,
                                       LEAST(COALESCE(paid_date, DATE '{end}'), DATE '{end}') - 1,
                                       INTERVAL 1 DAY)) AS day
      FROM payments WHERE COALESCE(paid_date, DATE '{end}') > due_date)
GROUP BY 1, 2
ORDER BY 1, 2
""",
]

REGIONS = [("east", "华东"), ("north", "华北"), ("south", "华南"), ("west", "西部"), ("central", "华中")]
REGION_WEIGHTS = [0.32, 0.24, 0.22, 0.10, 0.12]
CHANNELS = [
    (1, "website", "online"),
    (2, "search_ads", "online"),
    (3, "social", "online"),
    (4, "email", "online"),
    (5, "referral", "offline"),
    (6, "trade_show", "offline"),
    (7, "partner", "offline"),
    (8, "cold_call", "offline"),
]
CHANNEL_WEIGHTS = [0.20, 0.16, 0.12, 0.08, 0.16, 0.10, 0.12, 0.06]
TIERS = ["strategic", "key", "normal"]
TIER_WEIGHTS = [0.05, 0.20, 0.75]
INDUSTRIES = ["manufacturing", "retail", "finance", "healthcare", "education", "logistics", "software", "energy"]
TEAMS = ["enterprise", "mid_market", "smb"]
# Order seasonality by month: Chinese New Year dip in February, 618 in June, Singles' Day in November.
SEASON = [0.80, 0.65, 0.95, 1.00, 1.00, 1.20, 0.95, 0.95, 1.00, 1.05, 1.30, 1.20]
