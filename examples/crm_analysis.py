# %% [markdown]
# # CRM analysis with the semantic layer
#
# Revenue by customer tier, churn by acquisition cohort, the lead-to-deal funnel and a plot,
# all from the metric definitions in `metrics/` — the same numbers as every dashboard.
#
# The notebook asks a server when `SEMANTIC_LAYER_URL` is set (with `SEMANTIC_LAYER_TOKEN` when the
# project has access policies), and the project in `metrics/` directly otherwise; both give the
# same answers, as the same objects. Build the demo data first: `semantic-layer demo`.
# It also runs as a plain script: `python examples/crm_analysis.py`.

# %%
import os
import warnings
from pathlib import Path

import semantic_layer as sl

url = os.environ.get("SEMANTIC_LAYER_URL")
if url:
    source = sl.Client(url, token=os.environ.get("SEMANTIC_LAYER_TOKEN"))
else:
    project = os.environ.get("SEMANTIC_LAYER_PROJECT") or next(
        folder for folder in ("metrics", "../metrics") if Path(folder, "semantic_layer.yml").exists()
    )
    source = sl.connect(project, connection=os.environ.get("SEMANTIC_LAYER_CONNECTION"))
PERIOD = {"start": "2024-01-01", "end": "2026-01-01"}
print(type(source).__name__, url or project)

# %% [markdown]
# ## What can be asked
#
# The catalogue: metrics by tier, tag or a word (in English or Chinese), and what each can be
# grouped by.

# %%
strategic = source.metrics(tier="strategic")
print([m.name for m in strategic])
revenue = source.metric("revenue")
print(revenue.label, "—", revenue.description)
by_customer = [name for name in revenue.dimensions if name.startswith("customers.")]
print(f"{len(revenue.dimensions)} dimensions, such as {by_customer[:5]}")
source.metrics(search="流失")

# %% [markdown]
# ## Revenue by customer tier

# %%
by_tier = source.query(
    metrics=["revenue", "order_count", "average_order_value"],
    dimensions=["customers.tier", "metric_time:quarter"],
    time_range=PERIOD,
)
by_tier

# %%
tiers = by_tier.to_pandas()
quarterly = tiers.pivot(index="metric_time:quarter", columns="customers.tier", values="revenue")
share = quarterly.div(quarterly.sum(axis=1), axis=0).round(3)
share

# %% [markdown]
# ## Churn by acquisition cohort
#
# Customers grouped by the year they were acquired; churn is the share of a quarter's buyers who
# do not buy in the next quarter, so the latest quarter is not final yet.

# %%
with warnings.catch_warnings():
    warnings.simplefilter("ignore", sl.NotFinalWarning)  # the latest quarters may not be final yet
    cohorts = source.query(
        metrics=["churn_rate", "retention_rate"],
        dimensions=["customers.created_at:year", "metric_time:quarter"],
        time_range=PERIOD,
    )
churn = cohorts.to_pandas().pivot(index="metric_time:quarter", columns="customers.created_at:year", values="churn_rate")
churn.round(3)

# %% [markdown]
# ## From lead to deal
#
# How many leads each acquisition channel brought, the share of them whose customer won a deal
# within 90 days, and so how many became deals.

# %%
funnel = source.query(
    metrics=["lead_count", "lead_to_win_rate_90d"],
    dimensions=["channels.name"],
    time_range=PERIOD,
    order_by=["-lead_count"],
)
funnel

# %%
stages = funnel.to_pandas().set_index("channels.name")
stages["won within 90 days"] = (stages["lead_count"] * stages["lead_to_win_rate_90d"]).round().astype("Int64")
stages

# %% [markdown]
# ## Revenue by month and tier, plotted
#
# The plot needs matplotlib (`pip install 'semantic-layer[notebook]'`); without it the cell says so.

# %%
monthly = source.query(metrics=["revenue"], dimensions=["metric_time:month", "customers.tier"], time_range=PERIOD)
lines = monthly.to_pandas().pivot(index="metric_time:month", columns="customers.tier", values="revenue")
try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib is not installed: skipping the plot")
if plt is not None:
    axes = lines.plot(title="Revenue by month and tier", ylabel="revenue")
    axes.figure.tight_layout()

# %% [markdown]
# ## Order-level data, a page at a time
#
# An answer of any size comes in pages (one query each, within the server's row limit), as
# Arrow record batches: only the batch in hand is held.

# %%
orders = 0
large = 0
for batch in source.iter_batches(
    metrics=["revenue"], dimensions=["orders.order_id"], time_range=PERIOD, page_size=20_000
):
    orders += batch.num_rows
    large += sum(1 for value in batch.column("revenue").to_pylist() if value is not None and value > 50_000)
print(f"{orders:,} orders, {large:,} of them over 50,000")

# %% [markdown]
# ## Alerts

# %%
for alert in source.alerts(time_range={"end": PERIOD["end"]}):
    print(f"{alert.level:8} {alert.message}")
