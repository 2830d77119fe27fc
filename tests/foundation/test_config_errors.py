"""Bad configs: each gives exit 2 and a message naming the file, line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_reviewer.cli import cli
from ci_reviewer.cli.errors import run_guarded

BAD_CONFIGS = [
    # (name, yaml, words that must be in the message)
    (
        "unknown top key",
        "revew:\n  fail_on: high\n",
        ["ci-reviewer.yml:1:1", "'revew'", "did you mean 'review'"],
    ),
    (
        "unknown review key",
        "review:\n  fail_onn: high\n",
        [":2:3", "'fail_onn'", "did you mean 'fail_on'"],
    ),
    (
        "unknown job key",
        "jobs:\n  nightly:\n    kind: report\n    sla_hour: 30\n",
        [":4:5", "'sla_hour'", "'sla_hours'"],
    ),
    (
        "bad fail_on",
        "review:\n  fail_on: hihg\n",
        [":2:12", "review.fail_on", "'hihg'", "'critical'"],
    ),
    ("wrong type int", "review:\n  max_turns: many\n", [":2:14", "review.max_turns", "integer"]),
    (
        "negative concurrency",
        "review:\n  concurrency: 0\n",
        [":2:16", "review.concurrency", "greater than or equal to 1"],
    ),
    ("yaml syntax", "review:\n  fail_on: [high\n", ["YAML syntax error", "ci-reviewer.yml:3"]),
    ("tab indentation", "review:\n\tfail_on: high\n", ["YAML syntax error", ":2:1"]),
    ("not a mapping", "- review\n- jobs\n", [":1:1", "must be a mapping"]),
    (
        "review on batch",
        "review:\n  api: batch\n",
        [":2:8", "review.api", "cannot run inside a batch"],
    ),
    (
        "job of kind review",
        "jobs:\n  pr:\n    kind: review\n",
        ["kind 'review'", "cannot run inside a batch", "ci-reviewer review"],
    ),
    (
        "batch job with tools",
        "jobs:\n  audit:\n    kind: security-audit\n    tools: [read_file]\n",
        [":4:12", "jobs.audit.tools", "cannot declare tools"],
    ),
    (
        "bad since",
        "jobs:\n  n:\n    kind: report\n    since: yesterday\n",
        [":4:12", "jobs.n.since", "24h or 7d"],
    ),
    ("missing kind", "jobs:\n  n:\n    sla_hours: 30\n", ["jobs.n.kind", "required"]),
    ("bad kind", "jobs:\n  n:\n    kind: lint\n", [":3:11", "jobs.n.kind", "'test-generation'"]),
    (
        "include as a string",
        "review:\n  include: src/**/*.py\n",
        [":2:12", "review.include", "expected a list", 'write a list: include: ["src/**/*.py"]'],
    ),
    (
        "job exclude as a string",
        "jobs:\n  n:\n    kind: report\n    exclude: '*.md'\n",
        [":4:14", "jobs.n.exclude", 'write a list: exclude: ["*.md"]'],
    ),
    ("bad glob", "review:\n  include: ['!']\n", [":2:12", "review.include", "invalid glob '!'"]),
    (
        "output_dir escapes",
        "jobs:\n  t:\n    kind: test-generation\n    output_dir: ../outside\n",
        [":4:17", "output_dir", "without '..'"],
    ),
    (
        "output_dir in .github",
        "jobs:\n  t:\n    kind: test-generation\n    output_dir: .github/workflows\n",
        ["output_dir", "outside .github/"],
    ),
    (
        "bad job name",
        "jobs:\n  'Nightly Tests':\n    kind: report\n",
        ["job name 'Nightly Tests'", "lowercase"],
    ),
    ("duplicate key", "model: a\nmodel: b\n", [":2:1", "duplicate key 'model'"]),
    (
        "negative sla",
        "jobs:\n  n:\n    kind: report\n    sla_hours: -3\n",
        [":4:16", "jobs.n.sla_hours", "greater than 0"],
    ),
    ("bad on_api_error", "review:\n  on_api_error: ignore\n", [":2:17", "'fail'", "'neutral'"]),
    ("jobs not mapping", "jobs: [a, b]\n", [":1:7", "jobs", "dictionary"]),
    ("yaml 1.1 on key", "on: push\n", ["'on'", "valid keys here"]),
    (
        "noise key typo",
        "jobs:\n  n:\n    kind: report\n    noise:\n      alow: ['*.md']\n",
        [":5:7", "'alow'", "jobs.n.noise", "did you mean 'allow'"],
    ),
    (
        "noise kind typo",
        "jobs:\n  n:\n    kind: report\n    noise:\n      allow_kinds: [lockfiles]\n",
        [":5:21", "jobs.n.noise.allow_kinds.0", "'lockfile'", "'lockfiles'"],
    ),
    (
        "noise allow bad glob",
        "jobs:\n  n:\n    kind: report\n    noise:\n      allow: ['[']\n",
        [":5:14", "jobs.n.noise.allow", "unclosed '['"],
    ),
]


@pytest.mark.parametrize(("name", "text", "words"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_exits_2_with_location_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, words: list[str]
) -> None:
    code, out, err = invoke_cli(tmp_path, capsys, text)
    assert code == 2, err
    assert out == ""
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    assert "Traceback" not in err


def test_a_job_noise_config_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        "jobs:\n  n:\n    kind: test-generation\n    noise:\n"
        "      allow: ['docs/**/*.md']\n      allow_kinds: [changelog, broken-fixture]\n"
    )
    code, _, err = invoke_cli(tmp_path, capsys, text)
    assert code == 0, err


def test_the_noise_kinds_of_the_config_are_the_kinds_collection_skips() -> None:
    from typing import get_args

    from ci_reviewer.batch.noise import KINDS
    from ci_reviewer.config import NoiseKind

    assert set(get_args(NoiseKind)) == set(KINDS)


def test_non_utf8_config_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke_cli(tmp_path, capsys, b"model: \xff\xfe\n")
    assert code == 2
    assert "not valid UTF-8" in err


def test_missing_explicit_config_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_guarded(
        lambda: cli.main(
            ["--config", str(tmp_path / "nope.yml"), "config", "check"], standalone_mode=False
        )
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "nope.yml does not exist" in err
    assert "ci-reviewer init" in err


def test_absent_config_gives_documented_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_guarded(
        lambda: cli.main(
            ["--workdir", str(tmp_path), "config", "check", "--format", "json"],
            standalone_mode=False,
        )
    )
    captured = capsys.readouterr()
    assert code == 0
    import json

    effective = json.loads(captured.out)
    assert effective["model"] == "claude-sonnet-5-5"
    assert effective["review"]["fail_on"] == "high"
    assert effective["review"]["max_turns"] == 8
    assert effective["review"]["concurrency"] == 4
    assert effective["review"]["on_api_error"] == "fail"
    # The README's documented defaults include a review cost cap: no file is no cap no more.
    assert effective["review"]["max_cost_usd"] == 2.0
    assert "defaults" in captured.err


def test_job_defaults_follow_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = invoke_cli(tmp_path, capsys, "jobs:\n  nightly:\n    kind: test-generation\n")
    assert code == 0
    assert "since: last-run" in out
    assert "sla_hours: 30" in out
    assert "on_open_pr: update" in out


def invoke_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes
) -> tuple[int, str, str]:
    config = tmp_path / ".github" / "ci-reviewer.yml"
    config.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        config.write_bytes(text)
    else:
        config.write_text(text, encoding="utf-8")
    code = run_guarded(
        lambda: cli.main(["--workdir", str(tmp_path), "config", "check"], standalone_mode=False)
    )
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_effective_config_also_written_to_output_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "effective.json"
    args = [
        "--workdir",
        str(tmp_path),
        "config",
        "check",
        "--format",
        "json",
        "--output",
        str(target),
    ]
    code = run_guarded(lambda: cli.main(args, standalone_mode=False))
    assert code == 0
    assert target.read_text() == capsys.readouterr().out
