"""What the README promises about where the action runs: it installs the pinned versions of
constraints.txt, its steps need nothing but bash, the Python that setup-python provides and
git (present on ubuntu-* and macos-* runners alike: no GNU-only tool), and its scripts
survive the bash 3.2 of macOS runners (an empty array under `set -u`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.action.runner import run_action
from tests.action.workspace import own_checkout

ROOT = Path(__file__).resolve().parents[2]


def _pins_here() -> dict[str, str]:
    environment = dict(default_environment())
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                (spec,) = requirement.specifier
                pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def test_with_only_bash_python_and_git_the_action_installs_the_pinned_versions(
    action_dir: Path, runner_temp: Path, tmp_path: Path
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("bash", "git"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run the action's steps"
        (tools / tool).symlink_to(found)

    run = run_action(
        action_dir,
        {"command": "plan", "args": "--format json"},
        {"GITHUB_WORKSPACE": str(own_checkout(tmp_path))},
        runner_temp,
        path=str(tools),
    )

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["steps"]
    listed = subprocess.run(
        [str(runner_temp / "ci-reviewer-venv/bin/python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {
        canonicalize_name(item["name"]): item["version"] for item in json.loads(listed.stdout)
    }
    installed.pop("claude-ci-reviewer")
    installed.pop("pip")
    installed.pop("setuptools", None)  # what `python -m venv` bundles on some Pythons
    expected = _pins_here()
    expected.pop("setuptools")  # the build backend: used by pip's build, not installed
    assert installed == expected


def test_no_array_expansion_in_the_action_fails_on_bash_3_2() -> None:
    """macOS runners' /bin/bash is 3.2.57, where "${a[@]}" of an empty array is an unbound
    variable under `set -u`; ${a[@]+"${a[@]}"} expands to nothing on every bash."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    scripts = [step["run"] for step in action["runs"]["steps"] if "run" in step]
    assert scripts
    for text in scripts:
        assert text.lstrip().startswith("set -euo pipefail")
        script = "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))
        guarded = re.findall(r'\$\{(\w+)\[@\]\+"\$\{\1\[@\]\}"\}', script)
        every = re.findall(r"\$\{\w+\[[@*]\]", script)
        # Each guarded expansion holds two references; any other is unguarded.
        assert len(every) == 2 * len(guarded), script


def test_every_step_runs_in_bash_or_is_setup_python() -> None:
    """Windows runners are not claimed: the steps use the venv's bin/ layout (Scripts\\ on
    Windows); every other step is bash, never sh or pwsh."""
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python@")
        else:
            assert step["shell"] == "bash"
            assert "/bin/" in step["run"]
