WITH u0 AS (
  SELECT
    customers.segment AS customers__segment,
    CAST(TIMESTAMP_TRUNC(DATETIME(TIMESTAMP(orders.created_at, 'UTC'), 'America/New_York'), MONTH) AS DATE) AS metric_time__month,
    SUM(IF(orders.status <> 'cancelled', orders.amount, NULL)) AS m0,
    COUNT(*) AS m1
  FROM orders AS orders
  LEFT JOIN customers AS customers
    ON orders.customer_id = customers.customer_id
  WHERE
    (
      customers.segment
    ) <> 'internal'
    AND (
      orders.created_at >= CAST('2024-01-01 05:00:00' AS DATETIME)
      AND orders.created_at < CAST('2024-07-01 04:00:00' AS DATETIME)
    )
    AND NOT orders.created_at IS NULL
  GROUP BY
    customers.segment,
    CAST(TIMESTAMP_TRUNC(DATETIME(TIMESTAMP(orders.created_at, 'UTC'), 'America/New_York'), MONTH) AS DATE)
)
SELECT
  u0.customers__segment AS customers__segment,
  u0.metric_time__month AS metric_time__month,
  u0.m0 AS revenue,
  u0.m1 AS order_count
FROM u0
ORDER BY
  customers__segment ASC NULLS LAST,
  metric_time__month ASC NULLS LAST
LIMIT 5001
