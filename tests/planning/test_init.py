from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from ci_reviewer.config import load_config
from tests.planning.conftest import Outcome

WORKFLOWS = (
    "ci-reviewer-review.yml",
    "ci-reviewer-nightly-tests.yml",
    "ci-reviewer-weekly-audit.yml",
    "ci-reviewer-overnight-report.yml",
)


def test_init_on_an_empty_repo_writes_a_valid_config_and_workflows(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    done = run_cli("init", "--workdir", str(tmp_path))
    assert done.code == 0
    config = load_config(tmp_path / ".github/ci-reviewer.yml", required=True)
    assert config.jobs["nightly-tests"].sla_hours == 30
    for name in WORKFLOWS:
        assert f".github/workflows/{name}" in done.out
        workflow = yaml.safe_load((tmp_path / ".github/workflows" / name).read_text())
        assert workflow[True], "every workflow has triggers"
        assert "permissions" in workflow
    nightly = yaml.safe_load(
        (tmp_path / ".github/workflows/ci-reviewer-nightly-tests.yml").read_text()
    )
    assert nightly[True]["schedule"] == [{"cron": "0 */4 * * *"}]
    review = yaml.safe_load((tmp_path / ".github/workflows/ci-reviewer-review.yml").read_text())
    assert review["concurrency"]["cancel-in-progress"] is True


def test_init_derives_the_nightly_schedule_from_the_sla(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    assert run_cli("init", "--workdir", str(tmp_path), "--sla-hours", "38").code == 0
    text = (tmp_path / ".github/workflows/ci-reviewer-nightly-tests.yml").read_text()
    assert '"0 */12 * * *"' in text
    assert load_config(tmp_path / ".github/ci-reviewer.yml").jobs["nightly-tests"].sla_hours == 38


def test_init_written_repo_plans_clean(tmp_path: Path, run_cli: Callable[..., Outcome]) -> None:
    run_cli("init", "--workdir", str(tmp_path))
    done = run_cli("plan", "--workdir", str(tmp_path), "--format", "json")
    assert done.code == 0, done.out
    assert '"level": "error"' not in done.out


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    existing = tmp_path / ".github/workflows/ci-reviewer-review.yml"
    existing.parent.mkdir(parents=True)
    existing.write_text("name: mine\n")
    done = run_cli("init", "--workdir", str(tmp_path))
    assert done.code == 2
    assert ".github/workflows/ci-reviewer-review.yml" in done.err
    assert existing.read_text() == "name: mine\n"
    assert not (tmp_path / ".github/ci-reviewer.yml").exists()


def test_init_with_an_sla_batch_cannot_meet_exits_2(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    done = run_cli("init", "--workdir", str(tmp_path), "--sla-hours", "20")
    assert done.code == 2
    assert "batch cannot meet" in done.err
    assert not (tmp_path / ".github").exists()


def test_workflow_secrets_never_expand_inside_run_scripts(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    run_cli("init", "--workdir", str(tmp_path))
    for name in WORKFLOWS:
        workflow = yaml.safe_load((tmp_path / ".github/workflows" / name).read_text())
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                assert "${{" not in step.get("run", ""), name
                uses = step.get("uses", "")
                if uses.startswith("actions/"):
                    assert len(uses.split("@")[1]) == 40, "pinned by full commit SHA"
