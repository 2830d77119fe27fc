"""Validate the GraphQL documents sent to the GitHub emulator, and its answers to them,
against GitHub's published GraphQL schema.

The schema comes from the npm package @octokit/graphql-schema (GitHub's public schema),
installed by scripts/fetch-github-graphql-schema.sh into .ci-cache/graphql-schema, or found
through CI_REVIEWER_GITHUB_GRAPHQL_SCHEMA. It is read from the package's introspection
result (schema.json): its SDL (schema.graphql) defines a few fields twice, which graphql-core
refuses to build. graphql-core (the reference implementation's
Python port) does the checking: a document is what GitHub would accept when the schema
validates it; an answer is what GitHub could send when running the document over the
answer's own `data` reproduces that data without an error (every field of the right type,
no null where the schema forbids one, nothing the document did not ask for).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLError,
    GraphQLSchema,
    build_client_schema,
    execute,
    is_object_type,
    parse,
    validate,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCHEMA = (
    REPO_ROOT / ".ci-cache/graphql-schema/node_modules/@octokit/graphql-schema/schema.json"
)
FETCH_HINT = "run scripts/fetch-github-graphql-schema.sh (or set CI_REVIEWER_GITHUB_GRAPHQL_SCHEMA)"


def schema_path() -> Path:
    configured = os.environ.get("CI_REVIEWER_GITHUB_GRAPHQL_SCHEMA")
    return Path(configured) if configured else DEFAULT_SCHEMA


@lru_cache(maxsize=1)
def load_schema() -> GraphQLSchema:
    path = schema_path()
    if not path.is_file():
        pytest.fail(f"GitHub GraphQL schema not found at {path}: {FETCH_HINT}", False)
    introspection = json.loads(path.read_text(encoding="utf-8"))
    # GitHub's published schema breaks a rule graphql-core 3.3 checks on the schema itself
    # (a field deprecated on a type but not on its interface): it is GitHub's schema as
    # served, so it is taken as valid, and documents are still validated against it.
    return build_client_schema(introspection.get("data", introspection), assume_valid=True)


def document_errors(query: str, variables: dict[str, Any] | None = None) -> list[str]:
    """Why GitHub's schema rejects `query` with `variables` ([] when it accepts it)."""
    schema = load_schema()
    try:
        document = parse(query)
    except GraphQLError as error:
        return [f"syntax: {error.message}"]
    problems = [error.message for error in validate(schema, document)]
    if problems:
        return problems
    # Variables are checked by running the document over nothing: a variable of the wrong
    # type fails before any field is resolved.
    result = execute(schema, document, root_value={}, variable_values=variables or {})
    return [e.message for e in result.errors or () if e.path is None]


def answer_errors(query: str, variables: dict[str, Any] | None, answer: Any) -> list[str]:
    """Why `answer` is not what GitHub could answer to `query` ([] when it could be)."""
    if not isinstance(answer, dict) or not ({"data", "errors"} & answer.keys()):
        return [f"not a GraphQL answer: {str(answer)[:200]}"]
    problems = [
        f"errors[{i}]: {why}"
        for i, e in enumerate(answer.get("errors") or [])
        for why in _error_shape(e)
    ]
    data = answer.get("data")
    if data is None:
        return problems
    result = execute(
        load_schema(),
        parse(query),
        root_value=data,
        variable_values=variables or {},
        field_resolver=_from_answer,
        type_resolver=_concrete_type,
    )
    failed_paths = {tuple(e.get("path") or ()) for e in answer.get("errors") or []}
    for error in result.errors or ():
        # A field the answer's own errors account for (a null repository: NOT_FOUND).
        if tuple(error.path or ()) not in failed_paths:
            problems.append(f"{'.'.join(map(str, error.path or ()))}: {error.message}")
    if result.data != data and not problems:
        # A field not asked for, or a value the schema's type would turn into another (7 for
        # a String: GitHub would send "7").
        problems.append(f"data is not what the document and schema make of it: {data}")
    return problems


def _error_shape(error: Any) -> list[str]:
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return ["an error without a message"]
    unknown = set(error) - {"type", "path", "locations", "message", "extensions"}
    return [f"unknown keys {sorted(unknown)}"] if unknown else []


def _from_answer(source: Any, info: Any, **_arguments: Any) -> Any:
    key = info.path.key
    return source.get(key) if isinstance(source, dict) else None


def _concrete_type(value: Any, info: Any, abstract: Any) -> str | None:
    """The object type of an interface's value: its __typename if the document asked for it,
    else the first type that has every field the answer holds."""
    if isinstance(value, dict) and isinstance(value.get("__typename"), str):
        return str(value["__typename"])
    for candidate in info.schema.get_possible_types(abstract):
        if is_object_type(candidate) and set(value or {}) <= set(candidate.fields):
            return str(candidate.name)
    return None
