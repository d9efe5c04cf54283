WITH u0 AS (
  SELECT
    customers__regions.name AS customers__regions__name,
    SUM(CASE WHEN orders.status <> 'cancelled' THEN orders.amount END) AS m0
  FROM orders AS orders
  LEFT JOIN customers AS customers
    ON orders.customer_id = customers.customer_id
  LEFT JOIN regions AS customers__regions
    ON customers.region_id = customers__regions.region_id
  WHERE
    (
      orders.amount
    ) BETWEEN 100 AND 500
    AND (
      customers.segment
    ) IN ('smb', 'enterprise')
  GROUP BY
    customers__regions.name
)
SELECT
  u0.customers__regions__name AS customers__regions__name,
  u0.m0 AS revenue
FROM u0
ORDER BY
  revenue DESC
LIMIT 10
SETTINGS join_use_nulls = 1, aggregate_functions_null_for_empty = 1
