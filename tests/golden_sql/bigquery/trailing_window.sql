WITH u0 AS (
  WITH r AS (
    SELECT DISTINCT
      orders.order_id AS __pk0,
      DATETIME(TIMESTAMP(orders.created_at, 'UTC'), 'America/New_York') AS __t,
      CASE WHEN orders.status <> 'cancelled' THEN orders.amount END AS __in0
    FROM orders AS orders
    WHERE
      orders.created_at < CAST('2024-03-04 05:00:00' AS DATETIME)
      AND orders.created_at >= CAST('2024-01-01 05:00:00' AS DATETIME)
  ), spine AS (
    SELECT
      DATETIME_ADD(b.lo, INTERVAL n DAY) AS __p
    FROM (
      SELECT
        CAST(CAST('2024-01-01 00:00:00' AS DATETIME) AS DATETIME) AS lo,
        CAST(CAST('2024-02-26 00:00:00' AS DATETIME) AS DATETIME) AS hi
    ) AS b
    CROSS JOIN UNNEST(GENERATE_ARRAY(0, DATETIME_DIFF(b.hi, b.lo, DAY), 7)) AS n
  )
  SELECT
    CAST(spine.__p AS DATE) AS metric_time__week,
    SUM(r.__in0) AS m0
  FROM spine
  LEFT JOIN r
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
