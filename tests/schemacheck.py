"""Validation against the JSON Schema `semantic-layer schema` emits, as an editor would do it, with
each violation phrased the way the loader phrases it ('unknown key', 'missing required key').

jsonschema does the validating; this module only turns its errors into 'path: what is wrong' lines
the tests can compare with the loader's messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


def errors(schema: dict[str, Any], value: Any) -> list[str]:
    """Every violation of `schema` by `value`, each as 'path: what is wrong'."""
    validator = _validator(schema)
    return [_line(e) for e in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))]


_VALIDATORS: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """One checked validator per schema: checking the schema itself costs more than most validations."""
    known = _VALIDATORS.get(id(schema))
    if known is None or known[0] is not schema:
        Draft202012Validator.check_schema(schema)
        known = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(schema))
    return known[1]


def _line(error: ValidationError) -> str:
    at = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if "propertyNames" in error.schema_path:  # the key itself is what is wrong
        at = f"{at}.{error.instance} (key)"
    if error.validator == "anyOf" and error.context:
        # Say why the alternative of the value's own type failed ('a list' rather than 'null').
        typed = [c for c in error.context if c.validator != "type"]
        return _line(typed[0]) if typed else f"{at}: matches none of {len(error.validator_value)} alternatives"
    phrase = PHRASES.get(str(error.validator), lambda e: e.message)
    return f"{at}: {phrase(error)}"


def _extra_keys(error: ValidationError) -> list[str]:
    known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return [k for k in error.instance if k not in known]


def _matching(error: ValidationError) -> int:
    """How many alternatives of a failed oneOf the value matches (0, or more than one)."""
    return sum(Draft202012Validator(option).is_valid(error.instance) for option in error.validator_value)


def _bound(error: ValidationError) -> str:
    return f"{error.instance!r} breaks {error.validator} {error.validator_value}"


PHRASES: dict[str, Callable[[ValidationError], str]] = {
    "additionalProperties": lambda e: ", ".join(f"unknown key '{k}'" for k in _extra_keys(e)),
    "required": lambda e: f"missing required key '{e.message.split(chr(39))[1]}'",
    "enum": lambda e: f"{e.instance!r} is not one of {e.validator_value}",
    "const": lambda e: f"{e.instance!r} is not {e.validator_value!r}",
    "pattern": lambda e: f"{e.instance!r} does not match {e.validator_value}",
    "type": lambda e: f"{e.instance!r} is not of type {e.validator_value}",
    "oneOf": lambda e: f"matches {_matching(e)} of {len(e.validator_value)} alternatives, not exactly one",
    "minimum": _bound,
    "maximum": _bound,
    "exclusiveMinimum": _bound,
    "exclusiveMaximum": _bound,
    "not": lambda e: f"matches a combination that is not allowed: {e.validator_value}",
}
