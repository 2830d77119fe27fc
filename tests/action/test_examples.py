"""The example workflows in .github/workflows are exactly what `ci-reviewer init` writes,
but for the action reference (this repository is the action)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from ci_reviewer.cli import cli
from ci_reviewer.planning.action_ref import action_uses

ROOT = Path(__file__).resolve().parents[2]
_LOCAL_USE = re.compile(
    r"      # This repository is the action.*?\n.*?\n"
    r"      - uses: \./ # zizmor: ignore\[self-repository\]"
)


def test_example_workflows_are_init_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--workdir", str(tmp_path), "init"])
    assert result.exit_code == 0, result.output
    written = sorted((tmp_path / ".github" / "workflows").glob("*.yml"))
    assert [p.name for p in written] == sorted(
        p.name for p in (ROOT / ".github" / "workflows").glob("ci-reviewer-*.yml")
    )
    for generated in written:
        example = (ROOT / ".github" / "workflows" / generated.name).read_text()
        assert len(_LOCAL_USE.findall(example)) == 1, generated.name
        normalised = _LOCAL_USE.sub(f"      - uses: {action_uses(None)}", example)
        assert normalised == generated.read_text(), generated.name
    assert (ROOT / ".github" / "ci-reviewer.yml").read_text() == (
        tmp_path / ".github" / "ci-reviewer.yml"
    ).read_text()
