"""The GraphQL server over real HTTP: catalogue, answers, auth, row-level security, errors, cache, limits."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import assert_rows, make_project
from liveserver import LiveServer
from served import ADMIN, SECRET, code_of, gql, run, server_project, token, wait_for
from typer.testing import CliRunner

import semantic_layer as sl
from semantic_layer.cli import app as cli
from server import ServerSettings, create_app


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shop_db: Path, rsa_key: rsa.RSAPrivateKey) -> Iterator[LiveServer]:
    root = server_project(tmp_path_factory.mktemp("served"), shop_db)
    public = (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = ServerSettings(
        project=root,
        jwt_secret=SECRET,
        jwt_public_key=public,
        cache_url=None,
        cors_origins=("http://dashboards.local",),
        max_request_bytes=20_000,
    )
    with LiveServer(create_app(settings)) as server:
        yield server


# -- endpoints ------------------------------------------------------------------------------------
def test_health_ready_and_metrics_endpoints(live: LiveServer) -> None:
    assert httpx.get(f"{live.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{live.url}/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready" and ready.json()["project"] == "shop"
    run(live, metrics=["order_count"])
    text = httpx.get(f"{live.url}/metrics").text
    for name in (
        "semantic_layer_requests_total",
        "semantic_layer_query_seconds_bucket",
        "semantic_layer_compile_seconds_count",
        "semantic_layer_cache_misses_total",
    ):
        assert name in text
    # the embedded DuckDB's buffer pool holds the blocks the query read
    held = re.search(r"^semantic_layer_engine_memory_bytes (\S+)$", text, re.MULTILINE)
    assert held is not None and float(held.group(1)) > 0


def test_graphiql_is_served_on_get(live: LiveServer) -> None:
    page = httpx.get(f"{live.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_cors_preflight_for_a_configured_origin(live: LiveServer) -> None:
    allowed = httpx.options(
        f"{live.url}/graphql", headers={"Origin": "http://dashboards.local", "Access-Control-Request-Method": "POST"}
    )
    assert allowed.headers.get("access-control-allow-origin") == "http://dashboards.local"
    other = httpx.options(
        f"{live.url}/graphql", headers={"Origin": "http://evil.local", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in other.headers


# -- catalogue ------------------------------------------------------------------------------------
def test_metric_catalogue_filters_by_tier_tag_and_search(live: LiveServer) -> None:
    data = gql(
        live,
        '{ all: metrics { name } strategic: metrics(tier: "strategic") { name } '
        'gmv: metrics(search: "GMV") { name } zh: metrics(search: "成交") { name } '
        "dep: metrics(includeDeprecated: true) { name status replacedBy } }",
    )["data"]
    names = {m["name"] for m in data["all"]}
    assert "revenue" in names and "legacy_revenue" not in names
    assert [m["name"] for m in data["strategic"]] == ["revenue"]
    assert [m["name"] for m in data["gmv"]] == ["revenue"] == [m["name"] for m in data["zh"]]
    legacy = next(m for m in data["dep"] if m["name"] == "legacy_revenue")
    assert legacy == {"name": "legacy_revenue", "status": "deprecated", "replacedBy": "revenue"}


def test_one_metric_with_lineage_dimensions_and_sql(live: LiveServer) -> None:
    metric = gql(live, '{ metric(name: "average_order_value") { name type dependsOn dimensions sql format } }')
    m = metric["data"]["metric"]
    assert m["type"] == "ratio" and m["dependsOn"] == ["revenue", "order_count"]
    assert "customers.segment" in m["dimensions"] and "metric_time" in m["dimensions"]
    assert m["sql"].startswith("WITH")
    assert gql(live, '{ metric(name: "nope") { name } }')["data"]["metric"] is None


def test_dimensions_are_those_every_given_metric_reaches(live: LiveServer) -> None:
    both = gql(live, '{ dimensions(metrics: ["revenue", "ticket_count"]) { name type } }')["data"]["dimensions"]
    names = {d["name"] for d in both}
    assert {"customers.segment", "metric_time"} <= names
    assert "tickets.priority" not in names  # orders cannot reach tickets
    unknown = gql(live, '{ dimensions(metrics: ["revnue"]) { name } }')
    assert code_of(unknown) == "UNKNOWN_MEMBER"


def test_models_list(live: LiveServer) -> None:
    models = gql(live, "{ models { name primaryKey time measures dimensions } }")["data"]["models"]
    orders = next(m for m in models if m["name"] == "orders")
    assert orders["primaryKey"] == ["order_id"] and orders["time"] == "created_at" and "revenue" in orders["measures"]


# -- answers --------------------------------------------------------------------------------------
def test_query_answer_equals_hand_written_sql(live: LiveServer, hand: Any) -> None:
    body = run(
        live,
        metrics=["revenue", "order_count"],
        dimensions=["customers.segment"],
        filters=[{"member": "orders.amount", "op": "GT", "values": [100]}],
        orderBy=[{"member": "revenue", "desc": True}],
    )
    result = body["data"]["query"]
    expected = hand("""SELECT c.segment, SUM(CASE WHEN o.status <> 'cancelled' THEN o.amount END) r, COUNT(*)
                       FROM orders o LEFT JOIN customers c USING (customer_id) WHERE o.amount > 100
                       GROUP BY 1 ORDER BY r DESC NULLS LAST""")
    got = [tuple(row.values()) for row in result["rows"]]
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert all(isinstance(g[1], float) and isinstance(g[2], int) for g in got)
    assert [round(g[1], 2) for g in got] == [round(float(e[1]), 2) for e in expected]
    assert result["columns"][1] == {"name": "revenue", "kind": "metric", "type": "number", "format": "currency"}


def test_a_hit_shows_the_sql_even_when_the_miss_did_not_select_it(live: LiveServer) -> None:
    """The SQL text is rendered per request, not cached: a hit renders it from the same statement."""
    query = {"metrics": ["revenue"], "dimensions": ["customers.segment"], "where": ["orders.amount > 4321"]}
    lean = gql(live, "query L($input: QueryInput!) { query(input: $input) { rows cached } }", {"input": query})["data"][
        "query"
    ]
    full = run(live, **query)["data"]["query"]
    assert lean["cached"] is False and full["cached"] is True and full["rows"] == lean["rows"]
    assert (
        full["sql"]
        == gql(live, "query C($input: QueryInput!) { compile(input: $input) { sql } }", {"input": query})["data"][
            "compile"
        ]["sql"]
    )


def test_the_sql_text_is_rendered_only_when_selected(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from semantic_layer.compiler.pipeline import CompiledQuery

    rendered: list[str] = []
    inline = CompiledQuery.inline
    monkeypatch.setattr(CompiledQuery, "inline", lambda self, values: rendered.append("sql") or inline(self, values))
    query = {"metrics": ["order_count"], "where": ["orders.amount > 2468"]}
    gql(live, "query L($input: QueryInput!) { query(input: $input) { rows cached } }", {"input": query})
    assert rendered == []
    assert "2468" in run(live, **query)["data"]["query"]["sql"] and rendered == ["sql"]


def test_dates_are_iso_strings_and_warnings_are_reported(live: LiveServer) -> None:
    result = run(
        live,
        metrics=["legacy_revenue"],
        dimensions=["metric_time:month"],
        timeRange={"start": "2024-01-01", "end": "2024-03-01"},
    )["data"]["query"]
    assert [r["metric_time:month"] for r in result["rows"]] == ["2024-01-01", "2024-02-01"]
    assert result["warnings"] == ["metric 'legacy_revenue' is deprecated — use 'revenue' instead"]


def cache_hits(live: LiveServer) -> float:
    line = next(
        ln
        for ln in httpx.get(f"{live.url}/metrics").text.splitlines()
        if ln.startswith("semantic_layer_cache_hits_total ")
    )
    return float(line.split()[1])


def test_a_repeated_query_is_served_from_the_cache(live: LiveServer) -> None:
    hits_before = cache_hits(live)
    query = {"metrics": ["buyers"], "dimensions": ["orders.status"], "where": ["orders.amount > 321"]}
    first, second = run(live, **query)["data"]["query"], run(live, **query)["data"]["query"]
    assert first["cached"] is False and second["cached"] is True and first["rows"] == second["rows"]
    assert first["sql"] == second["sql"] and "321" in second["sql"]
    other_value = run(live, **{**query, "where": ["orders.amount > 322"]})["data"]["query"]
    assert other_value["cached"] is False and "322" in other_value["sql"]
    assert cache_hits(live) == hits_before + 1


def test_compile_returns_sql_for_a_dialect(live: LiveServer) -> None:
    body = gql(
        live,
        'query C($i: QueryInput!) { compile(input: $i, dialect: "postgres") { sql dialect } }',
        {"i": {"metrics": ["average_order_value"], "dimensions": ["metric_time:month"]}},
    )
    assert "DOUBLE PRECISION" in body["data"]["compile"]["sql"] and body["data"]["compile"]["dialect"] == "postgres"


def test_concurrent_requests_are_answered(live: LiveServer) -> None:
    import concurrent.futures

    def ask(i: int) -> int:
        rows = run(live, metrics=["order_count"], where=[f"orders.amount > {i}"])["data"]["query"]["rows"]
        return int(rows[0]["order_count"])

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        counts = list(pool.map(ask, range(0, 1600, 50)))
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]


def test_the_python_client_gives_the_local_answer(live: LiveServer, layer: sl.Layer) -> None:
    query = dict(
        metrics=["revenue", "average_order_value"],
        dimensions=["metric_time:quarter", "owner_rep.team"],
        where=[sl.Filter(member="customers.segment", op="in", values=["smb", "enterprise"])],
        time_range={"start": "2024-01-01", "end": "2025-01-01"},
        order_by=["-revenue"],
    )
    with sl.Client(live.url, token=ADMIN) as client:
        remote = client.query(**query)
        with pytest.raises(sl.UnknownMemberError, match="did you mean 'revenue'"):
            client.query(metrics=["revnue"])
        assert "CONVERT_TIMEZONE" in client.compile(
            dialect="snowflake", metrics=["revenue"], dimensions=["metric_time:day"]
        )
    local = layer.query(**query)
    assert [c.name for c in remote.columns] == [c.name for c in local.columns]
    assert_rows(remote, [tuple(r.values()) for r in local.rows])


# -- auth and row-level security ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bearer", "code"),
    [
        (None, "UNAUTHENTICATED"),
        ("not-a-jwt", "UNAUTHENTICATED"),
        (token(["admin"], expires_in=-60), "UNAUTHENTICATED"),
        (
            jwt.encode(
                {"roles": ["admin"], "exp": int(time.time()) + 600},
                "another-secret-of-32-bytes-long!!",
                algorithm="HS256",
            ),
            "UNAUTHENTICATED",
        ),
        (
            jwt.encode(
                {"roles": ["admin"], "exp": int(time.time()) + 600, "nbf": int(time.time()) + 3600},
                SECRET,
                algorithm="HS256",
            ),
            "UNAUTHENTICATED",
        ),
        (jwt.encode({"roles": ["admin"]}, SECRET, algorithm="HS256"), "UNAUTHENTICATED"),
        (token(["superuser"]), "FORBIDDEN"),
        (token([]), "FORBIDDEN"),
        (token(["regional"]), "FORBIDDEN"),
    ],
    ids=[
        "no token",
        "malformed",
        "expired",
        "forged signature",
        "not yet valid",
        "no expiry",
        "unknown role",
        "no roles",
        "missing claim",
    ],
)
def test_auth_failures_are_refused_without_data(live: LiveServer, bearer: str | None, code: str) -> None:
    body = run(live, bearer=bearer, metrics=["revenue"])
    assert body["data"] is None and code_of(body) == code
    catalogue = gql(live, "{ metrics { name } }", bearer=bearer)
    assert catalogue["data"] is None and code_of(catalogue) == code


@pytest.mark.slow  # waits out timeouts or expiry on purpose
def test_a_token_accepted_before_is_refused_once_it_expires(live: LiveServer) -> None:
    """Verified tokens are remembered for speed; their expiry is still checked on every request."""
    short = token(["admin"], expires_in=2)
    assert run(live, bearer=short, metrics=["order_count"])["data"]["query"]["rows"]
    time.sleep(max(0.0, jwt.decode(short, options={"verify_signature": False})["exp"] - time.time()) + 0.1)
    body = run(live, bearer=short, metrics=["order_count"])
    assert body["data"] is None and code_of(body) == "UNAUTHENTICATED" and "expired" in body["errors"][0]["message"]


def test_rs256_tokens_are_accepted(live: LiveServer, rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signed = jwt.encode({"roles": ["admin"], "exp": int(time.time()) + 600}, pem, algorithm="RS256")
    assert run(live, bearer=signed, metrics=["order_count"])["data"]["query"]["rows"][0]["order_count"] > 1000


def test_row_filters_reach_every_model_that_joins_the_filtered_one(live: LiveServer, hand: Any) -> None:
    regional = token(["regional"], region_id=2)
    result = run(
        live, bearer=regional, metrics=["revenue", "ticket_count", "customer_count"], dimensions=["customers.segment"]
    )["data"]["query"]
    expected = hand("""
        WITH o AS (SELECT c.segment s, SUM(CASE WHEN o.status <> 'cancelled' THEN o.amount END) v
                   FROM orders o JOIN customers c USING (customer_id) WHERE c.region_id = 2 GROUP BY 1),
             t AS (SELECT c.segment s, COUNT(*) n FROM tickets t JOIN customers c USING (customer_id)
                   WHERE c.region_id = 2 GROUP BY 1),
             cu AS (SELECT segment s, COUNT(*) n FROM customers WHERE region_id = 2 GROUP BY 1)
        SELECT k.s, o.v, t.n, cu.n FROM (SELECT s FROM o UNION SELECT s FROM t UNION SELECT s FROM cu) k
        LEFT JOIN o USING (s) LEFT JOIN t USING (s) LEFT JOIN cu USING (s) ORDER BY 1""")
    got = [tuple(r.values()) for r in result["rows"]]
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g[0] == e[0] and round(g[1], 2) == round(float(e[1]), 2) and g[2:] == e[2:]
    assert "region_id = 2" in result["sql"]


def test_a_conversion_metric_answers_over_graphql_for_each_role(live: LiveServer, hand: Any) -> None:
    """The admin sees every lead and win; a regional caller the leads and the wins of its region's
    customers (both models join customers), each against hand-written SQL."""
    from golden_cases import leads_and_wins, won

    query = {"metrics": ["lead_to_win_7d", "leads_won_7d"], "dimensions": ["metric_time:quarter"]}
    in_region = "customer_id IN (SELECT customer_id FROM customers WHERE region_id = 2)"
    for bearer, narrow in ((ADMIN, "TRUE"), (token(["regional"], region_id=2), in_region)):
        rows = run(live, bearer=bearer, **query)["data"]["query"]["rows"]
        expected = hand(f"""WITH {leads_and_wins(wins="AND " + narrow)}
            SELECT CAST(date_trunc('quarter', t) AS DATE), AVG({won("7 DAY")}), SUM({won("7 DAY")})
            FROM l WHERE {narrow} AND t IS NOT NULL GROUP BY 1 ORDER BY 1""")
        assert [(r["metric_time:quarter"], round(r["lead_to_win_7d"], 12), r["leads_won_7d"]) for r in rows] == [
            (q.isoformat(), round(rate, 12), n) for q, rate, n in expected
        ]


def test_several_roles_combine_with_or(live: LiveServer) -> None:
    both = token(["regional", "admin"], region_id=2)
    admin_rows = run(live, metrics=["order_count"])["data"]["query"]["rows"]
    assert run(live, bearer=both, metrics=["order_count"])["data"]["query"]["rows"] == admin_rows


def test_hidden_members_vanish_and_are_refused_like_unknown_ones(live: LiveServer) -> None:
    analyst = token(["analyst"])
    names = {m["name"] for m in gql(live, "{ metrics { name } }", bearer=analyst)["data"]["metrics"]}
    assert "average_order_value" not in names and "revenue" in names
    dims = {
        d["name"]
        for d in gql(live, '{ dimensions(metrics: ["revenue"]) { name } }', bearer=analyst)["data"]["dimensions"]
    }
    assert "customers.name" not in dims and "customers.segment" in dims
    assert code_of(run(live, bearer=analyst, metrics=["average_order_value"])) == "UNKNOWN_MEMBER"
    assert code_of(run(live, bearer=analyst, metrics=["revenue"], dimensions=["customers.name"])) == "UNKNOWN_MEMBER"
    hidden_filter = run(live, bearer=analyst, metrics=["revenue"], where=["customers.name = 'customer1'"])
    assert code_of(hidden_filter) == "UNKNOWN_MEMBER"
    assert gql(live, '{ metric(name: "average_order_value") { name } }', bearer=analyst)["data"]["metric"] is None


# -- errors and limits ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"metrics": ["revnue"]}, "UNKNOWN_MEMBER"),
        ({"metrics": ["revenue"], "where": ["orders.amount IN (SELECT 1)"]}, "VALIDATION"),
        ({"metrics": ["revenue"], "limit": 100_001}, "LIMIT"),
        ({"metrics": ["slow_total"]}, "TIMEOUT"),
        ({"metrics": ["ghost_count"]}, "INTERNAL"),
    ],
)
def test_each_error_code(live: LiveServer, query: dict[str, Any], code: str) -> None:
    body = run(live, **query)
    assert code_of(body) == code
    if code == "TIMEOUT":
        assert "cancelled" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        (b"{not json", "application/json", "Unable to parse request body as JSON"),
        (b'{"variables": {}}', "application/json", "No GraphQL query found in the request"),
        (b"query=1", "text/plain", "Unsupported content type"),
    ],
    ids=["not json", "no query", "wrong content type"],
)
def test_malformed_requests_are_graphql_errors_with_a_code(
    live: LiveServer, content: bytes, content_type: str, reason: str
) -> None:
    response = httpx.post(
        f"{live.url}/graphql",
        content=content,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {ADMIN}"},
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": reason, "extensions": {"code": "VALIDATION"}}]}


def test_graphql_depth_alias_and_size_limits(live: LiveServer) -> None:
    aliases = " ".join(f"a{i}: metrics {{ name }}" for i in range(40))
    assert code_of(gql(live, f"{{ {aliases} }}")) == "LIMIT"
    deep = "{ __schema { types { fields { type" + " { ofType" * 8 + " { name }" + " }" * 8 + " } } } }"
    assert code_of(gql(live, deep)) == "LIMIT"
    too_big = httpx.post(
        f"{live.url}/graphql",
        json={"query": "{ metrics { name } }", "pad": "x" * 30_000},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert too_big.status_code == 413 and too_big.json()["errors"][0]["extensions"]["code"] == "LIMIT"
    syntax = gql(live, "{ metrics { name ")
    assert code_of(syntax) == "VALIDATION"


def test_the_token_command_mints_a_token_the_server_accepts(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEMANTIC_LAYER_JWT_SECRET", SECRET)
    result = CliRunner().invoke(cli, ["token", "--role", "regional", "--claim", "region_id=1", "--expires", "5m"])
    assert result.exit_code == 0, result.stderr
    minted = result.stdout.strip()
    assert jwt.decode(minted, SECRET, algorithms=["HS256"])["region_id"] == "1"
    assert run(live, bearer=minted, metrics=["customer_count"])["data"]["query"]["rows"][0]["customer_count"] > 0


# -- reload ---------------------------------------------------------------------------------------
def test_reload_swaps_in_a_good_project_and_keeps_the_last_good_one(tmp_path: Path, shop_db: Path) -> None:
    root = server_project(tmp_path / "p", shop_db)
    settings = ServerSettings(project=root, reload=True, reload_interval=0.1, jwt_secret=SECRET)
    with LiveServer(create_app(settings)) as live:
        (root / "new.yml").write_text("metrics:\n  - {name: fresh_revenue, type: simple, measure: orders.revenue}\n")
        wait_for(
            lambda: (
                "data" in run(live, metrics=["fresh_revenue"])
                and run(live, metrics=["fresh_revenue"])["data"] is not None
            )
        )
        (root / "broken.yml").write_text("metrics:\n  - {name: broken, type: simple, measure: orders.nope}\n")
        wait_for(lambda: bool(gql(live, "{ projectErrors { message } }")["data"]["projectErrors"]))
        errors = gql(live, "{ projectErrors { file line message } }")["data"]["projectErrors"]
        assert errors[0]["file"].endswith("broken.yml") and "orders.nope" in errors[0]["message"]
        assert run(live, metrics=["fresh_revenue"])["data"]["query"]["rows"][0]["fresh_revenue"] > 0
        ready = httpx.get(f"{live.url}/ready").json()
        assert ready["status"] == "ready" and "orders.nope" in ready["project_errors"][0]
        os.remove(root / "broken.yml")
        wait_for(lambda: not gql(live, "{ projectErrors { message } }")["data"]["projectErrors"])


def test_an_open_project_needs_no_token(tmp_path: Path, shop_db: Path) -> None:
    settings = ServerSettings(project=make_project(tmp_path / "open", shop_db))
    with LiveServer(create_app(settings)) as live:
        assert run(live, bearer=None, metrics=["order_count"])["data"]["query"]["rows"][0]["order_count"] > 0
        assert code_of(run(live, bearer="forged", metrics=["order_count"])) == "UNAUTHENTICATED"


def test_a_cut_answer_is_flagged_on_both_paths_and_in_the_client(tmp_path: Path, shop_db: Path) -> None:
    root = make_project(tmp_path / "p", shop_db, limits="{default_rows: 3, max_rows: 100}")
    document = "query Q($input: QueryInput!) { query(input: $input) { rows warnings truncated } }"
    inline = '{ query(input: {metrics: ["order_count"], dimensions: ["metric_time:day"]}) { rows truncated } }'
    with LiveServer(create_app(ServerSettings(project=root))) as live:
        fast = gql(
            live, document, {"input": {"metrics": ["order_count"], "dimensions": ["metric_time:day"]}}, bearer=None
        )["data"]["query"]
        assert len(fast["rows"]) == 3 and fast["truncated"] is True and "cut at 3 rows" in fast["warnings"][0]
        full = gql(live, inline, bearer=None)["data"]["query"]
        assert full == {"rows": fast["rows"], "truncated": True}
        whole = sl.Client(live.url).query(metrics=["order_count"], dimensions=["customers.segment"], limit=3)
        with pytest.warns(sl.TruncatedResultWarning):
            cut = sl.Client(live.url).query(metrics=["order_count"], dimensions=["metric_time:day"])
        assert not whole.truncated and cut.truncated and len(cut) == 3
