"""Gather what `plan` reads from a checkout: the config (tool-loop misconfigurations become
findings instead of stopping the plan), the workflows, and the last 30 days of history."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from ci_reviewer.config import Config, load_config, parse_config
from ci_reviewer.config_yaml import Marks, load_yaml
from ci_reviewer.errors import ConfigError
from ci_reviewer.planning import verdicts
from ci_reviewer.planning.history import file_tokens, read_history, tracked_files
from ci_reviewer.planning.own_action import is_own_repository
from ci_reviewer.planning.plan import Repository
from ci_reviewer.planning.reusable import through_callers
from ci_reviewer.planning.verdicts import Finding
from ci_reviewer.planning.workflows import Workflow, read_workflow, workflow_files
from ci_reviewer.shallow import is_shallow


def read_checkout(
    workdir: Path, config_path: Path, *, required: bool, now: datetime
) -> tuple[Repository, list[Finding]]:
    config, findings = load_plan_config(config_path, workdir, required=required)
    workflows: list[Workflow] = []
    own_action = is_own_repository(workdir)
    for path in workflow_files(workdir):
        try:
            workflows.append(read_workflow(path, workdir, own_action=own_action))
        except ConfigError as error:
            findings.append(verdicts.unreadable_workflow(error))
    if is_shallow(workdir):
        findings.append(verdicts.shallow_history(workdir.name or str(workdir)))
    repository = Repository(
        config=config,
        config_where=_relative(config_path, workdir),
        workflows=through_callers(workflows),
        commits=read_history(workdir, now),
        tracked=tracked_files(workdir),
        tokens_of=file_tokens(workdir),
        now=now,
    )
    return repository, findings


def load_plan_config(path: Path, workdir: Path, *, required: bool) -> tuple[Config, list[Finding]]:
    """The config; a review or job set up for tool calling on batch is reported, removed,
    and the rest validated as usual (any other problem is still a ConfigError)."""
    if not path.exists():
        return load_config(path, required=required), []
    where = _relative(path, workdir)
    text = path.read_text(encoding="utf-8")
    data, marks = load_yaml(text, where)
    if not isinstance(data, dict):
        return parse_config(text, where), []
    findings = _strip_tool_loops(data, marks)
    if not findings:
        return parse_config(text, where), []
    return parse_config(yaml.safe_dump(data, sort_keys=False), where), findings


def _strip_tool_loops(data: dict[str, Any], marks: Marks) -> list[Finding]:
    findings = []
    review = data.get("review")
    if isinstance(review, dict) and review.get("api") == "batch":
        where = str(marks.locate(("review", "api")))
        findings.append(verdicts.tool_loop_in_batch(where, "review.api: batch"))
        review.pop("api")
    jobs: dict[str, Any] = data["jobs"] if isinstance(data.get("jobs"), dict) else {}
    for name, job in list(jobs.items()):
        if not isinstance(job, dict):
            continue
        if job.get("kind") == "review":
            where = str(marks.locate(("jobs", name, "kind")))
            findings.append(verdicts.tool_loop_in_batch(where, f"job {name!r} of kind review"))
            jobs.pop(name)
        elif job.get("tools") and job.get("api", "batch") == "batch":
            where = str(marks.locate(("jobs", name, "tools")))
            findings.append(verdicts.tool_loop_in_batch(where, f"batch job {name!r} with tools"))
            job.pop("tools")
    return findings


def _relative(path: Path, workdir: Path) -> str:
    try:
        return path.resolve().relative_to(workdir.resolve()).as_posix()
    except ValueError:
        return str(path)
