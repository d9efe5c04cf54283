WITH u0 AS (
  SELECT
    COUNT(*) AS m0
  FROM orders AS orders
  WHERE
    EXISTS(
      SELECT
        1
      FROM orders AS s0_orders
      LEFT JOIN order_lines AS s0_order_lines
        ON s0_orders.order_id = s0_order_lines.order_id
      WHERE
        s0_orders.order_id = orders.order_id AND (
          s0_order_lines.returned
        ) = TRUE
    )
)
SELECT
  u0.m0 AS order_count
FROM u0
LIMIT 5001
