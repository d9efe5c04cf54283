WITH u0 AS (
  WITH r AS (
    SELECT DISTINCT
      orders.order_id AS __pk0,
      CONVERT_TIMEZONE('UTC', 'America/New_York', orders.created_at) AS __t,
      CASE WHEN orders.status <> 'cancelled' THEN orders.amount END AS __in0
    FROM orders AS orders
    WHERE
      orders.created_at < CAST('2024-03-04 05:00:00' AS TIMESTAMP)
      AND orders.created_at >= CAST('2024-01-01 05:00:00' AS TIMESTAMP)
  ), spine AS (
    SELECT
      DATEADD(DAY, CAST(s.n AS INT), b.lo) AS __p
    FROM (
      SELECT
        CAST(CAST('2024-01-01 00:00:00' AS TIMESTAMP) AS TIMESTAMP) AS lo,
        CAST(CAST('2024-02-26 00:00:00' AS TIMESTAMP) AS TIMESTAMP) AS hi
    ) AS b
    CROSS JOIN TABLE(FLATTEN(INPUT => ARRAY_GENERATE_RANGE(0, DATEDIFF(DAY, b.lo, b.hi) + 1, 7))) AS s(seq, key, path, index, n, this)
  )
  SELECT
    CAST(spine.__p AS DATE) AS metric_time__week,
    SUM(r.__in0) AS m0
  FROM spine
  LEFT JOIN r
    ON r.__t >= spine.__p + INTERVAL '7 DAY' - INTERVAL '7 DAY'
    AND r.__t < spine.__p + INTERVAL '7 DAY'
  GROUP BY
    spine.__p
)
SELECT
  u0.metric_time__week AS metric_time__week,
  u0.m0 AS revenue_trailing_7d
FROM u0
ORDER BY
  metric_time__week ASC
LIMIT 5001
