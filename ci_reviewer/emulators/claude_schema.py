"""The JSON Schema subset structured outputs accept, as the Claude emulator checks it.

`output_config.format.schema` is compiled into a grammar, so the API refuses (400
invalid_request_error, before the model runs) the keywords the grammar cannot enforce. Each
refusal below is the API's own wording, as seen in real 400 answers quoted in public code and
issue threads (kept with their sources in `REFUSALS`); the first problem met, walking the
schema depth-first, is the one reported, prefixed `output_config.format.schema: `.

Accepted: every basic type (also as a type list), `enum` of primitives, `const`, `anyOf`,
`allOf`, local `$ref` into `$defs`/`definitions`, `required`, `additionalProperties: false`,
`description`, `title`, `default`, the string formats of `SUPPORTED_FORMATS`, `minItems` of 0
or 1, and `pattern` without backreferences, word boundaries or lookaround. The SDK's
`transform_schema` (anthropic/lib/_parse/_transform.py) moves the rest into descriptions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

PREFIX = "output_config.format.schema: "
# anthropic/lib/_parse/_transform.py SupportedStringFormats (the docs list the same ones).
SUPPORTED_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
UNSUPPORTED_BY_TYPE: Mapping[str, tuple[str, ...]] = {
    "integer": ("exclusiveMaximum", "exclusiveMinimum", "maximum", "minimum", "multipleOf"),
    "number": ("exclusiveMaximum", "exclusiveMinimum", "maximum", "minimum", "multipleOf"),
    "string": ("maxLength", "minLength"),
    "array": ("maxItems", "prefixItems", "uniqueItems"),
    "object": ("maxProperties", "minProperties", "patternProperties"),
}
# Where each wording was seen (a real 400 quoted verbatim).
REFUSALS: Mapping[str, str] = {
    "property": "sherifkozman/the-llm-council#55 ('For 'number' type, properties maximum, "
    "minimum are not supported'); agentjido/req_llm#302 ('For 'integer' type, property "
    "'minimum' is not supported'); agentjido/req_llm#706 (maxItems); a measured list in "
    "uc_ai (uniqueItems, minProperties, 'properties exclusiveMaximum, exclusiveMinimum, "
    "multipleOf are not supported'); 'For 'string' type, property 'maxLength' is not "
    "supported' (quoted in a public schema module)",
    "minItems": "a 400 with request_id req_011CeiPWeKkAjSeaPDzHB2z9, 2026-09-04: 'For 'array' "
    "type, 'minItems' values other than 0 or 1 are not supported (got: [6, ∞])'",
    "additionalProperties": "veryfront/veryfront-code#3921 ('must be explicitly set to "
    "false'); BerriAI/litellm#35808 ('additionalProperties: true'); 'additionalProperties: "
    "object' quoted in several public schema modules",
    "format": "uc_ai, measured: 'For 'string' type, format 'phone' is not supported'",
    "items": "uc_ai, measured: 'Array types must be specified with a single object schema "
    "for 'items''",
    "pattern": "ENTERPILOT/GoModel#963, live probes on claude-haiku-4-5",
    "recursion": "egonSchiele/agency-lang#487, live call 2026-07-09",
}


BACKREFERENCES = "Unsupported regex feature in pattern field: Backreferences are not supported."


class SchemaRefused(ValueError):
    """The schema uses something structured outputs cannot enforce; str() is the message."""


def check_output_schema(schema: Mapping[str, Any]) -> None:
    """Raise SchemaRefused with the API's message for the first unsupported construct."""
    definitions = _definitions(schema)
    _check_cycles(definitions)
    for node in _nodes(schema):
        problem = _node_problem(node, definitions)
        if problem:
            raise SchemaRefused(PREFIX + problem)


def _definitions(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for key in ("$defs", "definitions"):
        table = schema.get(key)
        if isinstance(table, Mapping):
            for name, definition in table.items():
                if isinstance(definition, Mapping):
                    found[f"#/{key}/{name}"] = definition
    return found


def _nodes(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every subschema, depth-first in document order."""
    if not isinstance(node, Mapping):
        return
    yield node
    for key in ("properties", "$defs", "definitions"):
        children = node.get(key)
        if isinstance(children, Mapping):
            for child in children.values():
                yield from _nodes(child)
    items = node.get("items")
    if isinstance(items, Mapping):
        yield from _nodes(items)
    for key in ("anyOf", "allOf", "oneOf"):
        branches = node.get(key)
        if isinstance(branches, list):
            for branch in branches:
                yield from _nodes(branch)


def _types(node: Mapping[str, Any]) -> list[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [str(kind) for kind in declared]
    return []


def _node_problem(node: Mapping[str, Any], definitions: Mapping[str, Any]) -> str | None:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref not in definitions:
        # Wording not seen in a real answer; the docs list external $ref as unsupported.
        return f"$ref '{ref}' is not supported: only references into $defs are"
    enum = node.get("enum")
    if isinstance(enum, list) and any(isinstance(value, (dict, list)) for value in enum):
        # Wording not seen in a real answer; the docs allow only primitives in enums.
        return "enum values must be strings, numbers, booleans or null"
    for kind in _types(node):
        problem = _type_problem(kind, node)
        if problem:
            return problem
    return None


def _type_problem(kind: str, node: Mapping[str, Any]) -> str | None:
    if kind == "array":
        problem = _array_problem(node)
        if problem:
            return problem
    unsupported = sorted(name for name in UNSUPPORTED_BY_TYPE.get(kind, ()) if name in node)
    if len(unsupported) == 1:
        return f"For '{kind}' type, property '{unsupported[0]}' is not supported"
    if unsupported:
        return f"For '{kind}' type, properties {', '.join(unsupported)} are not supported"
    if kind == "string":
        return _string_problem(node)
    if kind == "object":
        return _object_problem(node)
    return None


def _array_problem(node: Mapping[str, Any]) -> str | None:
    if isinstance(node.get("items"), list):
        return "Array types must be specified with a single object schema for 'items'"
    least = node.get("minItems")
    if least is not None and least not in (0, 1):
        most = node.get("maxItems")
        upper = "∞" if most is None else most
        return (
            "For 'array' type, 'minItems' values other than 0 or 1 are not supported "
            f"(got: [{least}, {upper}])"
        )
    return None


def _string_problem(node: Mapping[str, Any]) -> str | None:
    shape = node.get("format")
    if shape is not None and shape not in SUPPORTED_FORMATS:
        return f"For 'string' type, format '{shape}' is not supported"
    pattern = node.get("pattern")
    return pattern_problem(pattern) if isinstance(pattern, str) else None


def _object_problem(node: Mapping[str, Any]) -> str | None:
    if "additionalProperties" not in node:
        return "For 'object' type, 'additionalProperties' must be explicitly set to false"
    extra = node["additionalProperties"]
    if extra is False:
        return None
    shown = "true" if extra is True else "object"
    return (
        f"For 'object' type, 'additionalProperties: {shown}' is not supported. "
        "Please set 'additionalProperties' to false"
    )


def pattern_problem(pattern: str) -> str | None:
    """What the API's regex engine refuses in `pattern`, in its words, or None."""
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        following = pattern[index + 1 : index + 4]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if not in_class and escaped in "bB":
                return f"Unsupported regex feature in pattern field: \\{escaped} is not supported."
            if not in_class and (escaped in "123456789" or escaped == "k"):
                return BACKREFERENCES
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif char == "(" and not in_class and _lookaround(following):
            # The engine reads the lookaround's '?' as a quantifier (probe on `^(?=.*P).*$`).
            return "Invalid regex in pattern field: Quantifier '?' without preceding element"
        index += 1
    return None


def _lookaround(after_paren: str) -> bool:
    return after_paren[:2] in ("?=", "?!") or after_paren[:3] in ("?<=", "?<!")


def _check_cycles(definitions: Mapping[str, Mapping[str, Any]]) -> None:
    def refs(node: Mapping[str, Any]) -> set[str]:
        return {str(sub["$ref"]) for sub in _nodes(node) if isinstance(sub.get("$ref"), str)} & set(
            definitions
        )

    for start in definitions:
        path = [start]
        seen = {start}
        stack = [(start, iter(sorted(refs(definitions[start]))))]
        while stack:
            _, pending = stack[-1]
            target = next(pending, None)
            if target is None:
                stack.pop()
                path.pop()
                continue
            if target == start:
                names = " -> ".join(ref.rsplit("/", 1)[-1] for ref in [*path, target])
                raise SchemaRefused(
                    f"{PREFIX}Circular reference detected in schema definitions: {names}. "
                    "Self-referencing or mutually-referencing definitions are not supported."
                )
            if target not in seen:
                seen.add(target)
                path.append(target)
                stack.append((target, iter(sorted(refs(definitions[target])))))
