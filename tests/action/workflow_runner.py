"""A small stand-in for GitHub Actions that runs a whole workflow file's jobs the way a runner
does, against the emulators:

- each job gets a token with exactly its `permissions:` (the job's block, else the
  workflow's, else the restricted default `contents: read`), which the GitHub emulator
  enforces on every write;
- `actions/checkout` (pinned by SHA) fetches from the origin as the real action does: only
  the event's commit unless `fetch-depth: 0`, which fetches every branch too; with
  `persist-credentials: false` a private repository's origin cannot be fetched from later
  (modelled by pointing the remote at a path that does not exist);
- `uses: <owner>/claude-ci-reviewer@<sha>` runs this repository's action.yml through
  `runner.run_action`; any other action is refused, so nothing is silently skipped;
- `${{ }}` is evaluated in `with:`, `env:` and a job's `if:` (`==`/`!=` of a context value and
  a literal); the runner never evaluates them inside `run:` scripts.

`ANTHROPIC_BASE_URL` and `GITHUB_API_URL` point the job at the emulators: the only
environment a real runner does not give.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.planning.permissions import job_token
from tests.action.runner import ActionRun, evaluate, run_action

_OUR_ACTION = re.compile(r"^[^/\s]+/claude-ci-reviewer@(?P<ref>[0-9a-f]{40})$")
_CHECKOUT = re.compile(r"^actions/checkout@[0-9a-f]{40}$")
_NULL_SHA = "0" * 40
_RESTRICTED_DEFAULT = {"contents": "read", "packages": "read"}


@dataclass(frozen=True)
class Event:
    """What triggered the run: its name, payload, and the commit and ref it is about."""

    name: str
    sha: str
    ref: str  # refs/heads/main, or refs/pull/N/merge
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Origin:
    """The repository as GitHub holds it: a bare git repository the emulator serves."""

    bare: Path
    github: GitHubEmulator
    full_name: str = "octo/demo"
    private: bool = True


@dataclass
class JobRun:
    job_id: str
    ran: bool
    returncode: int = 0
    scopes: dict[str, str] = field(default_factory=dict)
    actions: list[ActionRun] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.log)


def run_workflow(
    path: Path,
    *,
    event: Event,
    origin: Origin,
    action_dir: Path,
    runner_temp: Path,
    secrets: Mapping[str, str],
    extra_env: Mapping[str, str],
    run_id: str,
) -> dict[str, JobRun]:
    """Run every job of the workflow at `path`, in file order (none of ours needs another)."""
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    runs = {}
    for job_id, job in workflow["jobs"].items():
        workspace = runner_temp / f"work-{run_id}-{job_id}"
        context = _context(event, origin, secrets, workspace, run_id)
        runs[job_id] = _run_job(
            job_id, job, workflow, context, origin, action_dir, runner_temp, extra_env
        )
    origin.github.set_token_scopes(None)
    return runs


def _context(
    event: Event, origin: Origin, secrets: Mapping[str, str], workspace: Path, run_id: str
) -> dict[str, Any]:
    return {
        "secrets": {"GITHUB_TOKEN": origin.github.token or "", **secrets},
        "github": {
            "event_name": event.name,
            "event": dict(event.payload),
            "sha": event.sha,
            "ref": event.ref,
            "repository": origin.full_name,
            "run_id": run_id,
            "token": origin.github.token or "",
            "workspace": str(workspace),
        },
    }


def _run_job(
    job_id: str,
    job: Mapping[str, Any],
    workflow: Mapping[str, Any],
    context: dict[str, Any],
    origin: Origin,
    action_dir: Path,
    runner_temp: Path,
    extra_env: Mapping[str, str],
) -> JobRun:
    if "if" in job and not _condition(str(job["if"]), context):
        return JobRun(job_id, ran=False)
    token = job_token(
        workflow.get("permissions"), job.get("permissions"), workflow_where="", job_where=""
    )
    assert token is not None, f"job {job_id}: permissions the runner cannot read"
    scopes = dict(token.scopes) if token.declared else dict(_RESTRICTED_DEFAULT)
    origin.github.set_token_scopes(scopes)
    run = JobRun(job_id, ran=True, scopes=scopes)
    workspace = Path(context["github"]["workspace"])
    event_file = runner_temp / f"event-{context['github']['run_id']}.json"
    event_file.write_text(json.dumps(context["github"]["event"]), encoding="utf-8")
    job_env = {
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": origin.full_name,
        "GITHUB_EVENT_NAME": context["github"]["event_name"],
        "GITHUB_EVENT_PATH": str(event_file),
        "GITHUB_SHA": context["github"]["sha"],
        "GITHUB_REF": context["github"]["ref"],
        "GITHUB_RUN_ID": context["github"]["run_id"],
        "GITHUB_API_URL": origin.github.url,
        **extra_env,
    }
    for index, step in enumerate(job["steps"]):
        returncode = _run_step(index, step, context, origin, action_dir, runner_temp, job_env, run)
        if returncode != 0:
            run.returncode = returncode
            break
    return run


def _run_step(
    index: int,
    step: Mapping[str, Any],
    context: Mapping[str, Any],
    origin: Origin,
    action_dir: Path,
    runner_temp: Path,
    job_env: Mapping[str, str],
    run: JobRun,
) -> int:
    uses = str(step.get("uses", ""))
    inputs = {k: evaluate(_text(v), context) for k, v in (step.get("with") or {}).items()}
    if _CHECKOUT.match(uses):
        return _checkout(inputs, context, origin, run)
    match = _OUR_ACTION.match(uses)
    if match:
        if match["ref"] == _NULL_SHA:
            run.log.append(f"Error: Unable to resolve action `{uses}`, unable to find version")
            return 1
        step_env = {k: evaluate(_text(v), context) for k, v in (step.get("env") or {}).items()}
        env = {**job_env, **step_env}
        done = run_action(action_dir, inputs, env, runner_temp)
        run.actions.append(done)
        run.log += [done.stdout, done.stderr]
        return done.returncode
    raise AssertionError(f"step {index}: the test runner does not run `{uses or 'run:'}`")


def _checkout(
    inputs: Mapping[str, str], context: Mapping[str, Any], origin: Origin, run: JobRun
) -> int:
    """What actions/checkout does: init, add origin, fetch the event's commit (at the given
    depth; every branch and tag too with fetch-depth 0), check it out."""
    workspace = Path(context["github"]["workspace"])
    workspace.mkdir(parents=True)
    depth = int(inputs.get("fetch-depth", "1"))
    sha, ref = context["github"]["sha"], context["github"]["ref"]
    target = ref.replace("refs/heads/", "refs/remotes/origin/").replace(
        "refs/pull/", "refs/remotes/pull/"
    )
    _git(workspace, "init", "-q")
    _git(workspace, "remote", "add", "origin", f"file://{origin.bare}")
    base = ["-c", "protocol.version=2", "fetch", "--no-tags", "--prune", "--quiet"]
    if depth == 0:
        every = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
        _git(workspace, *base, "origin", *every)
        _git(workspace, *base, "origin", f"+{sha}:{target}")
    else:
        _git(workspace, *base, f"--depth={depth}", "origin", f"+{sha}:{target}")
    if ref.startswith("refs/heads/"):
        _git(workspace, "checkout", "-q", "--force", "-B", ref.removeprefix("refs/heads/"), target)
    else:
        _git(workspace, "checkout", "-q", "--force", "--detach", sha)
    if inputs.get("persist-credentials", "true") == "false" and origin.private:
        # No credentials were kept: a private repository's origin refuses later fetches.
        _git(workspace, "remote", "set-url", "origin", str(workspace.parent / "no-credentials"))
    run.log.append(f"checkout: {sha[:12]} at depth {depth or 'all'}")
    return 0


def _condition(expression: str, context: Mapping[str, Any]) -> bool:
    text = expression.strip().removeprefix("${{").removesuffix("}}").strip()
    match = re.fullmatch(r"(\S+)\s*(==|!=)\s*(\S+)", text)
    assert match, f"condition not supported by the test runner: {expression}"
    left, right = _operand(match[1], context), _operand(match[3], context)
    return (left == right) == (match[2] == "==")


def _operand(text: str, context: Mapping[str, Any]) -> Any:
    literals = {"true": True, "false": False, "null": None}
    if text in literals:
        return literals[text]
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1]
    value: Any = context
    for part in text.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()
