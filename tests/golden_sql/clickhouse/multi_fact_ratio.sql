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
), combined AS (
  SELECT
    s.customers__segment AS customers__segment,
    MAX(s.u0__m0) AS u0__m0,
    MAX(s.u1__m0) AS u1__m0
  FROM (
    SELECT
      u0.customers__segment AS customers__segment,
      u0.m0 AS u0__m0,
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
      u1.customers__segment AS customers__segment,
      (
        SELECT
          u0.m0
        FROM u0
        WHERE
          1 = 0
      ) AS u0__m0,
      u1.m0 AS u1__m0
    FROM u1
  ) AS s
  GROUP BY
    s.customers__segment
)
SELECT
  combined.customers__segment AS customers__segment,
  CASE
    WHEN (
      combined.u0__m0
    ) IS NULL
    THEN NULL
    ELSE accurateCast(assumeNotNull((
      combined.u0__m0
    )), 'Float64')
  END / nullIf((
    combined.u1__m0
  ), 0) AS tickets_per_order
FROM combined
ORDER BY
  customers__segment ASC
LIMIT 5001
SETTINGS join_use_nulls = 1, aggregate_functions_null_for_empty = 1
