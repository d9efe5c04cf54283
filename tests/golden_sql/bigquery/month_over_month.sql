WITH u0 AS (
  SELECT
    CAST(TIMESTAMP_TRUNC(DATETIME(TIMESTAMP(orders.created_at, 'UTC'), 'America/New_York'), MONTH) AS DATE) AS metric_time__month,
    SUM(IF(orders.status <> 'cancelled', orders.amount, NULL)) AS m0
  FROM orders AS orders
  WHERE
    NOT orders.created_at IS NULL
  GROUP BY
    CAST(TIMESTAMP_TRUNC(DATETIME(TIMESTAMP(orders.created_at, 'UTC'), 'America/New_York'), MONTH) AS DATE)
), u1 AS (
  SELECT
    CAST(TIMESTAMP_TRUNC(DATETIME(TIMESTAMP(orders.created_at, 'UTC'), 'America/New_York'), MONTH) AS DATE) AS metric_time__month,
    SUM(IF(orders.status <> 'cancelled', orders.amount, NULL)) AS m0
  FROM orders AS orders
  WHERE
    NOT orders.created_at IS NULL
  GROUP BY
    CAST(TIMESTAMP_TRUNC(DATETIME(TIMESTAMP(orders.created_at, 'UTC'), 'America/New_York'), MONTH) AS DATE)
), combined AS (
  SELECT
    s.metric_time__month AS metric_time__month,
    MAX(s.u0__m0) AS u0__m0
  FROM (
    SELECT
      u0.metric_time__month AS metric_time__month,
      u0.m0 AS u0__m0
    FROM u0
    UNION ALL
    SELECT
      CAST(u1.metric_time__month + INTERVAL '1' MONTH AS DATE) AS metric_time__month,
      (
        SELECT
          u0.m0
        FROM u0
        WHERE
          1 = 0
      ) AS u0__m0
    FROM u1
  ) AS s
  GROUP BY
    s.metric_time__month
)
SELECT
  combined.metric_time__month AS metric_time__month,
  combined.u0__m0 AS revenue,
  (
    CAST((
      (
        combined.u0__m0
      )
    ) AS FLOAT64) / NULLIF((
      (
        u1.m0
      )
    ), 0) - 1
  ) AS revenue_growth_mom
FROM combined
LEFT JOIN u1
  ON u1.metric_time__month IS NOT DISTINCT FROM CAST(combined.metric_time__month - INTERVAL '1' MONTH AS DATE)
ORDER BY
  metric_time__month ASC NULLS LAST
LIMIT 5001
