WITH u0 AS (
  SELECT
    owner_rep.team AS owner_rep__team,
    PERCENTILE(CAST(orders.amount AS DOUBLE), 0.9) AS m0
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
  owner_rep__team ASC NULLS LAST
LIMIT 5001
