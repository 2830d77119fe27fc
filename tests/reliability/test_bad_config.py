"""Bad configuration, as users write it: each case exits 2 with a message that names the
file, the line and the fix, and prints nothing on stdout (DESIGN.md sections 2 and 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.conftest import CLI

CASES = {
    "yaml-syntax": ("model: [1, 2\n", "YAML syntax error", 2),
    "tab-indent": ("review:\n\tfail_on: high\n", "YAML syntax error", 2),
    "not-a-mapping": ("- model\n- review\n", "must be a mapping", 1),
    "scalar-document": ("just words\n", "must be a mapping", 1),
    "wrong-type-fail-on": ("review:\n  fail_on: extreme\n", "review.fail_on", 2),
    "wrong-type-max-turns": ("review:\n  max_turns: lots\n", "valid integer", 2),
    "max-turns-zero": ("review:\n  max_turns: 0\n", "review.max_turns", 2),
    "concurrency-too-high": ("review:\n  concurrency: 500\n", "review.concurrency", 2),
    "review-is-a-list": ("review:\n  - fail_on\n", "review", 2),
    "negative-budget": ("review:\n  max_cost_usd: -1\n", "review.max_cost_usd", 2),
    "on-api-error-unknown": ("review:\n  on_api_error: maybe\n", "on_api_error", 2),
    "unknown-top-key": ("modle: claude-sonnet-5-5\n", "did you mean 'model'", 1),
    "unknown-review-key": ("review:\n  max_turn: 3\n", "did you mean 'max_turns'", 2),
    "unknown-job-key": (
        "jobs:\n  nightly:\n    kind: report\n    sla_hour: 30\n",
        "did you mean 'sla_hours'",
        4,
    ),
    "job-without-kind": ("jobs:\n  nightly:\n    sla_hours: 30\n", "required key is missing", 3),
    "job-kind-unknown": ("jobs:\n  nightly:\n    kind: lint\n", "jobs.nightly.kind", 3),
    "job-kind-review": (
        "jobs:\n  pr:\n    kind: review\n",
        "multi-turn tool calling cannot run inside a batch",
        None,
    ),
    "review-api-batch": (
        "review:\n  api: batch\n",
        "multi-turn tool calling cannot run inside a batch",
        2,
    ),
    "batch-job-with-tools": (
        "jobs:\n  audit:\n    kind: security-audit\n    tools: [{name: read_file}]\n",
        "a batch job cannot declare tools",
        4,
    ),
    "empty-glob": ("review:\n  include: ['']\n", "an empty pattern matches nothing", 2),
    "negation-only-glob": ("review:\n  exclude: ['!']\n", "invalid glob '!'", 2),
    "unclosed-bracket-glob": ("review:\n  include: ['src/[ab']\n", "invalid glob 'src/[ab'", 2),
    "comment-glob": ("review:\n  include: ['#src/**']\n", "invalid glob '#src/**'", 2),
    "since-word": ("jobs:\n  j:\n    kind: report\n    since: yesterday\n", "since must be", 4),
    "output-dir-escapes": (
        "jobs:\n  t:\n    kind: test-generation\n    output_dir: ../elsewhere\n",
        "output_dir must be a relative path",
        4,
    ),
    "output-dir-workflows": (
        "jobs:\n  t:\n    kind: test-generation\n    output_dir: .github/workflows\n",
        "outside .github/",
        4,
    ),
    "job-name-with-spaces": (
        "jobs:\n  Nightly Tests:\n    kind: report\n",
        "must be lowercase letters",
        None,
    ),
    "sla-negative": ("jobs:\n  j:\n    kind: report\n    sla_hours: -5\n", "sla_hours", 4),
    "jobs-is-a-list": ("jobs:\n  - kind: report\n", "jobs", None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_exits_2_naming_file_line_and_problem(
    case: str, cli: CLI, tmp_path: Path
) -> None:
    text, expected, line = CASES[case]
    config = tmp_path / ".github" / "ci-reviewer.yml"
    config.parent.mkdir()
    config.write_text(text, encoding="utf-8")

    run = cli("config", "check", "--workdir", str(tmp_path))

    assert run.code == 2, run
    assert run.out == ""
    assert expected in run.err
    where = ".github/ci-reviewer.yml" + (f":{line}:" if line else "")
    assert where in run.err


def test_a_config_that_is_not_utf8_is_named(cli: CLI, tmp_path: Path) -> None:
    config = tmp_path / "conf.yml"
    config.write_bytes(b"model: caf\xe9\n")

    run = cli("config", "check", "--config", str(config))

    assert run.code == 2
    assert "conf.yml" in run.err and "not valid UTF-8" in run.err


def test_an_explicit_config_that_does_not_exist_is_exit_2(cli: CLI, tmp_path: Path) -> None:
    run = cli("config", "check", "--config", str(tmp_path / "missing.yml"))

    assert run.code == 2
    assert "missing.yml does not exist" in run.err and "ci-reviewer init" in run.err


def test_duplicate_keys_are_refused_rather_than_silently_overridden(
    cli: CLI, tmp_path: Path
) -> None:
    config = tmp_path / "conf.yml"
    config.write_text("review:\n  fail_on: high\n  fail_on: none\n")

    run = cli("config", "check", "--config", str(config))

    assert run.code == 2
    assert "conf.yml:3" in run.err and "fail_on" in run.err
