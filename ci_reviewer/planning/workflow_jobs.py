"""What a workflow job gives the steps that run ci-reviewer: its token's permissions and the
steps around them (the checkout and its depth, how the tool is installed)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ci_reviewer.config_yaml import Marks
from ci_reviewer.planning.permissions import TokenPermissions, job_token

_CHECKOUT = re.compile(r"^actions/checkout@\S+$")


@dataclass(frozen=True)
class JobStep:
    """One step as far as the first-run checks care."""

    index: int
    where: str
    uses: str
    inputs: tuple[tuple[str, str], ...]
    run: str

    @property
    def is_checkout(self) -> bool:
        return bool(_CHECKOUT.match(self.uses))

    def input(self, name: str) -> str | None:
        return dict(self.inputs).get(name)


@dataclass(frozen=True)
class JobSetup:
    """A workflow job: its token (None when its `permissions:` cannot be read) and steps."""

    token: TokenPermissions | None
    steps: tuple[JobStep, ...]

    def checkout_before(self, index: int) -> JobStep | None:
        """The last actions/checkout that ran before step `index`: the one it works in."""
        found = [step for step in self.steps[:index] if step.is_checkout]
        return found[-1] if found else None


def job_setup(
    workflow: Mapping[str, Any], job_id: str, job: Mapping[str, Any], marks: Marks
) -> JobSetup:
    token = job_token(
        workflow.get("permissions"),
        job.get("permissions"),
        workflow_where=str(marks.locate(("permissions",), prefer_key=True)),
        job_where=str(marks.locate(("jobs", job_id, "permissions"), prefer_key=True)),
    )
    steps = job.get("steps")
    return JobSetup(
        token,
        tuple(
            _job_step(index, step, marks.locate(("jobs", job_id, "steps", index)).line, marks)
            for index, step in enumerate(steps if isinstance(steps, list) else [])
        ),
    )


def _job_step(index: int, step: Any, line: int | None, marks: Marks) -> JobStep:
    where = f"{marks.file}:{line}" if line else marks.file
    if not isinstance(step, Mapping):
        return JobStep(index, where, "", (), "")
    inputs = step.get("with") if isinstance(step.get("with"), Mapping) else {}
    assert isinstance(inputs, Mapping)
    return JobStep(
        index,
        where,
        str(step.get("uses") or "").strip(),
        tuple((str(k), _text(v)) for k, v in inputs.items()),
        step["run"] if isinstance(step.get("run"), str) else "",
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
