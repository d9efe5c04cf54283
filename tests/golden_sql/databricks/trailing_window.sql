WITH u0_r AS (
  SELECT DISTINCT
    orders.order_id AS __pk0,
    CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at) AS __t,
    CASE WHEN orders.status <> 'cancelled' THEN orders.amount END AS __in0
  FROM orders AS orders
  WHERE
    orders.created_at < CAST('2024-03-04 05:00:00' AS TIMESTAMP)
    AND orders.created_at >= CAST('2024-01-01 05:00:00' AS TIMESTAMP)
), u0_spine AS (
  SELECT
    s.__p AS __p
  FROM (
    SELECT
      CAST(CAST('2024-01-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP) AS lo,
      CAST(CAST('2024-02-26 00:00:00' AS TIMESTAMP) AS TIMESTAMP) AS hi
  ) AS b
  LATERAL VIEW
  EXPLODE(SEQUENCE(b.lo, b.hi, INTERVAL '7' DAY)) s AS __p
), u0 AS (
  SELECT
    CAST(spine.__p AS DATE) AS metric_time__week,
    SUM(r.__in0) AS m0
  FROM u0_spine AS spine
  LEFT JOIN u0_r AS r
    ON r.__t >= spine.__p + INTERVAL '7' DAY - INTERVAL '7' DAY
    AND r.__t < spine.__p + INTERVAL '7' DAY
  GROUP BY
    spine.__p
)
SELECT
  u0.metric_time__week AS metric_time__week,
  u0.m0 AS revenue_trailing_7d
FROM u0
ORDER BY
  metric_time__week ASC NULLS LAST
LIMIT 5001
