"""The workflows as `plan` reads them: what would make each ci-reviewer step's first run
fail on the runner (a token permission its job lacks, a checkout too shallow for its job's
`since`, an action reference that cannot resolve), from `planning.first_run`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ci_reviewer.config import Config
from ci_reviewer.doctor.check import Check, ok, problem, warning
from ci_reviewer.errors import ConfigError
from ci_reviewer.planning.first_run import first_run_findings
from ci_reviewer.planning.workflows import Workflow, read_workflow, workflow_files


def read_workflows(workdir: Path) -> tuple[list[Workflow], list[Check]]:
    """The workflows of the checkout; one that cannot be read is a problem of its own."""
    workflows: list[Workflow] = []
    unreadable: list[Check] = []
    for path in workflow_files(workdir):
        try:
            workflows.append(read_workflow(path, workdir))
        except ConfigError as error:
            unreadable.append(
                problem(f"workflow {path.name}", str(error), "fix the YAML of this workflow")
            )
    return workflows, unreadable


def workflow_checks(workflows: Sequence[Workflow], config: Config) -> list[Check]:
    """One check per workflow that runs ci-reviewer: a problem per error `plan` finds in
    it, a warning per warning."""
    found: list[Check] = []
    for workflow in workflows:
        if not workflow.steps:
            continue
        name = f"workflow {workflow.path}"
        findings = [
            finding
            for step in workflow.steps
            for finding in first_run_findings(step, config.jobs.get(step.job_name or ""))
            if finding.level in ("error", "warning")
        ]
        for finding in dict.fromkeys(findings):
            detail = f"{finding.where}: {finding.message}"
            if finding.level == "error":
                found.append(problem(name, detail, finding.advice))
            else:
                found.append(warning(name, detail, finding.advice))
        if not findings:
            steps = len(workflow.steps)
            found.append(ok(name, f"{steps} ci-reviewer step(s) have the permissions they need"))
    return found
