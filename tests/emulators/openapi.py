"""Validate the GitHub emulator's responses against GitHub's own OpenAPI description.

The description comes from the npm package @octokit/openapi (GitHub's official REST
description plus Octokit extensions), installed by scripts/fetch-github-openapi.sh into
.ci-cache/openapi, or found through CI_REVIEWER_GITHUB_OPENAPI. We use the non-dereferenced
OpenAPI 3.0 file (13 MB instead of 73 MB) and let `referencing` resolve its `$ref`s; the
OAS 3.0 read validator understands `nullable` and `readOnly`, which plain jsonschema does not.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30ReadValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = (
    REPO_ROOT / ".ci-cache/openapi/node_modules/@octokit/openapi/generated/api.github.com.json"
)
SPEC_URI = "urn:github-rest-openapi"
FETCH_HINT = "run scripts/fetch-github-openapi.sh (or set CI_REVIEWER_GITHUB_OPENAPI)"


def spec_path() -> Path:
    configured = os.environ.get("CI_REVIEWER_GITHUB_OPENAPI")
    return Path(configured) if configured else DEFAULT_SPEC


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    return read_spec(spec_path())


def read_spec(path: Path) -> dict[str, Any]:
    """The description at `path`; a missing file fails the test (never skips it): the
    check against GitHub's description is part of what the tests promise."""
    if not path.is_file():
        pytest.fail(f"GitHub OpenAPI description not found at {path}: {FETCH_HINT}", False)
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    _read_as_github_means(spec)
    return spec


def _read_as_github_means(node: Any) -> None:
    """Two readings of GitHub's description that GitHub's own responses (and Octokit's
    generated types) rely on, where OpenAPI 3.0.3 read to the letter would reject them:
    - `nullable: true` with an `enum` that omits null (check run `conclusion`, issue
      `state_reason`): GitHub sends null, so null joins the enum;
    - overlapping `oneOf` branches (a 409 is `basic-error` or `repository-rule-violation-
      error`, both satisfied by any error body): read as `anyOf`, at least one must match.
    """
    if isinstance(node, dict):
        if node.get("nullable") and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"].append(None)
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _read_as_github_means(value)
    elif isinstance(node, list):
        for value in node:
            _read_as_github_means(value)


@dataclass(frozen=True)
class Operation:
    template: str
    method: str
    pattern: re.Pattern[str]
    literal_chars: int


# Parameters whose values may hold slashes (a file path, `heads/feature/x`, a branch name,
# `main...ci-reviewer/job/1`).
_SLASHED = {"path", "ref", "branch", "basehead", "base", "head"}


def _compile(template: str, greedy: bool) -> re.Pattern[str]:
    pattern = "^"
    for literal, name in re.findall(r"([^{]*)(?:\{([^}]+)\})?", template):
        pattern += re.escape(literal)
        if name:
            pattern += "(.+)" if greedy and name in _SLASHED else "([^/]+)"
    return re.compile(pattern + "$")


@lru_cache(maxsize=2)
def _operations(greedy: bool) -> tuple[Operation, ...]:
    ops = []
    for template, item in load_spec()["paths"].items():
        literal = len(re.sub(r"\{[^}]+\}", "", template))
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                ops.append(Operation(template, method.upper(), _compile(template, greedy), literal))
    return tuple(ops)


def match_operation(method: str, path: str) -> Operation | None:
    """The operation GitHub would route `method path` to: the most literal template wins;
    parameters such as {path} and {ref} may hold slashes, so they are tried second."""
    for greedy in (False, True):
        found = [op for op in _operations(greedy) if op.method == method and op.pattern.match(path)]
        if found:
            return max(found, key=lambda op: op.literal_chars)
    return None


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@lru_cache(maxsize=1)
def _registry() -> Registry[Any]:
    resource: Resource[Any] = DRAFT4.create_resource(load_spec())
    return Registry().with_resource(SPEC_URI, resource)


def response_schema_ref(op: Operation, status: int) -> str | None:
    """A `$ref` to the JSON schema of `op`'s `status` response, or None if it has no body."""
    spec = load_spec()
    responses = spec["paths"][op.template][op.method.lower()]["responses"]
    key = str(status)
    if key not in responses:
        key = "default" if "default" in responses else ""
    if not key:
        raise AssertionError(f"{op.method} {op.template} documents no {status} response")
    pointer = _pointer("paths", op.template, op.method.lower(), "responses", key)
    response = responses[key]
    if "$ref" in response:
        pointer = response["$ref"].lstrip("#/")
        response = spec
        for part in pointer.split("/"):
            response = response[part]
    content = response.get("content", {})
    if "application/json" not in content:
        return None
    return f"{SPEC_URI}#/{pointer}/content/{_pointer('application/json')}/schema"


def validation_errors(method: str, path: str, status: int, body: Any) -> list[str]:
    """Why `body` is not what GitHub documents for this response ([] when it is)."""
    op = match_operation(method, path)
    if op is None:
        return [f"{method} {path}: no operation in the OpenAPI description"]
    label = f"{method} {op.template} {status}"
    try:
        ref = response_schema_ref(op, status)
    except AssertionError:
        if status >= 400:
            # An error status this operation does not list (401 from any route, an injected
            # 5xx): GitHub answers those with its generic error body.
            return error_body_errors(body, label)
        return [f"{label}: status not documented for this operation"]
    if ref is None:
        return [] if body in (None, b"", "") else [f"{label}: documented without a JSON body"]
    return _errors(_without_array_discriminator(ref, body), body, label)


def _without_array_discriminator(ref: str, body: Any) -> dict[str, Any]:
    """The schema to hold `body` to. GitHub's contents endpoint documents a `oneOf` whose
    first alternative is an array (a directory's listing, which GitHub does answer, docs:
    "Get repository content") under a discriminator on `type`, which only an object has: an
    array answer is held to the alternatives without the discriminator."""
    schema: Any = load_spec()
    for part in ref.partition("#/")[2].split("/"):
        schema = schema[part.replace("~1", "/").replace("~0", "~")]
    if isinstance(body, list) and isinstance(schema, dict) and "discriminator" in schema:
        alternatives = schema.get("oneOf") or schema.get("anyOf") or []
        return {"anyOf": [{"$ref": SPEC_URI + a["$ref"]} for a in alternatives]}
    return {"$ref": ref}


def error_body_errors(body: Any, label: str) -> list[str]:
    """Why `body` is not GitHub's generic error shape (`basic-error`)."""
    return _errors({"$ref": f"{SPEC_URI}#/components/schemas/basic-error"}, body, label)


def _errors(schema: dict[str, Any], body: Any, label: str) -> list[str]:
    validator = OAS30ReadValidator(schema, registry=_registry())
    return [
        f"{label}: /{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(body)
    ][:5]


def path_parameters(template: str, path: str) -> dict[str, str]:
    """The values of `template`'s parameters in `path` ({} when it does not match)."""
    for greedy in (False, True):
        found = _compile(template, greedy).match(path)
        if found:
            names = re.findall(r"\{([^}]+)\}", template)
            return dict(zip(names, found.groups(), strict=True))
    return {}
