"""Read `.github/workflows/*.yml` and find the steps that run this product.

A step counts when it uses the action (`uses: <owner>/claude-ci-reviewer@<ref>`, or `uses: ./`
in the action's own repository: own_action.py) or runs the CLI in a `run:` script
(`ci-reviewer ...` or `python -m ci_reviewer ...`). YAML 1.1 loads the key `on` as the
boolean True: both spellings are read.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ci_reviewer.config_yaml import Marks, load_yaml
from ci_reviewer.errors import ConfigError, Location
from ci_reviewer.planning.conditions import may_run
from ci_reviewer.planning.permissions import TokenPermissions
from ci_reviewer.planning.workflow_jobs import JobSetup, job_setup

WORKFLOWS_DIR = ".github/workflows"
DEFAULT_PROTECTED_BRANCHES: tuple[str, ...] = ("main", "master")
# Events on which a person waits for the result before they can merge.
BLOCKING_EVENTS = frozenset({"pull_request", "pull_request_target", "merge_group"})
# Pull request activity after which nobody waits to merge: the pull request is closed.
QUIET_PR_TYPES = frozenset({"closed"})

_ACTION = re.compile(r"^[^/\s]+/claude-ci-reviewer(/[^@\s]*)?@\S+$")
_CLI = re.compile(r"(?:^|[\s;&|(`])(?:ci-reviewer|python3?\s+-m\s+ci_reviewer)(?=\s|$)(.*)")
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_VALUE_OPTIONS = frozenset({"--config", "--workdir", "--repo", "--model"})
_ACTION_COMMANDS = {
    "review": "review",
    "answer": "answer",
    "batch-run": "batch run",
    "plan": "plan",
}
_NO_SETUP = JobSetup(TokenPermissions(False, (), ""), ())


@dataclass(frozen=True)
class Triggers:
    """What starts a workflow, as far as the API choice cares."""

    events: tuple[str, ...]
    schedules: tuple[str, ...] = ()
    push_branches: tuple[str, ...] | None = None  # None: every branch
    push_branches_ignore: tuple[str, ...] = ()
    push_tags_only: bool = False
    quiet_events: tuple[str, ...] = ()  # pull_request(_target) with only `types: [closed]`

    def blocking_events(self, protected: Sequence[str]) -> tuple[str, ...]:
        """The events on which someone waits: PRs, merge queues, pushes to protected branches."""
        found = [e for e in self.events if e in BLOCKING_EVENTS and e not in self.quiet_events]
        if "push" in self.events and any(self._push_reaches(b) for b in protected):
            found.append("push")
        return tuple(found)

    def where(self, conditions: Sequence[object]) -> Triggers:
        """These triggers less the events (and crons) on which every `if:` in `conditions`
        is certainly false."""
        if not conditions:
            return self
        crons = tuple(
            cron for cron in self.schedules if all(may_run(c, "schedule", cron) for c in conditions)
        )
        events = tuple(
            event
            for event in self.events
            if (crons if event == "schedule" and self.schedules else True)
            and all(may_run(c, event) for c in conditions)
        )
        return replace(self, events=events, schedules=crons if "schedule" in events else ())

    def without(self, event: str) -> Triggers:
        return replace(self, events=tuple(e for e in self.events if e != event))

    def _push_reaches(self, branch: str) -> bool:
        if self.push_tags_only:
            return False
        if self.push_branches is not None:
            return branch_filter_matches(self.push_branches, branch)
        return not branch_filter_matches(self.push_branches_ignore, branch)


@dataclass(frozen=True)
class ReviewerStep:
    """One step that runs ci-reviewer, and what it runs."""

    workflow: str
    job_id: str
    label: str
    line: int | None
    via: str  # "action" | "cli"
    command: str  # "review", "batch run", "batch submit", ..., "plan", or "" when unknown
    job_name: str | None
    triggers: Triggers
    index: int = 0  # among its job's steps
    uses: str = ""  # the action reference, for `via: action`
    args: tuple[str, ...] = ()  # the CLI arguments (an action step's `args` input)
    setup: JobSetup = _NO_SETUP
    conditions: tuple[object, ...] = ()  # the job's and the step's `if:`
    called_from: str = ""  # the caller job, for a step of a reusable workflow

    @property
    def where(self) -> str:
        return f"{self.workflow}:{self.line}" if self.line else self.workflow

    @property
    def submits_batches(self) -> bool:
        return self.command in {"batch run", "batch submit"}


@dataclass(frozen=True)
class WorkflowCall:
    """A job that runs a reusable workflow of the same repository (`uses: ./.github/...`)."""

    target: str  # the called workflow's path in the repository
    where: str  # the caller job
    conditions: tuple[object, ...]  # the caller job's `if:`
    inputs: tuple[tuple[str, str], ...] = ()  # its `with:`


@dataclass(frozen=True)
class Workflow:
    path: str
    name: str
    triggers: Triggers
    steps: tuple[ReviewerStep, ...]
    calls: tuple[WorkflowCall, ...] = ()
    input_defaults: tuple[tuple[str, str], ...] = ()  # `on.workflow_call.inputs.*.default`


def workflow_files(workdir: Path) -> list[Path]:
    folder = workdir / WORKFLOWS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in {".yml", ".yaml"} and p.is_file())


def read_workflow(path: Path, workdir: Path, *, own_action: bool = False) -> Workflow:
    """Parse one workflow file; ConfigError (with file:line where known) when it cannot be
    read or is not valid YAML."""
    relative = path.relative_to(workdir).as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"not UTF-8 text (byte {error.start})",
            Location(relative),
            hint="save the workflow as UTF-8",
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot read it: {error.strerror}", Location(relative)) from None
    data, marks = load_yaml(text, relative)
    if not isinstance(data, dict):
        data = {}
    triggers = parse_triggers(data.get("on", data.get(True)))
    steps = tuple(_reviewer_steps(data, relative, triggers, marks, own_action))
    name = str(data.get("name") or relative)
    on = data.get("on", data.get(True))
    call = on.get("workflow_call") if isinstance(on, dict) else None
    declared = call.get("inputs") if isinstance(call, dict) else None
    defaults = tuple(
        (str(key), _text(spec["default"]))
        for key, spec in (declared.items() if isinstance(declared, dict) else [])
        if isinstance(spec, dict) and spec.get("default") is not None
    )
    return Workflow(relative, name, triggers, steps, _calls(data, relative, marks), defaults)


def _calls(workflow: dict[Any, Any], path: str, marks: Marks) -> tuple[WorkflowCall, ...]:
    jobs = workflow.get("jobs")
    found = []
    for job_id, job in jobs.items() if isinstance(jobs, dict) else []:
        uses = job.get("uses") if isinstance(job, dict) else None
        if isinstance(uses, str) and uses.strip().startswith("./"):
            target = posixpath.normpath(uses.strip()[2:])
            line = marks.locate(("jobs", job_id), prefer_key=True).line
            given = job.get("with") if isinstance(job.get("with"), dict) else {}
            inputs = tuple((str(key), _text(value)) for key, value in given.items())
            found.append(WorkflowCall(target, f"{path}:{line}", _conditions(job), inputs))
    return tuple(found)


def _conditions(*parts: Any) -> tuple[object, ...]:
    """The `if:` values of a job and its step, as hashable values."""
    found: list[object] = []
    for part in parts:
        value = part.get("if") if isinstance(part, dict) else None
        if value is not None:
            found.append(value if isinstance(value, (bool, int, float, str)) else str(value))
    return tuple(found)


def parse_triggers(on: Any) -> Triggers:
    """`on:` as a string, a list of events or a mapping of events to filters."""
    if isinstance(on, str):
        return Triggers((on,))
    if isinstance(on, list):
        return Triggers(tuple(str(event) for event in on))
    if not isinstance(on, dict):
        return Triggers(())
    schedules = tuple(
        str(entry["cron"])
        for entry in on.get("schedule") or []
        if isinstance(entry, dict) and "cron" in entry
    )
    quiet = tuple(
        event
        for event in ("pull_request", "pull_request_target")
        if isinstance(on.get(event), dict)
        and (types := _strings(on[event].get("types")))
        and set(types) <= QUIET_PR_TYPES
    )
    push: dict[str, Any] = on["push"] if isinstance(on.get("push"), dict) else {}
    branches = _strings(push.get("branches"))
    has_tags = "tags" in push or "tags-ignore" in push
    return Triggers(
        events=tuple(str(event) for event in on),
        schedules=schedules,
        push_branches=branches if "branches" in push else None,
        push_branches_ignore=_strings(push.get("branches-ignore")),
        push_tags_only=has_tags and "branches" not in push and "branches-ignore" not in push,
        quiet_events=quiet,
    )


def branch_filter_matches(patterns: Sequence[str], branch: str) -> bool:
    """GitHub's filter semantics: later patterns win; `!` negates; `*` stops at `/`."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if re.fullmatch(_glob_to_regex(pattern.removeprefix("!")), branch):
            matched = not negated
    return matched


def _glob_to_regex(pattern: str) -> str:
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif pattern[index] == "?":
            out, index = out + ".?", index + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    return out


def _reviewer_steps(
    workflow: dict[Any, Any], path: str, triggers: Triggers, marks: Marks, own_action: bool
) -> list[ReviewerStep]:
    found: list[ReviewerStep] = []
    jobs = workflow.get("jobs")
    for job_id, job in jobs.items() if isinstance(jobs, dict) else []:
        steps = job.get("steps") if isinstance(job, dict) else None
        if not isinstance(steps, list):
            continue
        setup = job_setup(workflow, str(job_id), job, marks)
        for index, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            line = marks.values.get(("jobs", job_id, "steps", index), (None, None))[0]
            label = str(step.get("name") or f"step {index + 1}")
            invocation = _invocation(step, own_action)
            if invocation is not None:
                via, command, job_name, args = invocation
                uses = str(step.get("uses") or "").strip() if via == "action" else ""
                conditions = _conditions(job, step)
                found.append(
                    ReviewerStep(
                        path,
                        str(job_id),
                        label,
                        line,
                        via,
                        command,
                        job_name,
                        triggers.where(conditions),
                        index=index,
                        uses=uses,
                        args=tuple(args),
                        setup=setup,
                        conditions=conditions,
                    )
                )
    return found


def _invocation(
    step: Mapping[str, Any], own_action: bool
) -> tuple[str, str, str | None, list[str]] | None:
    uses = str(step.get("uses") or "").strip()
    if uses and ((own_action and uses in {".", "./"}) or _ACTION.match(uses)):
        inputs: dict[str, Any] = step["with"] if isinstance(step.get("with"), dict) else {}
        raw = str(inputs.get("command") or "review").strip()
        args = _tokens(str(inputs.get("args") or ""))
        job = inputs.get("job")
        command = _ACTION_COMMANDS.get(raw, raw)
        return "action", command, str(job) if job else _job_arg(args), args
    script = step.get("run")
    if isinstance(script, str):
        for line in script.replace("\\\n", " ").splitlines():
            match = _CLI.search(line)
            if match:
                tokens = _tokens(match.group(1))
                command, job = parse_cli_arguments(tokens)
                return "cli", command, job, tokens
    return None


def parse_cli_arguments(tokens: Sequence[str]) -> tuple[str, str | None]:
    """The subcommand (`batch run`, `review`, ...) and the `--job` value of a CLI call."""
    words: list[str] = []
    skip = False
    for token in tokens:
        if token in {";", "&&", "||", "|"} or token.startswith("#"):
            break
        if skip:
            skip = False
        elif token in _VALUE_OPTIONS:
            skip = True
        elif not token.startswith("-"):
            words.append(token)
    command = ""
    if words:
        command = f"batch {words[1]}" if words[0] == "batch" and len(words) > 1 else words[0]
    return command, _job_arg(tokens)


def _job_arg(tokens: Sequence[str]) -> str | None:
    for index, word in enumerate(tokens):
        if word == "--job" and index + 1 < len(tokens):
            return tokens[index + 1]
        if word.startswith("--job="):
            return word.split("=", 1)[1]
    return None


def _tokens(text: str) -> list[str]:
    # `--job ${{ inputs.job }}` is one value: the runner fills the expression in before the
    # shell splits the line.
    text = _EXPRESSION.sub(lambda match: "${{" + "".join(match.group(1).split()) + "}}", text)
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        return list(lexer)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return text.split()


def _text(value: Any) -> str:
    """An input's value as the called workflow reads it in `${{ inputs.x }}`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return ()
