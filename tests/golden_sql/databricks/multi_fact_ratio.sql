WITH u0 AS (
  SELECT
    customers.segment AS customers__segment,
    COUNT(*) AS m0
  FROM tickets AS tickets
  LEFT JOIN customers AS customers
    ON tickets.customer_id = customers.customer_id
  GROUP BY
    customers.segment
), u1 AS (
  SELECT
    customers.segment AS customers__segment,
    COUNT(*) AS m0
  FROM orders AS orders
  LEFT JOIN customers AS customers
    ON orders.customer_id = customers.customer_id
  GROUP BY
    customers.segment
), keys AS (
  SELECT
    u0.customers__segment AS customers__segment
  FROM u0
  UNION
  SELECT
    u1.customers__segment AS customers__segment
  FROM u1
)
SELECT
  keys.customers__segment AS customers__segment,
  CAST((
    u0.m0
  ) AS DOUBLE) / NULLIF((
    u1.m0
  ), 0) AS tickets_per_order
FROM keys
LEFT JOIN u0
  ON u0.customers__segment IS NOT DISTINCT FROM keys.customers__segment
LEFT JOIN u1
  ON u1.customers__segment IS NOT DISTINCT FROM keys.customers__segment
ORDER BY
  customers__segment ASC NULLS LAST
LIMIT 5000
