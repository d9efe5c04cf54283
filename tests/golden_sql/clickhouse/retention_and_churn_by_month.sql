WITH u0 AS (
  WITH r AS (
    SELECT DISTINCT
      orders.customer_id AS __e,
      dateTrunc(
        'MONTH',
        (
          orders.created_at + toIntervalSecond(timeZoneOffset(toTimeZone(orders.created_at, 'America/New_York')))
        )
      ) AS __p,
      orders.status AS orders__status
    FROM orders AS orders
    WHERE
      NOT (
        orders.customer_id IS NULL
      )
      AND NOT (
        orders.created_at IS NULL
      )
      AND orders.created_at >= CAST('2024-01-01 05:00:00' AS Nullable(DateTime))
      AND orders.created_at < CAST('2024-08-01 04:00:00' AS Nullable(DateTime))
  )
  SELECT
    CASE
      WHEN c.__p IS NULL
      THEN NULL
      ELSE accurateCast(assumeNotNull(c.__p), 'Date32')
    END AS metric_time__month,
    c.orders__status AS orders__status,
    COUNT(n.__e) AS m0,
    COUNT(*) AS m1
  FROM r AS c
  LEFT JOIN (
    SELECT DISTINCT
      __e,
      __p
    FROM r
  ) AS n
    ON n.__e = c.__e AND n.__p = c.__p + INTERVAL '1' MONTH
  WHERE
    c.__p >= CASE
      WHEN CAST('2024-01-01 00:00:00' AS Nullable(DateTime)) IS NULL
      THEN NULL
      ELSE accurateCast(assumeNotNull(CAST('2024-01-01 00:00:00' AS Nullable(DateTime))), 'DateTime64(6)')
    END
    AND c.__p <= CASE
      WHEN CAST('2024-06-01 00:00:00' AS Nullable(DateTime)) IS NULL
      THEN NULL
      ELSE accurateCast(assumeNotNull(CAST('2024-06-01 00:00:00' AS Nullable(DateTime))), 'DateTime64(6)')
    END
  GROUP BY
    CASE
      WHEN c.__p IS NULL
      THEN NULL
      ELSE accurateCast(assumeNotNull(c.__p), 'Date32')
    END,
    c.orders__status
), u1 AS (
  SELECT
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
    orders.status AS orders__status,
    SUM(CASE WHEN orders.status <> 'cancelled' THEN orders.amount END) AS m0
  FROM orders AS orders
  WHERE
    (
      orders.created_at >= CAST('2024-01-01 05:00:00' AS Nullable(DateTime))
      AND orders.created_at < CAST('2024-07-01 04:00:00' AS Nullable(DateTime))
    )
    AND NOT (
      orders.created_at IS NULL
    )
  GROUP BY
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
    END,
    orders.status
), combined AS (
  SELECT
    s.metric_time__month AS metric_time__month,
    s.orders__status AS orders__status,
    MAX(s.u0__m0) AS u0__m0,
    MAX(s.u0__m1) AS u0__m1,
    MAX(s.u1__m0) AS u1__m0
  FROM (
    SELECT
      u0.metric_time__month AS metric_time__month,
      u0.orders__status AS orders__status,
      u0.m0 AS u0__m0,
      u0.m1 AS u0__m1,
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
      u1.metric_time__month AS metric_time__month,
      u1.orders__status AS orders__status,
      (
        SELECT
          u0.m0
        FROM u0
        WHERE
          1 = 0
      ) AS u0__m0,
      (
        SELECT
          u0.m1
        FROM u0
        WHERE
          1 = 0
      ) AS u0__m1,
      u1.m0 AS u1__m0
    FROM u1
  ) AS s
  GROUP BY
    s.metric_time__month,
    s.orders__status
)
SELECT
  combined.metric_time__month AS metric_time__month,
  combined.orders__status AS orders__status,
  CASE
    WHEN (
      combined.u0__m0
    ) IS NULL
    THEN NULL
    ELSE accurateCast(assumeNotNull((
      combined.u0__m0
    )), 'Float64')
  END / nullIf((
    combined.u0__m1
  ), 0) AS buyer_retention,
  (
    1 - (
      CASE
        WHEN (
          combined.u0__m0
        ) IS NULL
        THEN NULL
        ELSE accurateCast(assumeNotNull((
          combined.u0__m0
        )), 'Float64')
      END / nullIf((
        combined.u0__m1
      ), 0)
    )
  ) AS buyer_churn,
  combined.u1__m0 AS revenue
FROM combined
ORDER BY
  metric_time__month ASC,
  orders__status ASC
LIMIT 5001
SETTINGS join_use_nulls = 1, aggregate_functions_null_for_empty = 1
