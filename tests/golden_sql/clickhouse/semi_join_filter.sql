WITH u0 AS (
  SELECT
    COUNT(*) AS m0
  FROM orders AS orders
  WHERE
    orders.order_id IN (
      SELECT
        s0_orders.order_id
      FROM orders AS s0_orders
      LEFT JOIN order_lines AS s0_order_lines
        ON s0_orders.order_id = s0_order_lines.order_id
      WHERE
        (
          s0_order_lines.returned
        ) = TRUE
    )
)
SELECT
  u0.m0 AS order_count
FROM u0
LIMIT 5001
SETTINGS join_use_nulls = 1, aggregate_functions_null_for_empty = 1
