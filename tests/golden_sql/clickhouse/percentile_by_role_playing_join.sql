WITH u0 AS (
  SELECT
    owner_rep.team AS owner_rep__team,
    quantileExactInclusiveOrNull(0.9)(toFloat64(
      CASE
        WHEN orders.amount IS NULL
        THEN NULL
        ELSE accurateCast(assumeNotNull(orders.amount), 'Float64')
      END
    )) AS m0
  FROM orders AS orders
  LEFT JOIN sales_reps AS owner_rep
    ON orders.owner_rep_id = owner_rep.rep_id
  GROUP BY
    owner_rep.team
)
SELECT
  u0.owner_rep__team AS owner_rep__team,
  u0.m0 AS p90_amount
FROM u0
ORDER BY
  owner_rep__team ASC
LIMIT 5001
SETTINGS join_use_nulls = 1, aggregate_functions_null_for_empty = 1
