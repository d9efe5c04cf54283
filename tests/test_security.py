"""Every attack tried against the server, replayed over real HTTP so that none can come back.

Each test names the attack; the ones that used to work (a request that froze the server, values
rebound between slots, …) say what they did before they were fixed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from graphql import parse
from helpers import make_project
from liveserver import LiveServer
from served import ADMIN, SECRET, code_of, gql, post, run, token
from served import POLICIES as SERVED_POLICIES

import semantic_layer as sl
from server import ServerSettings, create_app
from server.limits import SelectionSizes

POLICIES = """
policies:
  - role: admin
  - role: regional
    rows:
      - model: customers
        where: "region_id = {{ user.region_id }} AND segment = {{ user.segment }}"
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory, shop_db: Path) -> Iterator[str]:
    root = make_project(tmp_path_factory.mktemp("secure"), shop_db)
    (root / "policies.yml").write_text(POLICIES)
    with LiveServer(create_app(ServerSettings(project=root, jwt_secret=SECRET, cache_url=None))) as server:
        yield server.url


class HealthProbe:
    """Asks /health every 50 ms in a thread and keeps the slowest answer's time."""

    def __init__(self, url: str):
        self.url = url
        self.slowest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                assert client.get(f"{self.url}/health").status_code == 200
                self.slowest = max(self.slowest, time.perf_counter() - started)
                time.sleep(0.05)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def concurrently(*calls: Any) -> list[Any]:
    results: list[Any] = [None] * len(calls)

    def call(i: int) -> None:
        results[i] = calls[i]()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next twice: 2^levels fields once expanded, in about 40 bytes a level."""
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query {{ ...F0 }} {chain} fragment F{levels} on Query {{ metrics {{ name }} }}"


# -- requests that froze the server -----------------------------------------------------------------
def test_a_fragment_bomb_is_refused_at_once_while_health_keeps_answering(url: str) -> None:
    """25 levels used to hang the server for about 8 minutes (each level doubled the work)."""
    with HealthProbe(url) as probe:
        bodies = concurrently(*[lambda: post(url, fragment_bomb(25), bearer=ADMIN, timeout=60).json()] * 3)
    assert all(code_of(body) == "LIMIT" and "selected fields" in body["errors"][0]["message"] for body in bodies)
    assert probe.slowest < 1.0


def test_fragment_sizes_are_measured_once_per_fragment() -> None:
    class Counting(SelectionSizes):
        visits = 0

        def measure(self, selection_set: Any) -> tuple[int, int, int]:
            Counting.visits += 1
            return super().measure(selection_set)

    document = parse(fragment_bomb(40))
    fragments = {d.name.value: d for d in document.definitions[1:]}  # type: ignore[attr-defined]
    context = type("Context", (), {"get_fragment": staticmethod(fragments.get)})()
    depth, fields, _ = Counting(context).measure(document.definitions[0].selection_set)  # type: ignore[arg-type,attr-defined]
    assert fields == 2**41 and depth == 1  # F40's `metrics { name }`, spread 2^40 times
    assert Counting.visits == 42 + 1  # the operation, 41 fragments and F40's one field


def test_documents_whose_validation_is_costly_do_not_hold_up_other_requests(url: str) -> None:
    """graphql's overlapping-fields rule is quadratic: 250 `metrics` fields take a third of a second.
    Validation runs on a worker thread, so /health is not queued behind it."""
    documents = ["query {" + f" metrics{{name}} metrics{{{field}}}" * 120 + "}" for field in ("label", "tier")]
    with HealthProbe(url) as probe:
        bodies = concurrently(*[lambda doc=doc: post(url, doc, bearer=ADMIN, timeout=60) for doc in documents])
    assert all(body.status_code == 200 for body in bodies)
    assert probe.slowest < 1.0


def test_a_document_over_the_token_limit_is_refused_before_it_is_parsed_whole(url: str) -> None:
    document = "query {" + "".join(f' a{i}: metric(name: "x") {{ name }}' for i in range(400)) + "}"
    body = gql(url, document, bearer=ADMIN)
    assert code_of(body) == "LIMIT" and "2000 tokens" in body["errors"][0]["message"]


def test_an_oversized_where_is_refused_without_compiling_it(url: str) -> None:
    """A 250 KB filter string took 10 s to compile, on the event loop."""
    huge = "customers.segment = 'x'" + " OR customers.segment = 'x'" * 6000
    with HealthProbe(url) as probe:
        body = run(url, ADMIN, metrics=["revenue"], where=[huge])
    assert code_of(body) == "LIMIT" and "10000" in body["errors"][0]["message"]
    assert probe.slowest < 1.0


def test_the_request_body_is_bounded(url: str) -> None:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": "{ metrics { name } }", "pad": "x" * 300_000},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert response.status_code == 413 and response.json()["errors"][0]["extensions"]["code"] == "LIMIT"


def test_aliases_and_depth_are_bounded(url: str) -> None:
    aliases = " ".join(f"a{i}: metrics {{ name }}" for i in range(40))
    assert code_of(gql(url, f"{{ {aliases} }}", bearer=ADMIN)) == "LIMIT"
    deep = "{ __schema { types { fields { type" + " { ofType" * 8 + " { name }" + " }" * 8 + " } } } }"
    assert code_of(gql(url, deep, bearer=ADMIN)) == "LIMIT"


def test_batched_requests_are_refused(url: str) -> None:
    one = {"query": "{ metrics { name } }"}
    response = httpx.post(f"{url}/graphql", json=[one] * 50, headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "VALIDATION"


# -- ways around row policies ------------------------------------------------------------------------
def test_user_text_cannot_rebind_a_claim(url: str) -> None:
    """A where string spelling ':__lit1' compiled to the same statement text as a real literal in that
    slot, so the shape cache reused a plan and the values shifted: the rep's filter became the claim."""
    rep = token(["regional"], region_id=1, segment="enterprise")
    own = run(url, rep, metrics=["order_count"])["data"]["query"]["rows"][0]["order_count"]
    other = run(url, ADMIN, metrics=["order_count"], where=["customers.segment = 'enterprise'"])
    assert own > 0 and other["data"]["query"]["rows"][0]["order_count"] != own
    for where in [
        "customers.segment = 'a' OR customers.segment = :__lit1",
        "customers.region_id = :__claim_region_id",
        "customers.region_id = ?",
        "customers.region_id = $1",
    ]:
        body = run(url, rep, metrics=["order_count"], where=[where])
        assert body["data"] is None and code_of(body) == "VALIDATION", where
    again = run(
        url, rep, metrics=["order_count"], where=["customers.segment = 'enterprise' OR customers.segment = 'x'"]
    )
    assert again["data"]["query"]["rows"][0]["order_count"] == own


@pytest.mark.parametrize(
    "bearer",
    [
        jwt.encode(
            {"roles": ["admin"], "exp": int(time.time()) + 600}, "another-secret-of-32-bytes-long!!", algorithm="HS256"
        ),
        jwt.encode({"roles": ["admin"], "exp": int(time.time()) + 600}, None, algorithm="none"),  # type: ignore[arg-type]
        "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlcyI6WyJhZG1pbiJdfQ.",
    ],
    ids=["forged signature", "alg none", "no signature"],
)
def test_forged_tokens_are_refused(url: str, bearer: str) -> None:
    body = run(url, bearer, metrics=["revenue"])
    assert body["data"] is None and code_of(body) == "UNAUTHENTICATED"


# -- injection ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        {"metrics": ["revenue"], "where": ["customers.segment = 'a'; DROP TABLE orders"]},
        {"metrics": ["revenue"], "where": ["orders.amount IN (SELECT amount FROM orders)"]},
        {"metrics": ["revenue"], "where": ["read_csv('/etc/passwd') IS NOT NULL"]},
        {"metrics": ["revenue"], "having": ["revenue > 0 UNION SELECT 1"]},
        {"metrics": ["revenue"], "orderBy": [{"member": "revenue; DROP TABLE orders"}]},
        {"metrics": ["revenue"], "timezone": "UTC'; DROP TABLE orders; --"},
        {"metrics": ["revenue"], "dimensions": ["customers.segment) FROM orders; --"]},
    ],
    ids=["statement", "subquery", "table function", "having union", "order by", "timezone", "dimension"],
)
def test_injection_attempts_are_refused(url: str, query: dict[str, Any]) -> None:
    body = run(url, ADMIN, **query)
    assert body["data"] is None and code_of(body) in {"VALIDATION", "UNKNOWN_MEMBER"}


def test_an_injected_dialect_is_refused(url: str) -> None:
    body = gql(
        url,
        'query { compile(input: {metrics: ["revenue"]}, dialect: "duckdb; DROP TABLE orders") { sql } }',
        bearer=ADMIN,
    )
    assert body["data"] is None and code_of(body) == "VALIDATION"


# -- a reload that would open the project ----------------------------------------------------------


def wait_until(predicate: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@pytest.fixture
def reloading(tmp_path: Path, shop_db: Path) -> Iterator[tuple[Path, str]]:
    root = make_project(tmp_path / "p", shop_db)
    (root / "policies.yml").write_text(SERVED_POLICIES)
    settings = ServerSettings(project=root, reload=True, reload_interval=0.1, jwt_secret=SECRET, cache_url=None)
    with LiveServer(create_app(settings)) as server:
        yield root, server.url


def project_errors(url: str) -> list[str]:
    return [e["message"] for e in gql(url, "{ projectErrors { message } }", bearer=ADMIN)["data"]["projectErrors"]]


REGIONAL = token(["regional"], region_id=1)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda p: p.write_text(""), "no access policies"),
        (lambda p: p.unlink(), "no access policies"),
        (
            lambda p: p.write_text(
                SERVED_POLICIES.replace(
                    """    rows:
      - model: customers
        where: "region_id = {{ user.region_id }}"
""",
                    "",
                )
            ),
            "lose its row filter on 'customers'",
        ),
        (
            lambda p: p.write_text(SERVED_POLICIES.replace("    hide: [customers.name]\n", "")),
            "no longer hide 'customers.name'",
        ),
        (lambda p: p.write_text(SERVED_POLICIES + "default_role: admin\n"), "requests without a token would get role"),
        (lambda p: p.write_text(SERVED_POLICIES + "  - role: auditor\n"), "role 'auditor' is new"),
    ],
    ids=["policies emptied", "policies deleted", "row rule removed", "hide dropped", "default role added", "new role"],
)
def test_a_reload_that_widens_access_is_held_back(reloading: tuple[Path, str], edit: Any, reason: str) -> None:
    """Truncating policies.yml under `serve --reload` made the project open: a request without a
    token got all revenue, and /ready showed nothing wrong."""
    root, url = reloading
    regional_before = run(url, REGIONAL, metrics=["order_count"])["data"]["query"]["rows"]
    edit(root / "policies.yml")
    wait_until(lambda: bool(project_errors(url)))
    assert any(reason in message for message in project_errors(url))
    ready = httpx.get(f"{url}/ready").json()
    assert any(reason in e for e in ready["project_errors"])
    assert code_of(run(url, None, metrics=["order_count"])) == "UNAUTHENTICATED"
    assert run(url, REGIONAL, metrics=["order_count"])["data"]["query"]["rows"] == regional_before
    assert code_of(run(url, REGIONAL, metrics=["order_count"], dimensions=["customers.name"])) == "UNKNOWN_MEMBER"


def test_a_reload_that_narrows_access_applies_at_once(reloading: tuple[Path, str]) -> None:
    root, url = reloading
    (root / "policies.yml").write_text(
        SERVED_POLICIES.replace("hide: [customers.name]", "hide: [customers.name, customers.segment]")
    )
    wait_until(lambda: "errors" in run(url, REGIONAL, metrics=["order_count"], dimensions=["customers.segment"]))
    assert code_of(run(url, REGIONAL, metrics=["order_count"], dimensions=["customers.segment"])) == "UNKNOWN_MEMBER"
    assert project_errors(url) == []


def test_allow_widening_applies_a_widening_reload(tmp_path: Path, shop_db: Path) -> None:
    root = make_project(tmp_path / "p", shop_db)
    (root / "policies.yml").write_text(SERVED_POLICIES)
    settings = ServerSettings(
        project=root, reload=True, reload_interval=0.1, jwt_secret=SECRET, cache_url=None, allow_widening=True
    )
    with LiveServer(create_app(settings)) as server:
        assert code_of(run(server.url, None, metrics=["order_count"])) == "UNAUTHENTICATED"
        (root / "policies.yml").unlink()
        wait_until(
            lambda: (
                "data" in run(server.url, None, metrics=["order_count"])
                and run(server.url, None, metrics=["order_count"])["data"] is not None
            )
        )


# -- the rest of the attacker's list, replayed here so that the whole list lives in one place ---------
LEAKING_MODEL = """
models:
  - name: customer_copy
    sql: "SELECT customer_id, region_id FROM main.customers"
    primary_key: customer_id
    measures:
      - {name: n, agg: count}
metrics:
  - {name: copied_customers, type: simple, measure: customer_copy.n}
"""


def test_a_sql_model_reading_filtered_rows_without_a_join_is_never_served(tmp_path: Path, shop_db: Path) -> None:
    """The CRM's channel_months read orders JOIN customers in raw SQL: a rep saw every region's total."""
    root = make_project(tmp_path / "p", shop_db)
    (root / "policies.yml").write_text(POLICIES)
    (root / "leak.yml").write_text(LEAKING_MODEL)
    with pytest.raises(sl.ValidationError, match=r"customer_copy.*reads table.*customers"):
        create_app(ServerSettings(project=root, jwt_secret=SECRET, cache_url=None))


def test_a_misspelled_policy_column_stops_the_project_loading(tmp_path: Path, shop_db: Path) -> None:
    """It used to load, then fail every query of the role with the database's binder error."""
    root = make_project(tmp_path / "p", shop_db)
    (root / "policies.yml").write_text(POLICIES.replace("region_id = {{", "regoin_id = {{"))
    with pytest.raises(sl.ValidationError, match="regoin_id"):
        sl.load(root)


def test_a_token_with_an_audience_is_accepted_when_none_is_configured(url: str) -> None:
    """Identity providers put `aud` in every token; such tokens were always refused."""
    now = int(time.time())
    with_aud = jwt.encode(
        {"roles": ["admin"], "exp": now + 600, "aud": "dashboards", "iss": "idp"}, SECRET, algorithm="HS256"
    )
    assert run(url, with_aud, metrics=["order_count"])["data"]["query"]["rows"][0]["order_count"] > 0


@pytest.mark.parametrize("body", [b'"hello"', b"null", b"42", b"[" * 100_000, b"9" * 5_000])
def test_a_body_that_is_no_request_gets_a_code_not_a_500(url: str, body: bytes) -> None:
    response = httpx.post(f"{url}/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] in {"VALIDATION", "LIMIT"}


@pytest.mark.parametrize(
    "query",
    [
        {"metrics": ["revenue"], "limit": "abc"},
        {"metrics": ["revenue"], "timezone": "x" * 10_000},
        {"metrics": ["revenue"], "timeRange": {"start": "0001-01-01"}},
        {"metrics": ["revenue"], "where": ["(" * 3_000 + "orders.amount > 1" + ")" * 3_000]},
        {"metrics": ["revenue"], "filters": [{"member": "orders.amount", "op": "GT", "values": ["NaN"]}]},
        {"metrics": ["revenue"], "filters": [{"member": "orders.amount", "op": "GT", "values": [10**40]}]},
        {"metrics": ["revenue"], "filters": [{"member": "orders.amount", "op": "GT", "values": [True]}]},
        {"metrics": ["revenue"], "filters": [{"member": "orders.amount", "op": "EQUALS", "values": [None]}]},
        {"metrics": ["revenue"], "where": ["CAST(customers.name AS INT) > 1"]},
    ],
    ids=[
        "limit text",
        "long timezone",
        "year 1",
        "deep nesting",
        "NaN",
        "1e40",
        "true on a number",
        "null value",
        "failing cast",
    ],
)
def test_client_mistakes_are_coded_and_show_no_database_text(url: str, query: dict[str, Any]) -> None:
    body = run(url, token(["regional"], region_id=1, segment="smb"), **query)
    assert body["data"] is None and code_of(body) in {"VALIDATION", "LIMIT"}, body
    message = body["errors"][0]["message"]
    assert "region_id" not in message and "Error:" not in message and "SELECT" not in message, message


def test_project_errors_are_not_shown_to_a_caller_without_a_token(reloading: tuple[Path, str]) -> None:
    """They name the project's files and definitions; anyone could read them."""
    root, url = reloading
    (root / "policies.yml").write_text("")
    wait_until(lambda: bool(project_errors(url)))
    anonymous = gql(url, "{ projectErrors { file message } }", bearer=None)
    assert anonymous["data"] is None and code_of(anonymous) == "UNAUTHENTICATED"


def test_ready_is_unavailable_not_an_error_when_the_database_cannot_be_opened(tmp_path: Path, shop_db: Path) -> None:
    root = make_project(tmp_path / "p", shop_db)
    app = create_app(ServerSettings(project=root, cache_url=None, connection=f"duckdb:///{tmp_path / 'gone.duckdb'}"))
    with LiveServer(app) as server:
        ready = httpx.get(f"{server.url}/ready")
    assert ready.status_code == 503 and "does not exist" in ready.json()["reason"]
