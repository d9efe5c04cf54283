"""MetricFlow's filter templates as filters here.

MetricFlow filters are SQL with Jinja members: `{{ Dimension('customer__region') }} = 'east'`. A
member names an entity path and an element; here the same thing is a dimension ref,
`customers.region`, or `metric_time`. A member with a grain is truncated to it, as MetricFlow does.
Anything else in braces (a `Metric(...)` filter, Jinja logic) has no counterpart and is reported.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from .metricflow_models import ModelSet
from .report import Unmappable

_MEMBER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
GRAINS = ("hour", "day", "week", "month", "quarter", "year")


def translate_filter(raw: Any, models: ModelSet) -> str | None:
    """One filter string here for a MetricFlow `filter:` (a string or a list of strings, ANDed)."""
    if raw is None:
        return None
    parts = raw if isinstance(raw, list) else [raw]
    texts = [_translate(str(part), models) for part in parts]
    return texts[0] if len(texts) == 1 else " AND ".join(f"({t})" for t in texts)


def and_filters(*filters: str | None) -> str | None:
    present = [f for f in filters if f]
    if len(present) <= 1:
        return present[0] if present else None
    return " AND ".join(f"({f})" for f in present)


def member_ref(name: str, models: ModelSet) -> str:
    """`customer__region` → `customers.region`; `order__customer__region` → `orders.customers.region`."""
    if name == "metric_time":
        return name
    *entities, element = name.split("__")
    if not entities:
        raise Unmappable(f"{name!r} names no entity: write it as entity__{name}")
    path = [_owner(entity, None, name, models) for entity in entities[:-1]]
    path.append(_owner(entities[-1], element, name, models))
    return ".".join([*path, element])


def _owner(entity: str, element: str | None, name: str, models: ModelSet) -> str:
    found = models.owners(entity, element)
    if len(found) != 1:
        what = "no" if not found else "more than one"
        raise Unmappable(f"{what} imported semantic model holds {name!r}")
    return found[0].name


def _translate(text: str, models: ModelSet) -> str:
    if "{%" in text or "{#" in text:
        raise Unmappable(f"the filter {text!r} uses Jinja statements, which have no counterpart here")
    out = _MEMBER.sub(lambda m: _member(m.group(1), models), text)
    if "{{" in out or "}}" in out:
        raise Unmappable(f"the filter {text!r} has unbalanced Jinja braces")
    return out.strip()


def _member(inner: str, models: ModelSet) -> str:
    try:
        call = ast.parse(inner.strip(), mode="eval").body
    except SyntaxError:
        raise Unmappable(f"{{{{{inner}}}}} is not a MetricFlow member") from None
    call, grain = _with_grain(call)
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.args):
        raise Unmappable(f"{{{{{inner}}}}} is not a MetricFlow member")
    kind, args = call.func.id, [_constant(a) for a in call.args]
    options = {k.arg: _constant(k.value) for k in call.keywords if k.arg}
    if kind == "Metric":
        raise Unmappable("a filter on a metric's value (Metric(…)) has no counterpart here")
    if kind not in ("Dimension", "TimeDimension", "Entity"):
        raise Unmappable(f"{kind}(…) is not a MetricFlow member")
    name = str(args[0])
    if options.get("entity_path"):
        name = "__".join([*map(str, options["entity_path"]), name])
    ref = member_ref(name, models) if kind != "Entity" else _entity_ref(name, models)
    if kind == "TimeDimension":
        grain = str(args[1]) if len(args) > 1 else options.get("time_granularity_name", grain)
    if grain is None:
        return ref
    if grain not in GRAINS:
        raise Unmappable(f"the grain {grain!r} has no counterpart here")
    return f"date_trunc('{grain}', {ref})"


def _with_grain(call: ast.expr) -> tuple[ast.expr, str | None]:
    """`Dimension('x').grain('month')` → the member and its grain."""
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
        if call.func.attr != "grain":
            raise Unmappable(f".{call.func.attr}(…) on a filter member has no counterpart here")
        return call.func.value, _constant(call.args[0]) if call.args else None
    return call, None


def _entity_ref(name: str, models: ModelSet) -> str:
    """An entity's value: the dimension of that name on the model the entity is the key of."""
    *path, entity = name.split("__")
    return member_ref("__".join([*path, entity, entity]), models)


def _constant(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_constant(n) for n in node.elts]
    raise Unmappable("a filter member's arguments must be literal text")
