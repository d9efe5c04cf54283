WITH u0 AS (
  SELECT
    customers.segment AS customers__segment,
    CASE
      WHEN dateTrunc(
        'MONTH',
        (
          orders.created_at + toIntervalSecond(timeZoneOffset(toTimeZone(orders.created_at, 'America/New_York')))
        )
      ) IS NULL
      THEN NULL
      ELSE accurateCast(
        assumeNotNull(
          dateTrunc(
            'MONTH',
            (
              orders.created_at + toIntervalSecond(timeZoneOffset(toTimeZone(orders.created_at, 'America/New_York')))
            )
          )
        ),
        'Date32'
      )
    END AS metric_time__month,
    SUM(CASE WHEN orders.status <> 'cancelled' THEN orders.amount END) AS m0,
    COUNT(*) AS m1
  FROM orders AS orders
  LEFT JOIN customers AS customers
    ON orders.customer_id = customers.customer_id
  WHERE
    (
      customers.segment
    ) <> 'internal'
    AND (
      orders.created_at >= CAST('2024-01-01 05:00:00' AS Nullable(DateTime))
      AND orders.created_at < CAST('2024-07-01 04:00:00' AS Nullable(DateTime))
    )
    AND NOT (
      orders.created_at IS NULL
    )
  GROUP BY
    customers.segment,
    CASE
      WHEN dateTrunc(
        'MONTH',
        (
          orders.created_at + toIntervalSecond(timeZoneOffset(toTimeZone(orders.created_at, 'America/New_York')))
        )
      ) IS NULL
      THEN NULL
      ELSE accurateCast(
        assumeNotNull(
          dateTrunc(
            'MONTH',
            (
              orders.created_at + toIntervalSecond(timeZoneOffset(toTimeZone(orders.created_at, 'America/New_York')))
            )
          )
        ),
        'Date32'
      )
    END
)
SELECT
  u0.customers__segment AS customers__segment,
  u0.metric_time__month AS metric_time__month,
  u0.m0 AS revenue,
  u0.m1 AS order_count
FROM u0
ORDER BY
  customers__segment ASC,
  metric_time__month ASC
LIMIT 5001
SETTINGS join_use_nulls = 1, aggregate_functions_null_for_empty = 1
