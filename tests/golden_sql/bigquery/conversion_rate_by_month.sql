WITH u0 AS (
  WITH __r AS (
    SELECT
      leads.lead_id AS __pk0,
      customers.segment AS customers__segment,
      leads.customer_id AS __e,
      DATETIME(TIMESTAMP(leads.created_at, 'UTC'), 'America/New_York') AS __t
    FROM leads AS leads
    LEFT JOIN customers AS customers
      ON leads.customer_id = customers.customer_id
    WHERE
      (
        leads.created_at >= CAST('2024-01-01 05:00:00' AS DATETIME)
        AND leads.created_at < CAST('2024-07-01 04:00:00' AS DATETIME)
      )
      AND NOT leads.created_at IS NULL
  ), __c AS (
    SELECT DISTINCT
      deals.customer_id AS __e,
      DATETIME(TIMESTAMP(deals.closed_at, 'UTC'), 'America/New_York') AS __t
    FROM deals AS deals
    WHERE
      (
        deals.amount
      ) >= 500 AND deals.stage = 'won'
  ), __h AS (
    SELECT DISTINCT
      __r.__pk0 AS __pk0
    FROM __r
    JOIN __c
      ON __c.__e = __r.__e
    WHERE
      __c.__t >= __r.__t AND __c.__t <= __r.__t + INTERVAL '7' DAY
  )
  SELECT
    CAST(TIMESTAMP_TRUNC(__r.__t, MONTH) AS DATE) AS metric_time__month,
    __r.customers__segment AS customers__segment,
    COUNT(__h.__pk0) AS m0,
    COUNT(*) AS m1
  FROM __r
  LEFT JOIN __h
    ON __h.__pk0 = __r.__pk0
  GROUP BY
    CAST(TIMESTAMP_TRUNC(__r.__t, MONTH) AS DATE),
    __r.customers__segment
)
SELECT
  u0.metric_time__month AS metric_time__month,
  u0.customers__segment AS customers__segment,
  CAST((
    u0.m0
  ) AS FLOAT64) / NULLIF((
    u0.m1
  ), 0) AS lead_to_win_7d,
  u0.m0 AS leads_won_7d
FROM u0
ORDER BY
  metric_time__month ASC NULLS LAST,
  customers__segment ASC NULLS LAST
LIMIT 5001
