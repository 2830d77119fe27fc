"""Reusable workflows (`on: workflow_call`) judged through the jobs that call them.

A called workflow runs on its caller's events: a batch step in a reusable workflow that a
pull_request workflow calls runs on pull_request. Callers are followed only within the
repository (`uses: ./.github/workflows/x.yml`); a reusable workflow no local job calls keeps
its own triggers. A caller that is itself reusable is followed to its callers in turn.
`${{ inputs.x }}` in a called step's `--job` and arguments reads the caller's `with:` (or
the input's default), so `--job ${{ inputs.job }}` names the job each caller runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ci_reviewer.planning.workflows import ReviewerStep, Triggers, Workflow, WorkflowCall

CALL_EVENT = "workflow_call"
_INPUT = re.compile(r"\$\{\{\s*inputs\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")


def through_callers(workflows: Sequence[Workflow]) -> list[Workflow]:
    """Each workflow with the steps of a reusable one repeated once per caller, each copy on
    the events its caller runs on (less what the caller job's `if:` rules out)."""
    by_path = {workflow.path: workflow for workflow in workflows}
    callers: dict[str, list[tuple[Workflow, WorkflowCall]]] = {}
    for workflow in workflows:
        for call in workflow.calls:
            callers.setdefault(call.target, []).append((workflow, call))
    resolved = []
    for workflow in workflows:
        if CALL_EVENT not in workflow.triggers.events or workflow.path not in callers:
            resolved.append(workflow)
            continue
        steps = [_own(step) for step in workflow.steps if _own(step).triggers.events]
        for call, triggers in _caller_triggers(workflow.path, by_path, callers, ()):
            inputs = {**dict(workflow.input_defaults), **dict(call.inputs)}
            steps.extend(
                replace(
                    _with_inputs(step, inputs),
                    triggers=triggers.where(step.conditions),
                    called_from=call.where,
                )
                for step in workflow.steps
            )
        resolved.append(replace(workflow, steps=tuple(steps)))
    return resolved


def _with_inputs(step: ReviewerStep, inputs: Mapping[str, str]) -> ReviewerStep:
    def fill(text: str) -> str:
        return _INPUT.sub(lambda match: inputs.get(match.group(1), match.group(0)), text)

    job = fill(step.job_name) if step.job_name else step.job_name
    return replace(step, job_name=job, args=tuple(fill(arg) for arg in step.args))


def _own(step: ReviewerStep) -> ReviewerStep:
    """The step on the workflow's other events (`workflow_dispatch`, `schedule`, ...)."""
    return replace(step, triggers=step.triggers.without(CALL_EVENT))


def _caller_triggers(
    path: str,
    by_path: Mapping[str, Workflow],
    callers: Mapping[str, list[tuple[Workflow, WorkflowCall]]],
    seen: tuple[str, ...],
) -> list[tuple[WorkflowCall, Triggers]]:
    """(caller job, the events it runs the workflow at `path` on), following callers that
    are reusable themselves; a cycle (which GitHub refuses to run) ends the walk."""
    found: list[tuple[WorkflowCall, Triggers]] = []
    for caller, call in callers.get(path, []):
        if caller.path in seen or caller.path == path:
            continue
        if CALL_EVENT in caller.triggers.events and caller.path in callers:
            upstream = _caller_triggers(caller.path, by_path, callers, (*seen, path))
            own = caller.triggers.without(CALL_EVENT)
            bases = [own] if own.events else []
            bases += [triggers for _, triggers in upstream]
        else:
            bases = [caller.triggers]
        found.extend((call, base.where(call.conditions)) for base in bases)
    return found
