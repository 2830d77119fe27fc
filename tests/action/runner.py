"""A small stand-in for the Actions runner that executes a composite action's steps the way
the runner does: `${{ }}` expressions in `with:`/`env:` evaluated, each `run:` step in bash
with its own GITHUB_OUTPUT file, step outputs collected, the action's outputs mapped from
them. `uses: actions/setup-python` is honoured by putting this interpreter on PATH."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.github_output import read_github_output

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class ActionRun:
    """What one run of the action produced."""

    returncode: int
    outputs: dict[str, str]
    step_outputs: dict[str, dict[str, str]]
    stdout: str
    stderr: str
    summary: str
    scripts: list[str] = field(default_factory=list)


def evaluate(text: str, context: Mapping[str, Any]) -> str:
    def lookup(match: re.Match[str]) -> str:
        value: Any = context
        for part in match.group(1).split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise KeyError(f"expression not supported by the test runner: {match.group(0)}")
            value = value[part]
        return "" if value is None else str(value)

    return _EXPRESSION.sub(lookup, text)


def run_action(
    action_dir: Path,
    inputs: Mapping[str, str],
    job_env: Mapping[str, str],
    runner_temp: Path,
    *,
    timeout: float = 600,
    path: str | None = None,
) -> ActionRun:
    """Run every step of `action_dir/action.yml`; stop at the first failing step. `path`
    replaces the runner's PATH (after setup-python's directory), to run with fewer tools."""
    action = yaml.safe_load((action_dir / "action.yml").read_text())
    declared = action.get("inputs", {})
    context: dict[str, Any] = {
        "github": {"action_path": str(action_dir), "token": job_env.get("GITHUB_TOKEN", "")},
        "steps": {},
    }
    resolved = {}
    for name, spec in declared.items():
        default = evaluate(str(spec.get("default", "")), context)
        resolved[name] = inputs.get(name, default)
    context["inputs"] = resolved
    bin_dir = runner_temp / "setup-python-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    summary = runner_temp / "step-summary.md"
    summary.touch()
    stdout, stderr, scripts = [], [], []
    returncode = 0
    for index, step in enumerate(action["runs"]["steps"]):
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python@"), step["uses"]
            assert re.fullmatch(r"actions/setup-python@[0-9a-f]{40}", step["uses"])
            python = bin_dir / "python"
            if not python.exists():
                python.symlink_to(sys.executable)
            continue
        output_file = runner_temp / f"output-{index}"
        output_file.touch()
        env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '') if path is None else path}",
            "HOME": os.environ.get("HOME", str(runner_temp)),
            **job_env,
            **{k: evaluate(str(v), context) for k, v in (step.get("env") or {}).items()},
            "RUNNER_TEMP": str(runner_temp),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_ACTION_PATH": str(action_dir),
            "GITHUB_ACTIONS": "true",
        }
        # The runner does not evaluate expressions inside `run:` for us: the script text
        # must have none (script injection), which the action lint also checks.
        script = step["run"]
        assert "${{" not in script, f"expression interpolated into a script: step {index}"
        scripts.append(script)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
            env=env,
            cwd=job_env.get("GITHUB_WORKSPACE", str(runner_temp)),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        stdout.append(done.stdout)
        stderr.append(done.stderr)
        if "id" in step:
            context["steps"][step["id"]] = {"outputs": read_github_output(output_file.read_text())}
        if done.returncode != 0:
            returncode = done.returncode
            break
    outputs = {}
    for name, spec in (action.get("outputs") or {}).items():
        try:
            outputs[name] = evaluate(str(spec["value"]), context)
        except KeyError:
            outputs[name] = ""
    return ActionRun(
        returncode=returncode,
        outputs=outputs,
        step_outputs={k: v["outputs"] for k, v in context["steps"].items()},
        stdout="".join(stdout),
        stderr="".join(stderr),
        summary=summary.read_text(),
        scripts=scripts,
    )
