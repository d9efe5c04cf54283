WITH u0 AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at)) AS DATE) AS metric_time__month,
    SUM(CASE WHEN orders.status <> 'cancelled' THEN orders.amount END) AS m0
  FROM orders AS orders
  WHERE
    NOT orders.created_at IS NULL
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at)) AS DATE)
), u1 AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at)) AS DATE) AS metric_time__month,
    SUM(CASE WHEN orders.status <> 'cancelled' THEN orders.amount END) AS m0
  FROM orders AS orders
  WHERE
    NOT orders.created_at IS NULL
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at)) AS DATE)
), keys AS (
  SELECT
    u0.metric_time__month AS metric_time__month
  FROM u0
  UNION
  SELECT
    CAST(u1.metric_time__month + INTERVAL '1 MONTH' AS DATE) AS metric_time__month
  FROM u1
)
SELECT
  keys.metric_time__month AS metric_time__month,
  u0.m0 AS revenue,
  (
    CAST((
      (
        u0.m0
      )
    ) AS DOUBLE PRECISION) / NULLIF((
      (
        u1.m0
      )
    ), 0) - 1
  ) AS revenue_growth_mom
FROM keys
LEFT JOIN u0
  ON u0.metric_time__month IS NOT DISTINCT FROM keys.metric_time__month
LEFT JOIN u1
  ON u1.metric_time__month IS NOT DISTINCT FROM CAST(keys.metric_time__month - INTERVAL '1 MONTH' AS DATE)
ORDER BY
  metric_time__month ASC
LIMIT 5000
