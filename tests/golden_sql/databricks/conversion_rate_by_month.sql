WITH u0___r AS (
  SELECT
    leads.lead_id AS __pk0,
    customers.segment AS customers__segment,
    leads.customer_id AS __e,
    CONVERT_TIMEZONE('UTC', 'America/New_York', leads.created_at) AS __t
  FROM leads AS leads
  LEFT JOIN customers AS customers
    ON leads.customer_id = customers.customer_id
  WHERE
    (
      leads.created_at >= CAST('2024-01-01 05:00:00' AS TIMESTAMP)
      AND leads.created_at < CAST('2024-07-01 04:00:00' AS TIMESTAMP)
    )
    AND NOT leads.created_at IS NULL
), u0___c AS (
  SELECT DISTINCT
    deals.customer_id AS __e,
    CONVERT_TIMEZONE('UTC', 'America/New_York', deals.closed_at) AS __t
  FROM deals AS deals
  WHERE
    (
      deals.amount
    ) >= 500 AND deals.stage = 'won'
), u0___h AS (
  SELECT DISTINCT
    __r.__pk0 AS __pk0
  FROM u0___r AS __r
  JOIN u0___c AS __c
    ON __c.__e = __r.__e
  WHERE
    __c.__t >= __r.__t AND __c.__t <= __r.__t + INTERVAL '7' DAY
), u0 AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', __r.__t) AS DATE) AS metric_time__month,
    __r.customers__segment AS customers__segment,
    COUNT(__h.__pk0) AS m0,
    COUNT(*) AS m1
  FROM u0___r AS __r
  LEFT JOIN u0___h AS __h
    ON __h.__pk0 = __r.__pk0
  GROUP BY
    CAST(DATE_TRUNC('MONTH', __r.__t) AS DATE),
    __r.customers__segment
)
SELECT
  u0.metric_time__month AS metric_time__month,
  u0.customers__segment AS customers__segment,
  CAST((
    u0.m0
  ) AS DOUBLE) / NULLIF((
    u0.m1
  ), 0) AS lead_to_win_7d,
  u0.m0 AS leads_won_7d
FROM u0
ORDER BY
  metric_time__month ASC NULLS LAST,
  customers__segment ASC NULLS LAST
LIMIT 5001
