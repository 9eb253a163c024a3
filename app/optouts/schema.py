"""Checks a JSON document against resources/optouts/schema.json, with problems that name the field.

This is the subset of JSON Schema (2020-12) that the catalog's schema uses, no more: Earmuff does not
depend on a JSON Schema library at run time. A keyword outside the subset is refused
(`SchemaError`), so the schema can never rely on a rule that nobody checks.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Keywords that only describe (no rule attached).
_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "$defs"})
#: Keywords this module checks.
_RULES = frozenset({
    "type", "properties", "required", "additionalProperties", "minProperties", "items", "minItems",
    "uniqueItems", "enum", "const", "pattern", "minLength", "minimum", "maximum", "format", "$ref",
})
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}

Path = tuple[str | int, ...]


class SchemaError(ValueError):
    """The schema itself uses something this validator does not implement."""


@dataclass(frozen=True)
class Problem:
    """One way the document breaks the schema.

    Attributes:
        path: where, as keys and list indexes from the document's root.
        message: what is wrong, in words.
    """

    path: Path
    message: str

    @property
    def field(self) -> str:
        return format_path(self.path)


def format_path(path: Path) -> str:
    """("settings", 2, "where", "web") -> "settings[2].where.web"; () -> "(the whole file)"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the whole file)"


def check_schema(schema: Any, where: str = "#") -> None:
    """Raise SchemaError if `schema` uses a keyword outside the supported subset."""
    if not isinstance(schema, dict):
        raise SchemaError(f"{where}: a schema must be an object")
    for key, value in schema.items():
        if key not in _ANNOTATIONS and key not in _RULES:
            raise SchemaError(f"{where}: keyword {key!r} is not supported by app.optouts.schema")
        if key == "$defs":
            for name, sub in value.items():
                check_schema(sub, f"{where}/$defs/{name}")
        elif key == "properties":
            for name, sub in value.items():
                check_schema(sub, f"{where}/properties/{name}")
        elif key in ("items",) or (key == "additionalProperties" and isinstance(value, dict)):
            check_schema(value, f"{where}/{key}")
        elif key == "$ref" and not str(value).startswith("#/$defs/"):
            raise SchemaError(f"{where}: only local references (#/$defs/...) are supported, not {value!r}")
        elif key == "format" and value not in ("date",):
            raise SchemaError(f"{where}: format {value!r} is not supported")
        elif key == "type":
            for name in value if isinstance(value, list) else [value]:
                if name not in _TYPES:
                    raise SchemaError(f"{where}: unknown type {name!r}")


def validate(document: Any, schema: dict) -> list[Problem]:
    """Every problem of `document` against `schema` (empty when it conforms)."""
    return list(_validate(document, schema, schema, ()))


def _resolve(root: dict, ref: str) -> dict:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _describe(value: Any) -> str:
    for name, test in _TYPES.items():
        if name != "number" and test(value):
            return {"object": "an object", "array": "a list", "null": "null"}.get(name, f"a {name}")
    return "a number"


def _validate(value: Any, schema: dict, root: dict, path: Path) -> Iterator[Problem]:
    if "$ref" in schema:
        yield from _validate(value, _resolve(root, schema["$ref"]), root, path)
    if "type" in schema:
        wanted = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[name](value) for name in wanted):
            yield Problem(path, f"must be {' or '.join(wanted)}, not {_describe(value)}")
            return
    if "const" in schema and value != schema["const"]:
        yield Problem(path, f"must be {schema['const']!r}, not {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(repr(choice) for choice in schema["enum"])
        yield Problem(path, f"must be one of {choices}, not {value!r}")
    if isinstance(value, str):
        yield from _string(value, schema, path)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            yield Problem(path, f"must be at least {schema['minimum']}, not {value}")
        if "maximum" in schema and value > schema["maximum"]:
            yield Problem(path, f"must be at most {schema['maximum']}, not {value}")
    if isinstance(value, dict):
        yield from _object(value, schema, root, path)
    if isinstance(value, list):
        yield from _array(value, schema, root, path)


def _string(value: str, schema: dict, path: Path) -> Iterator[Problem]:
    if "minLength" in schema and len(value) < schema["minLength"]:
        yield Problem(path, "must not be empty" if schema["minLength"] == 1 else
                      f"must be at least {schema['minLength']} characters long")
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        yield Problem(path, f"{value!r} does not have the expected form ({schema['pattern']})")
    if schema.get("format") == "date":
        try:
            datetime.date.fromisoformat(value)
            ok = len(value) == 10
        except ValueError:
            ok = False
        if not ok:
            yield Problem(path, f"{value!r} is not a date like 2026-03-28")


def _object(value: dict, schema: dict, root: dict, path: Path) -> Iterator[Problem]:
    for name in schema.get("required", ()):
        if name not in value:
            yield Problem((*path, name), "is missing")
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        yield Problem(path, f"needs at least {schema['minProperties']} entries")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            yield from _validate(item, properties[name], root, (*path, name))
        elif extra is False:
            yield Problem((*path, name), "is not a known field (misspelt?)")
        elif isinstance(extra, dict):
            yield from _validate(item, extra, root, (*path, name))


def _array(value: list, schema: dict, root: dict, path: Path) -> Iterator[Problem]:
    if "minItems" in schema and len(value) < schema["minItems"]:
        yield Problem(path, "must not be empty" if schema["minItems"] == 1 else
                      f"needs at least {schema['minItems']} entries")
    if schema.get("uniqueItems"):
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                yield Problem((*path, index), f"{item!r} is listed twice")
            seen.append(item)
    if "items" in schema:
        for index, item in enumerate(value):
            yield from _validate(item, schema["items"], root, (*path, index))
