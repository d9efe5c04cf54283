WITH u0 AS (
  SELECT
    customers.segment AS customers__segment,
    CAST(DATE_TRUNC('MONTH', CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at)) AS DATE) AS metric_time__month,
    SUM(orders.amount) FILTER(WHERE
      orders.status <> 'cancelled') AS m0,
    COUNT(*) AS m1
  FROM orders AS orders
  LEFT JOIN customers AS customers
    ON orders.customer_id = customers.customer_id
  WHERE
    (
      customers.segment
    ) <> 'internal'
    AND (
      orders.created_at >= CAST('2024-01-01 05:00:00' AS TIMESTAMP)
      AND orders.created_at < CAST('2024-07-01 04:00:00' AS TIMESTAMP)
    )
    AND NOT orders.created_at IS NULL
  GROUP BY
    customers.segment,
    CAST(DATE_TRUNC('MONTH', CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at)) AS DATE)
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
