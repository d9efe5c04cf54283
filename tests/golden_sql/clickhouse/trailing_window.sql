WITH u0 AS (
  WITH r AS (
    SELECT DISTINCT
      orders.order_id AS __pk0,
      (
        orders.created_at + toIntervalSecond(timeZoneOffset(toTimeZone(orders.created_at, 'America/New_York')))
      ) AS __t,
      CASE WHEN orders.status <> 'cancelled' THEN orders.amount END AS __in0
    FROM orders AS orders
    WHERE
      orders.created_at < CAST('2024-03-04 05:00:00' AS Nullable(DateTime))
      AND orders.created_at >= CAST('2024-01-01 05:00:00' AS Nullable(DateTime))
  ), spine AS (
    SELECT
      b.lo + INTERVAL (
        arrayJoin(range(0, toUInt64(greatest(COALESCE(DATE_DIFF(DAY, b.lo, b.hi) + 1, 0), 0)), 7))
      ) DAY AS __p
    FROM (
      SELECT
        CASE
          WHEN CAST('2024-01-01 00:00:00' AS Nullable(DateTime)) IS NULL
          THEN NULL
          ELSE accurateCast(assumeNotNull(CAST('2024-01-01 00:00:00' AS Nullable(DateTime))), 'DateTime64(6)')
        END AS lo,
        CASE
          WHEN CAST('2024-02-26 00:00:00' AS Nullable(DateTime)) IS NULL
          THEN NULL
          ELSE accurateCast(assumeNotNull(CAST('2024-02-26 00:00:00' AS Nullable(DateTime))), 'DateTime64(6)')
        END AS hi
    ) AS b
  )
  SELECT
    CASE
      WHEN spine.__p IS NULL
      THEN NULL
      ELSE accurateCast(assumeNotNull(spine.__p), 'Date32')
    END AS metric_time__week,
    SUM(r.__in0) AS m0
  FROM spine
  LEFT JOIN (
    SELECT
      spine.__p AS __w,
      r.*
    FROM spine
    CROSS JOIN r
    WHERE
      r.__t >= spine.__p + INTERVAL '7' DAY - INTERVAL '7' DAY
      AND r.__t < spine.__p + INTERVAL '7' DAY
  ) AS r
    ON r.__w = spine.__p
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
SETTINGS join_use_nulls = 1, aggregate_functions_null_for_empty = 1
