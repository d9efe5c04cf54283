WITH u0 AS (
  SELECT
    r.order_lines__ship_mode AS order_lines__ship_mode,
    COUNT(*) AS m0,
    AVG(
      CASE
        WHEN r.__in1 IS NULL
        THEN NULL
        ELSE accurateCast(assumeNotNull(r.__in1), 'Float64')
      END
    ) AS m1
  FROM (
    SELECT DISTINCT
      orders.order_id AS __pk0,
      order_lines.ship_mode AS order_lines__ship_mode,
      orders.amount AS __in1
    FROM orders AS orders
    LEFT JOIN order_lines AS order_lines
      ON orders.order_id = order_lines.order_id
  ) AS r
  GROUP BY
    r.order_lines__ship_mode
)
SELECT
  u0.order_lines__ship_mode AS order_lines__ship_mode,
  u0.m0 AS order_count,
  u0.m1 AS avg_amount
FROM u0
ORDER BY
  order_lines__ship_mode ASC
LIMIT 5001
SETTINGS join_use_nulls = 1, aggregate_functions_null_for_empty = 1
