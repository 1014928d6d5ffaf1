"""A DuckDB version of gold_customer_360's full build, for the bench's gold-against-DuckDB ratio.

The silver Delta tables are read JVM-free: `deltalake.DeltaTable(path).to_pyarrow_dataset()`
registered in DuckDB (as jobs/gold/fast.py does; DuckDB's own delta extension cannot be
downloaded here). One SQL statement builds one row per customer as of the same date, with the
same rules as jobs/gold/customer_360.build_customer_360, and materialises it as a DuckDB table.
DuckDB runs with as many threads as Spark's local master has cores (2 on the bench machine).

Covered: every column of gold.customer_360 but `segments` and `_gold_run_id`, with the same
rules and names:
- identity: customers first seen before the as-of end, primary_customer_id, is_member,
  loyalty_tier, country, linked identifiers by type (crm_id_count, anonymous_id_count,
  email_count, phone_count from silver.customers.identifier_counts);
- consent: the latest choice per purpose and channel as of the date (ties by consent_event_id),
  the six consent_* flags and consent_updated_at;
- value: order states (each order's latest status, customer, amount and currency as of the
  date; first channel; placed_at = first status), amounts in EUR at gold.fx_to_eur, orders_count,
  completed/cancelled orders, orders_365d, revenue_eur, avg_order_value_eur, refunds_count,
  refunds_amount_eur, first/last_order_at;
- RFM: purchase days (completed orders grouped by UTC day), rfm_first/last_purchase_date,
  rfm_frequency, rfm_recency_days, rfm_t_days, rfm_monetary_eur, is_buyer;
- behaviour: the same staging (per customer, channel and hour of day first), first_seen_at,
  last_seen_at, channels_used, channel_count, last_touch_at, preferred_channel,
  preferred_contact_hour, page_views_30d/90d, sessions_30d/90d (web/app events of source
  `events` sessionised per customer and device with jobs/gold/common.sessionise's rule: device =
  anonymous_id, else customer:<customer_id>, else key:<customer_key>; ordered by occurred_at,
  touchpoint_id; a gap over gold.session_gap_minutes, in whole seconds, starts a new session).
  A session's start is its first event, so sessions are counted as the events that start one
  (same counts as grouping each session and taking its minimum time, one aggregation fewer);
- ancillaries from silver.order_items: flight_orders, extra_bag_share, preferred_seat;
- calls: calls_30d, last_call_at, last_call_reason (latest call, ties by call_id),
  last_call_csat (latest call that has one);
- campaigns: campaign_sends/opens/clicks/conversions_90d;
- the zero-filling and coalescing of build_customer_360, and as_of_date.

Not covered (the Spark job does these; the DuckDB side does not):
- `segments` (segments/segments.yaml conditions, evaluated inside the job's `build` step) and
  the gold.segment_membership history (its `segments` step);
- the table write: casting to the schema, the Delta MERGE into gold.customer_360 (compare
  against the job's `build` step alone for a like-for-like figure; the bench prints both),
  ops.job_watermarks, segment validation, and the pinned-version bookkeeping. DuckDB's timing
  covers opening the six Delta tables (delta-rs reads their logs), the query and materialising
  the result as an in-memory table; the result is not written anywhere;
- the incremental scope (touched customers): this is the full build only.

Known difference: Spark rounds the decimal form of a double half-up, DuckDB the binary double,
so a cent may differ where an amount ends in 5 at the third decimal. The agreement check allows
a cent per money column and row (0.0001 for shares) and also counts rows not bit-identical.

`agreement()` then compares the result with gold.customer_360 (read JVM-free too): customers on
each side and in both, a few column totals, and per column (every column both have but
customer_key, segments and _gold_run_id) the customers whose value differs.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

# silver tables the build reads (same as jobs.gold.customer_360.INPUTS)
TABLES = ("customers", "touchpoints", "order_items", "calls", "campaign_events", "consents")
INBOUND_TYPES = ("page", "screen", "track", "order", "call")
NOT_CUSTOMER_CHANNELS = ("server",)
ENGAGED_ACTIONS = ("opened", "clicked", "converted")
PAGE_TYPES = ("page", "screen")
SESSION_CHANNELS = ("web", "app")
CONSENTS = (("marketing", "email"), ("marketing", "sms"), ("marketing", "push"), ("marketing", "phone"),
            ("personalization", "any"), ("analytics", "any"))
ZERO_FILLED = ("orders_count", "completed_orders", "cancelled_orders", "orders_365d", "refunds_count",
               "flight_orders", "sessions_30d", "sessions_90d", "page_views_30d", "page_views_90d",
               "calls_30d", "campaign_sends_90d", "campaign_opens_90d", "campaign_clicks_90d",
               "campaign_conversions_90d")

# Compared row by row with gold.customer_360: every column both tables have but these
NOT_COMPARED = ("customer_key", "segments", "_gold_run_id")
# per-row tolerance of double columns (money is rounded to the cent, shares to 4 decimals)
MONEY_TOLERANCE, SHARE_TOLERANCE = 0.011, 0.0001


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values) -> str:
    return "(" + ", ".join(_q(v) for v in values) + ")"


def customer_360_sql(as_of: dt.date, gap_minutes: int, fx_to_eur: dict[str, float]) -> str:
    """The SELECT building one row per customer, over views silver_<table>."""
    end = f"TIMESTAMPTZ '{as_of + dt.timedelta(days=1)} 00:00:00+00'"
    d = f"DATE '{as_of}'"

    def last(col: str, days: int) -> str:   # jobs.gold.common.in_last_days
        return f"({col} > {d} - {days} AND {col} <= {d})"

    fx = ", ".join(f"({_q(code)}, {float(rate)!r})" for code, rate in sorted(fx_to_eur.items()))
    inbound = (f"(touchpoint_type IN {_in(INBOUND_TYPES)} AND channel IS NOT NULL "
               f"AND channel NOT IN {_in(NOT_CUSTOMER_CHANNELS)})")
    engaged = f"(touchpoint_type = 'campaign' AND event_name IN {_in(ENGAGED_ACTIONS)})"
    pages = f"(touchpoint_type IN {_in(PAGE_TYPES)})"
    consent_flags = ",\n      ".join(
        f"bool_or(purpose = {_q(p)} AND channel = {_q(c)} AND status = 'granted') AS consent_{p}_{c}"
        for p, c in CONSENTS)
    consent_cols = ", ".join(f"coalesce(consent_{p}_{c}, false) AS consent_{p}_{c}" for p, c in CONSENTS)
    zero = ", ".join(f"coalesce({c}, 0) AS {c}" for c in ZERO_FILLED)
    return f"""
WITH fx(code, rate) AS (VALUES {fx}),
ident AS (
  SELECT customer_key, primary_customer_id, coalesce(is_member, false) AS is_member, loyalty_tier, country,
         coalesce(identifier_counts['customer_id'], 0)::INT AS crm_id_count,
         coalesce(identifier_counts['anonymous_id'], 0)::INT AS anonymous_id_count,
         coalesce(identifier_counts['email'], 0)::INT AS email_count,
         coalesce(identifier_counts['phone'], 0)::INT AS phone_count
  FROM silver_customers WHERE first_seen_at IS NULL OR first_seen_at < {end}),
housed AS (
  SELECT customer_key, household_hash,
         count(*) OVER (PARTITION BY household_hash)::INT AS household_size,
         max(birth_year) OVER (PARTITION BY household_hash)::INT AS household_youngest_birth_year
  FROM silver_customers
  WHERE (first_seen_at IS NULL OR first_seen_at < {end}) AND household_hash IS NOT NULL),
household AS (SELECT customer_key, household_size, household_youngest_birth_year FROM housed),
consent_latest AS (
  SELECT customer_key, purpose, channel,
         arg_max_null(status, (occurred_at, consent_event_id)) AS status, max(occurred_at) AS changed_at
  FROM silver_consents WHERE occurred_at < {end} AND customer_key IS NOT NULL
  GROUP BY customer_key, purpose, channel),
consent AS (
  SELECT customer_key,
      {consent_flags},
      max(changed_at) AS consent_updated_at
  FROM consent_latest GROUP BY customer_key),
order_latest AS (
  SELECT order_id,
         arg_max_null(customer_key, (occurred_at, touchpoint_id)) AS customer_key,
         arg_min_null(channel, (occurred_at, touchpoint_id)) AS channel,
         min(occurred_at) AS placed_at,
         arg_max_null(event_name, (occurred_at, touchpoint_id)) AS status,
         arg_max_null(amount, (occurred_at, touchpoint_id)) AS amount,
         arg_max_null(currency, (occurred_at, touchpoint_id)) AS currency
  FROM silver_touchpoints
  WHERE source = 'orders' AND order_id IS NOT NULL AND occurred_at < {end}
  GROUP BY order_id),
items AS (
  SELECT order_id, bool_or(category = 'flight') AS has_flight, bool_or(category = 'extra_bag') AS has_extra_bag,
         sum((seat = 'window')::INT) AS window_seats, sum((seat = 'aisle')::INT) AS aisle_seats
  FROM silver_order_items GROUP BY order_id),
orders AS (
  SELECT o.order_id, o.customer_key, o.placed_at, o.placed_at::DATE AS purchase_date, o.status,
         round(o.amount * fx.rate, 2) AS amount_eur,
         coalesce(i.has_flight, false) AS has_flight, coalesce(i.has_extra_bag, false) AS has_extra_bag,
         coalesce(i.window_seats, 0) AS window_seats, coalesce(i.aisle_seats, 0) AS aisle_seats
  FROM order_latest o LEFT JOIN items i USING (order_id) LEFT JOIN fx ON fx.code = upper(o.currency)
  WHERE o.customer_key IS NOT NULL),
value_agg AS (
  SELECT customer_key, count(*) AS orders_count,
         count(*) FILTER (WHERE status = 'completed') AS completed_orders,
         count(*) FILTER (WHERE status = 'cancelled') AS cancelled_orders,
         count(*) FILTER (WHERE status = 'completed' AND {last('purchase_date', 365)}) AS orders_365d,
         round(sum(amount_eur) FILTER (WHERE status = 'completed'), 2) AS revenue_eur,
         count(*) FILTER (WHERE status = 'refunded') AS refunds_count,
         round(sum(amount_eur) FILTER (WHERE status = 'refunded'), 2) AS refunds_amount_eur,
         min(placed_at) FILTER (WHERE status = 'completed') AS first_order_at,
         max(placed_at) FILTER (WHERE status = 'completed') AS last_order_at,
         count(*) FILTER (WHERE status = 'completed' AND has_flight) AS flight_orders,
         count(*) FILTER (WHERE status = 'completed' AND has_flight AND has_extra_bag) AS bag_flight_orders,
         sum(window_seats) FILTER (WHERE status = 'completed') AS window_seats,
         sum(aisle_seats) FILTER (WHERE status = 'completed') AS aisle_seats
  FROM orders GROUP BY customer_key),
value AS (
  SELECT customer_key, orders_count, completed_orders, cancelled_orders, orders_365d,
         coalesce(revenue_eur, 0.0) AS revenue_eur,
         CASE WHEN completed_orders > 0 THEN round(coalesce(revenue_eur, 0.0) / completed_orders, 2) END
             AS avg_order_value_eur,
         refunds_count, coalesce(refunds_amount_eur, 0.0) AS refunds_amount_eur,
         first_order_at, last_order_at, flight_orders,
         CASE WHEN flight_orders > 0 THEN round(bag_flight_orders / flight_orders, 4) END AS extra_bag_share,
         CASE WHEN coalesce(window_seats, 0) > coalesce(aisle_seats, 0) THEN 'window'
              WHEN coalesce(aisle_seats, 0) > coalesce(window_seats, 0) THEN 'aisle' END AS preferred_seat
  FROM value_agg),
purchase_days AS (
  SELECT customer_key, purchase_date, sum(coalesce(amount_eur, 0.0)) AS day_value
  FROM orders WHERE status = 'completed' GROUP BY customer_key, purchase_date),
rfm_agg AS (
  SELECT customer_key, min(purchase_date) AS rfm_first_purchase_date, max(purchase_date) AS rfm_last_purchase_date,
         count(*) AS n_days, sum(day_value) AS total_value, arg_min_null(day_value, purchase_date) AS first_day_value
  FROM purchase_days GROUP BY customer_key),
rfm AS (
  SELECT customer_key, rfm_first_purchase_date, rfm_last_purchase_date, (n_days - 1)::INT AS rfm_frequency,
         date_diff('day', rfm_first_purchase_date, rfm_last_purchase_date)::INT AS rfm_recency_days,
         CASE WHEN n_days - 1 > 0 THEN round((total_value - first_day_value) / (n_days - 1), 2) ELSE 0.0 END
             AS rfm_monetary_eur
  FROM rfm_agg),
tp AS (
  SELECT * FROM silver_touchpoints WHERE occurred_at < {end} AND customer_key IS NOT NULL),
stage AS (
  SELECT customer_key, channel, hour(occurred_at) AS hour, count(*) AS n,
         sum({inbound}::BIGINT) AS n_inbound,
         max(occurred_at) AS last_at, min(occurred_at) AS first_at,
         sum(({inbound} OR {engaged})::BIGINT) AS n_contact,
         max(CASE WHEN {inbound} THEN occurred_at END) AS last_inbound_at,
         max(CASE WHEN {inbound} OR {engaged} THEN occurred_at END) AS last_contact_at,
         sum(({pages} AND {last('occurred_date', 30)})::BIGINT) AS page_views_30d,
         sum(({pages} AND {last('occurred_date', 90)})::BIGINT) AS page_views_90d
  FROM tp GROUP BY customer_key, channel, hour),
per_channel AS (
  SELECT customer_key, channel, sum(n_inbound) AS n_inbound, max(last_at) AS last_at,
         max(last_inbound_at) AS last_inbound_at
  FROM stage WHERE channel IS NOT NULL GROUP BY customer_key, channel),
by_channel AS (
  SELECT customer_key, list_sort(list(channel)) AS channels_used,
         map_from_entries(list_sort(list({{'k': channel, 'v': last_at}}))) AS last_touch_at,
         arg_max(channel, CASE WHEN n_inbound > 0 THEN (n_inbound, last_inbound_at, channel) END)
             AS preferred_channel
  FROM per_channel GROUP BY customer_key),
per_hour AS (
  SELECT customer_key, hour, sum(n_contact) AS n_contact, max(last_contact_at) AS last_contact_at
  FROM stage GROUP BY customer_key, hour),
by_hour AS (
  SELECT customer_key,
         arg_max(hour, CASE WHEN n_contact > 0 THEN (n_contact, last_contact_at, hour) END) AS preferred_contact_hour
  FROM per_hour GROUP BY customer_key),
overall AS (
  SELECT customer_key, min(first_at) AS first_seen_at, max(last_at) AS last_seen_at,
         sum(page_views_30d) AS page_views_30d, sum(page_views_90d) AS page_views_90d
  FROM stage GROUP BY customer_key),
web AS (
  SELECT customer_key, occurred_at, epoch_us(occurred_at) // 1000000 AS t,
         coalesce(anonymous_id, 'customer:' || customer_id, 'key:' || customer_key, '') AS device, touchpoint_id
  FROM tp WHERE source = 'events' AND channel IN {_in(SESSION_CHANNELS)}),
session_starts AS (
  SELECT customer_key, occurred_at::DATE AS d,
         t - lag(t) OVER (PARTITION BY customer_key, device ORDER BY occurred_at, touchpoint_id) AS gap
  FROM web),
sessions AS (
  SELECT customer_key, count(*) FILTER (WHERE {last('d', 30)}) AS sessions_30d,
         count(*) FILTER (WHERE {last('d', 90)}) AS sessions_90d
  FROM session_starts WHERE gap IS NULL OR gap > {int(gap_minutes) * 60} GROUP BY customer_key),
calls AS (
  SELECT customer_key, count(*) FILTER (WHERE {last('started_at::DATE', 30)}) AS calls_30d,
         max(started_at) AS last_call_at,
         arg_max_null(reason, (started_at, call_id)) AS last_call_reason,
         arg_max(csat, (started_at, call_id)) AS last_call_csat
  FROM silver_calls WHERE started_at < {end} AND customer_key IS NOT NULL GROUP BY customer_key),
campaigns AS (
  SELECT customer_key, count(*) FILTER (WHERE action = 'sent') AS campaign_sends_90d,
         count(*) FILTER (WHERE action = 'opened') AS campaign_opens_90d,
         count(*) FILTER (WHERE action = 'clicked') AS campaign_clicks_90d,
         count(*) FILTER (WHERE action = 'converted') AS campaign_conversions_90d
  FROM silver_campaign_events
  WHERE occurred_at < {end} AND customer_key IS NOT NULL AND {last('occurred_at::DATE', 90)}
  GROUP BY customer_key),
joined AS (
  SELECT * FROM ident
  LEFT JOIN household USING (customer_key) LEFT JOIN consent USING (customer_key) LEFT JOIN value USING (customer_key) LEFT JOIN rfm USING (customer_key)
  LEFT JOIN overall USING (customer_key) LEFT JOIN by_channel USING (customer_key)
  LEFT JOIN by_hour USING (customer_key) LEFT JOIN sessions USING (customer_key)
  LEFT JOIN calls USING (customer_key) LEFT JOIN campaigns USING (customer_key))
SELECT * REPLACE ({zero}, {consent_cols},
                  coalesce(revenue_eur, 0.0) AS revenue_eur,
                  coalesce(refunds_amount_eur, 0.0) AS refunds_amount_eur,
                  coalesce(channels_used, []::VARCHAR[]) AS channels_used),
       len(coalesce(channels_used, []::VARCHAR[]))::INT AS channel_count,
       rfm_first_purchase_date IS NOT NULL AS is_buyer,
       {d} AS as_of_date,
       date_diff('day', rfm_first_purchase_date, {d})::INT AS rfm_t_days
FROM joined
"""


def one(con, sql: str) -> tuple:
    """The first row (DuckDB 2.x: fetch to the end, or the connection stays busy)."""
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else ()


def connect(threads: int | None = None, memory_limit: str | None = None):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = {_q(memory_limit)}")
    return con


def register(con, lake: Path, layer: str, tables) -> None:
    """Each Delta table as a DuckDB view <layer>_<table> (delta-rs reads it, JVM-free)."""
    from deltalake import DeltaTable

    for t in tables:
        con.register(f"_delta_{layer}_{t}", DeltaTable(str(Path(lake) / layer / t)).to_pyarrow_dataset())
        con.execute(f"CREATE OR REPLACE VIEW {layer}_{t} AS SELECT * FROM _delta_{layer}_{t}")


def build(con, lake: Path, as_of: dt.date, gap_minutes: int, fx_to_eur: dict[str, float]) -> dict:
    """Open the silver tables and build table dd_customer_360 in `con`; rows and seconds."""
    t0 = time.monotonic()
    register(con, lake, "silver", TABLES)
    con.execute("CREATE OR REPLACE TABLE dd_customer_360 AS " + customer_360_sql(as_of, gap_minutes, fx_to_eur))
    seconds = time.monotonic() - t0
    rows = one(con, "SELECT count(*) FROM dd_customer_360")[0]
    return {"customers": rows, "seconds": seconds}


def agreement(con, lake: Path) -> dict:
    """Compare dd_customer_360 with gold.customer_360 (read JVM-free): customers on each side
    and in both, column totals, and per column the rows in both that differ."""
    register(con, lake, "gold", ("customer_360",))
    out: dict = {}
    row = one(con, """
        SELECT (SELECT count(*) FROM gold_customer_360), (SELECT count(*) FROM dd_customer_360),
               (SELECT count(*) FROM gold_customer_360 g JOIN dd_customer_360 d USING (customer_key))""")
    out["customers"] = {"gold": row[0], "duckdb": row[1], "in_both": row[2]}
    totals = ("orders_count", "revenue_eur", "rfm_frequency", "sessions_30d", "page_views_90d", "calls_30d",
              "campaign_sends_90d")
    sums = ", ".join(f"round(sum({c})::DOUBLE, 2)" for c in totals)
    g = one(con, f"SELECT {sums} FROM gold_customer_360")
    d = one(con, f"SELECT {sums} FROM dd_customer_360")
    out["totals"] = {c: {"gold": gv, "duckdb": dv} for c, gv, dv in zip(totals, g, d, strict=True)}
    types = {r[0]: r[1] for r in con.execute("DESCRIBE dd_customer_360").fetchall()}
    gold_cols = {r[0] for r in con.execute("DESCRIBE gold_customer_360").fetchall()}
    compared = [c for c in types if c in gold_cols and c not in NOT_COMPARED]
    diffs, exact = [], []
    for c in compared:
        distinct = f"g.{c} IS DISTINCT FROM d.{c}"
        if types[c] == "DOUBLE":
            tol = MONEY_TOLERANCE if c.endswith("_eur") else SHARE_TOLERANCE
            exact.append(c)
            diffs.append(f"count(*) FILTER (WHERE {distinct} AND (g.{c} IS NULL OR d.{c} IS NULL "
                         f"OR abs(g.{c} - d.{c}) > {tol}))")
        elif types[c].startswith("MAP"):   # maps compare as their entries sorted by key
            diffs.append(f"count(*) FILTER (WHERE list_sort(map_entries(g.{c})) IS DISTINCT FROM "
                         f"list_sort(map_entries(d.{c})))")
        else:
            diffs.append(f"count(*) FILTER (WHERE {distinct})")
    diffs += [f"count(*) FILTER (WHERE g.{c} IS DISTINCT FROM d.{c})" for c in exact]
    res = one(con, f"SELECT {', '.join(diffs)} FROM gold_customer_360 g JOIN dd_customer_360 d "
                   "USING (customer_key)")
    out["columns_compared"] = compared
    out["rows_differing"] = dict(zip(compared, res[:len(compared)], strict=True))
    out["rows_not_bit_identical"] = dict(zip(exact, res[len(compared):], strict=True))
    out["not_compared"] = sorted(gold_cols & set(NOT_COMPARED) - {"customer_key"})
    # A column added to customer_360 and not to customer_360_sql: the agreement would pass without it.
    out["not_computed"] = sorted(gold_cols - set(types) - set(NOT_COMPARED))
    return out
