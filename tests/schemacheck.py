"""A small JSON Schema validator: the keywords `semantic-layer schema` emits, nothing more.

The tests check the schema the way an editor uses it — by validating files against it — without a
dependency the project does not otherwise need. Unknown keywords are an error here, so a schema
that grows a keyword this file does not understand fails loudly instead of passing unchecked.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

ANNOTATIONS = {"title", "description", "default", "examples", "$schema", "$defs"}
TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def errors(schema: dict[str, Any], value: Any) -> list[str]:
    """Every violation of `schema` by `value`, each as 'path: what is wrong'."""
    return _check(schema, value, schema, "$")


def _check(schema: dict[str, Any], value: Any, root: dict[str, Any], at: str) -> list[str]:
    out: list[str] = []
    for key, rule in schema.items():
        if key in ANNOTATIONS:
            continue
        if key == "$ref":
            out += _check(_resolve(root, rule), value, root, at)
        elif key == "type":
            kinds = rule if isinstance(rule, list) else [rule]
            if isinstance(value, date):  # YAML dates: no JSON type matches them
                out.append(f"{at}: a date, expected {kinds}")
            elif not any(TYPES[k](value) for k in kinds):
                out.append(f"{at}: {value!r} is not of type {kinds}")
        elif key == "enum":
            if value not in rule:
                out.append(f"{at}: {value!r} is not one of {rule}")
        elif key == "const":
            if value != rule:
                out.append(f"{at}: {value!r} is not {rule!r}")
        elif key == "pattern":
            if isinstance(value, str) and not re.search(rule, value):
                out.append(f"{at}: {value!r} does not match {rule}")
        elif key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if TYPES["number"](value) and not _within(key, rule, value):
                out.append(f"{at}: {value!r} breaks {key} {rule}")
        elif key == "properties":
            if isinstance(value, dict):
                for name, sub in rule.items():
                    if name in value:
                        out += _check(sub, value[name], root, f"{at}.{name}")
        elif key == "additionalProperties":
            if isinstance(value, dict):
                known = schema.get("properties", {})
                for name, item in value.items():
                    if name in known:
                        continue
                    if rule is False:
                        out.append(f"{at}: unknown key '{name}'")
                    elif isinstance(rule, dict):
                        out += _check(rule, item, root, f"{at}.{name}")
        elif key == "propertyNames":
            if isinstance(value, dict):
                for name in value:
                    out += _check(rule, name, root, f"{at}.{name} (key)")
        elif key == "required":
            if isinstance(value, dict):
                out += [f"{at}: missing required key '{name}'" for name in rule if name not in value]
        elif key == "items":
            if isinstance(value, list):
                for i, item in enumerate(value):
                    out += _check(rule, item, root, f"{at}[{i}]")
        elif key == "anyOf":
            found = [_check(option, value, root, at) for option in rule]
            if all(found):
                # Say why the alternative of the value's own type failed ('a list' rather than 'null').
                typed = [
                    errs for errs in found if not any(e.startswith(f"{at}: ") and "is not of type" in e for e in errs)
                ]
                out += (typed or [[f"{at}: matches none of {len(rule)} alternatives"]])[0]
        elif key == "oneOf":
            matching = sum(not _check(option, value, root, at) for option in rule)
            if matching != 1:
                out.append(f"{at}: matches {matching} of {len(rule)} alternatives, not exactly one")
        elif key == "allOf":
            for option in rule:
                out += _check(option, value, root, at)
        elif key == "not":
            if not _check(rule, value, root, at):
                out.append(f"{at}: matches a combination that is not allowed: {rule}")
        elif key == "if":
            branch = "then" if not _check(rule, value, root, at) else "else"
            if branch in schema:
                out += _check(schema[branch], value, root, at)
        elif key in ("then", "else"):
            continue  # applied by "if"
        else:
            raise AssertionError(f"schemacheck does not understand the keyword '{key}' (at {at})")
    return out


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/"), ref
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node  # type: ignore[no-any-return]


def _within(key: str, bound: float, value: float) -> bool:
    return {
        "minimum": value >= bound,
        "maximum": value <= bound,
        "exclusiveMinimum": value > bound,
        "exclusiveMaximum": value < bound,
    }[key]
