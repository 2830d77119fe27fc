"""Every schema the product sends in `output_config.format` is one the API accepts, and every
rule its answer validators enforce is either stated in the sent schema or described there
(and, the other way round, every rule moved into a description is enforced after).

The schemas are taken from what the product sends: the review loop's `output_config` schema
and each batch kind's requests as built for a file. Acceptance is judged by the Claude
emulator, which refuses what the API refuses (tests/emulators/test_claude_limits.py); the
validators' rules are read from the validators themselves (their pydantic JSON schema).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anthropic
import pytest
from pydantic import BaseModel

from ci_reviewer.batch.collect import SourceFile
from ci_reviewer.batch.jobs import test_generation
from ci_reviewer.batch.jobs.report import ReportKind
from ci_reviewer.batch.jobs.security_audit import SecurityAuditKind, _AuditAnswer
from ci_reviewer.batch.jobs.test_generation import Delivery, TestGenerationKind
from ci_reviewer.batch.requests import RequestBuilder
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.review import findings, prompts

RULES = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "format",
    "const",
)
Path_ = tuple[str, ...]


def _sent_by_batch_kinds(workdir: Path) -> dict[str, dict[str, Any]]:
    subprocess.run(["git", "init", "-q", str(workdir)], check=True)
    (workdir / "app.py").write_text("def f():\n    return 1\n")
    subprocess.run(["git", "-C", str(workdir), "add", "app.py"], check=True)
    kinds = {
        "report": (ReportKind(workdir), JobConfig(kind="report")),
        "security-audit": (
            SecurityAuditKind("audit", JobConfig(kind="security-audit"), workdir, None),
            JobConfig(kind="security-audit"),
        ),
        "test-generation": (
            TestGenerationKind("tests", JobConfig(kind="test-generation"), workdir, Delivery(None)),
            JobConfig(kind="test-generation"),
        ),
    }
    sent = {}
    for name, (kind, job) in kinds.items():
        line = RequestBuilder(kind, job, "claude-sonnet-5-5").build(
            SourceFile("app.py", "0" * 40, "def f():\n    return 1\n")
        )
        sent[name] = dict(json.loads(line.line)["params"]["output_config"]["format"]["schema"])
    return sent


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    schemas = _sent_by_batch_kinds(tmp_path_factory.mktemp("repo"))
    schemas["review"] = prompts.ANSWER_SCHEMA  # what the review loop puts in output_config
    return schemas


VALIDATORS: dict[str, type[BaseModel] | None] = {
    "review": findings._AnswerModel,
    "security-audit": _AuditAnswer,
    "test-generation": test_generation.TestAnswer,
    "report": None,  # the report kind reads its answer without further rules
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[ClaudeEmulator]:
    with ClaudeEmulator() as emu:
        yield emu


@pytest.mark.parametrize("name", sorted(VALIDATORS))
def test_the_api_accepts_every_schema_the_product_sends(
    sent: dict[str, dict[str, Any]], emulator: ClaudeEmulator, name: str
) -> None:
    with anthropic.Anthropic(base_url=emulator.url, api_key="k", max_retries=0) as sdk:
        message = sdk.messages.create(
            model="claude-sonnet-5-5",
            max_tokens=2000,
            messages=[{"role": "user", "content": "answer"}],
            output_config={"format": {"type": "json_schema", "schema": sent[name]}},
        )
    assert message.stop_reason == "end_turn"


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        node = root["$defs"][str(node["$ref"]).rsplit("/", 1)[-1]]
    return node


def _walk(
    node: Mapping[str, Any], root: Mapping[str, Any], path: Path_ = ()
) -> Iterator[tuple[Path_, Mapping[str, Any]]]:
    """(property path, node) for every node; anyOf branches share their parent's path."""
    node = _resolve(node, root)
    yield path, node
    for branch in node.get("anyOf") or ():
        yield from _walk(branch, root, path)
    for name, child in (node.get("properties") or {}).items():
        yield from _walk(child, root, (*path, name))
    if isinstance(node.get("items"), Mapping):
        yield from _walk(node["items"], root, (*path, "[]"))


def _described(description: str) -> dict[str, str]:
    """The `{keyword: value, ...}` block the SDK's transform appends to a description."""
    block = re.search(r"\{([^{}]*)\}\s*$", description)
    if block is None:
        return {}
    pairs = (part.split(": ", 1) for part in block.group(1).split(", "))
    return {key: value for key, value in pairs}


def _same(expected: Any, written: Any) -> bool:
    try:
        return float(expected) == float(written)
    except (TypeError, ValueError):
        return str(expected) == str(written)


def _rules(validator: type[BaseModel]) -> dict[Path_, dict[str, Any]]:
    root = validator.model_json_schema()
    found: dict[Path_, dict[str, Any]] = {}
    for path, node in _walk(root, root):
        rules = {key: node[key] for key in (*RULES, "enum") if key in node}
        found.setdefault(path, {}).update(rules)
        if node.get("required"):
            found[path].setdefault("required", set()).update(node["required"])
    return found


def _sent_nodes(schema: Mapping[str, Any]) -> dict[Path_, dict[str, Any]]:
    found: dict[Path_, dict[str, Any]] = {}
    for path, node in _walk(schema, schema):
        merged = found.setdefault(path, {"described": {}})
        merged.update({k: v for k, v in node.items() if k not in ("described", "anyOf")})
        merged["described"].update(_described(str(node.get("description") or "")))
    return found


@pytest.mark.parametrize("name", sorted(n for n, v in VALIDATORS.items() if v is not None))
def test_every_rule_a_validator_enforces_is_stated_or_described(
    sent: dict[str, dict[str, Any]], name: str
) -> None:
    validator = VALIDATORS[name]
    assert validator is not None
    nodes = _sent_nodes(sent[name])
    for path, rules in _rules(validator).items():
        assert path in nodes, f"{name}: the validator checks {path}, the sent schema has no such"
        node = nodes[path]
        for key, value in rules.items():
            if key == "required":
                assert value <= set(node.get("required") or ()), f"{name} {path}: required"
            elif key == "enum":
                assert set(value) == set(node.get("enum") or ()), f"{name} {path}: enum"
            else:
                stated = key in node and _same(value, node[key])
                described = key in node["described"] and _same(value, node["described"][key])
                assert stated or described, f"{name} {path}: {key}={value} is neither"


@pytest.mark.parametrize("name", sorted(VALIDATORS))
def test_every_described_rule_is_enforced_after(sent: dict[str, dict[str, Any]], name: str) -> None:
    validator = VALIDATORS[name]
    rules = _rules(validator) if validator is not None else {}
    for path, node in _sent_nodes(sent[name]).items():
        for key, value in node["described"].items():
            enforced = rules.get(path, {})
            assert key in enforced and _same(enforced[key], value), (
                f"{name} {path}: the schema only describes {key}={value}; no validator enforces it"
            )


def test_the_moved_rules_are_the_ones_the_api_refuses(sent: dict[str, dict[str, Any]]) -> None:
    """Hand-listed: the bounds each answer needs and the API cannot enforce."""
    described = {
        name: {
            (path, key): value
            for path, node in _sent_nodes(schema).items()
            for key, value in node["described"].items()
        }
        for name, schema in sent.items()
    }
    assert described == {
        "review": {
            (("findings", "[]", "line"), "minimum"): "1",
            (("findings", "[]", "title"), "minLength"): "1",
            (("findings", "[]", "confidence"), "minimum"): "0",
            (("findings", "[]", "confidence"), "maximum"): "1",
        },
        "security-audit": {
            (("findings", "[]", "line"), "minimum"): "0",
            (("findings", "[]", "cwe"), "pattern"): "^CWE-[0-9]+$",
            (("findings", "[]", "title"), "minLength"): "1",
        },
        "test-generation": {
            (("target_path",), "minLength"): "1",
            (("content",), "minLength"): "1",
        },
        "report": {},
    }
