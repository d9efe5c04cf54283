WITH u0_r AS (
  SELECT DISTINCT
    orders.customer_id AS __e,
    DATE_TRUNC('MONTH', CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at)) AS __p,
    orders.status AS orders__status
  FROM orders AS orders
  WHERE
    NOT orders.customer_id IS NULL
    AND NOT orders.created_at IS NULL
    AND orders.created_at >= CAST('2024-01-01 05:00:00' AS TIMESTAMP)
    AND orders.created_at < CAST('2024-08-01 04:00:00' AS TIMESTAMP)
), u0 AS (
  SELECT
    CAST(c.__p AS DATE) AS metric_time__month,
    c.orders__status AS orders__status,
    COUNT(n.__e) AS m0,
    COUNT(*) AS m1
  FROM u0_r AS c
  LEFT JOIN (
    SELECT DISTINCT
      __e,
      __p
    FROM u0_r AS r
  ) AS n
    ON n.__e = c.__e AND n.__p = c.__p + INTERVAL '1' MONTH
  WHERE
    c.__p >= CAST(CAST('2024-01-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP)
    AND c.__p <= CAST(CAST('2024-06-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP)
  GROUP BY
    CAST(c.__p AS DATE),
    c.orders__status
), u1 AS (
  SELECT
    CAST(DATE_TRUNC('MONTH', CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at)) AS DATE) AS metric_time__month,
    orders.status AS orders__status,
    SUM(orders.amount) FILTER(WHERE
      orders.status <> 'cancelled') AS m0
  FROM orders AS orders
  WHERE
    (
      orders.created_at >= CAST('2024-01-01 05:00:00' AS TIMESTAMP)
      AND orders.created_at < CAST('2024-07-01 04:00:00' AS TIMESTAMP)
    )
    AND NOT orders.created_at IS NULL
  GROUP BY
    CAST(DATE_TRUNC('MONTH', CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at)) AS DATE),
    orders.status
), combined AS (
  SELECT
    s.metric_time__month AS metric_time__month,
    s.orders__status AS orders__status,
    MAX(s.u0__m0) AS u0__m0,
    MAX(s.u0__m1) AS u0__m1,
    MAX(s.u1__m0) AS u1__m0
  FROM (
    SELECT
      u0.metric_time__month AS metric_time__month,
      u0.orders__status AS orders__status,
      u0.m0 AS u0__m0,
      u0.m1 AS u0__m1,
      (
        SELECT
          u1.m0
        FROM u1
        WHERE
          1 = 0
      ) AS u1__m0
    FROM u0
    UNION ALL
    SELECT
      u1.metric_time__month AS metric_time__month,
      u1.orders__status AS orders__status,
      (
        SELECT
          u0.m0
        FROM u0
        WHERE
          1 = 0
      ) AS u0__m0,
      (
        SELECT
          u0.m1
        FROM u0
        WHERE
          1 = 0
      ) AS u0__m1,
      u1.m0 AS u1__m0
    FROM u1
  ) AS s
  GROUP BY
    s.metric_time__month,
    s.orders__status
)
SELECT
  combined.metric_time__month AS metric_time__month,
  combined.orders__status AS orders__status,
  CAST((
    combined.u0__m0
  ) AS DOUBLE) / NULLIF((
    combined.u0__m1
  ), 0) AS buyer_retention,
  (
    1 - (
      CAST((
        combined.u0__m0
      ) AS DOUBLE) / NULLIF((
        combined.u0__m1
      ), 0)
    )
  ) AS buyer_churn,
  combined.u1__m0 AS revenue
FROM combined
ORDER BY
  metric_time__month ASC NULLS LAST,
  orders__status ASC NULLS LAST
LIMIT 5001
