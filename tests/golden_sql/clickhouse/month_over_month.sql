WITH u0 AS (
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
    SUM(CASE WHEN orders.status <> 'cancelled' THEN orders.amount END) AS m0
  FROM orders AS orders
  WHERE
    NOT (
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
    END
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
    SUM(CASE WHEN orders.status <> 'cancelled' THEN orders.amount END) AS m0
  FROM orders AS orders
  WHERE
    NOT (
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
    END
), combined AS (
  SELECT
    s.metric_time__month AS metric_time__month,
    MAX(s.u0__m0) AS u0__m0
  FROM (
    SELECT
      u0.metric_time__month AS metric_time__month,
      u0.m0 AS u0__m0
    FROM u0
    UNION ALL
    SELECT
      CASE
        WHEN u1.metric_time__month + INTERVAL '1' MONTH IS NULL
        THEN NULL
        ELSE accurateCast(assumeNotNull(u1.metric_time__month + INTERVAL '1' MONTH), 'Date32')
      END AS metric_time__month,
      (
        SELECT
          u0.m0
        FROM u0
        WHERE
          1 = 0
      ) AS u0__m0
    FROM u1
  ) AS s
  GROUP BY
    s.metric_time__month
)
SELECT
  combined.metric_time__month AS metric_time__month,
  combined.u0__m0 AS revenue,
  (
    CASE
      WHEN (
        (
          combined.u0__m0
        )
      ) IS NULL
      THEN NULL
      ELSE accurateCast(assumeNotNull((
        (
          combined.u0__m0
        )
      )), 'Float64')
    END / nullIf((
      (
        u1.m0
      )
    ), 0) - 1
  ) AS revenue_growth_mom
FROM combined
LEFT JOIN u1
  ON u1.metric_time__month IS NOT DISTINCT FROM CASE
    WHEN combined.metric_time__month - INTERVAL '1' MONTH IS NULL
    THEN NULL
    ELSE accurateCast(assumeNotNull(combined.metric_time__month - INTERVAL '1' MONTH), 'Date32')
  END
ORDER BY
  metric_time__month ASC
LIMIT 5001
SETTINGS join_use_nulls = 1, aggregate_functions_null_for_empty = 1
