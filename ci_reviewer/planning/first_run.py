"""What would make a step's first run on a real runner fail, read from its workflow: a token
permission its job lacks for what the step writes, a shallow checkout under a `since` window,
an action reference that cannot resolve or is not pinned, an install of a package that is not
published."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ci_reviewer.config import JobConfig
from ci_reviewer.planning.action_ref import PLACEHOLDER_SHA, is_commit_sha
from ci_reviewer.planning.verdicts import Finding
from ci_reviewer.planning.workflow_jobs import JobSetup
from ci_reviewer.planning.workflows import ReviewerStep

STATE_BRANCH = "ci-reviewer-state"
PACKAGE = "claude-ci-reviewer"
_STATE_COMMANDS = frozenset({"batch run", "batch submit", "batch collect", "batch cancel"})
_PUBLISHING = frozenset({"batch run", "batch collect"})
_UPLOAD_SARIF = re.compile(r"^github/codeql-action/upload-sarif@")
# `pip install claude-ci-reviewer`, `pipx run --spec claude-ci-reviewer`, `uvx ...`: a name
# on PyPI (optionally with a version or extras), not a path, URL or git+ reference.
_INSTALL = re.compile(r"\b(?:pip3?|pipx|uv|uvx)\b(?P<rest>.*)")
_FROM_PYPI = re.compile(rf"^{PACKAGE}(?:$|[\[=<>~!;])")


@dataclass(frozen=True)
class Need:
    """A permission the step's token must have, and what for."""

    scope: str
    level: str  # read | write
    why: str
    required: bool = True  # False: only a fallback path needs it (a warning, not an error)


def first_run_findings(step: ReviewerStep, job: JobConfig | None) -> Iterator[Finding]:
    yield from _permission_findings(step, needs(step, job))
    if job is not None and step.submits_batches:
        yield from _depth_findings(step, job)
    yield from _reference_findings(step)


def needs(step: ReviewerStep, job: JobConfig | None) -> list[Need]:
    """What the step writes, as token permissions: the least its command and output need."""
    found = [Need("contents", "read", "the checkout")]
    if step.command == "review":
        found += [
            Need("pull-requests", "write", "the review, its inline comments and the summary"),
            Need("checks", "write", "the ci-reviewer check run and its annotations"),
        ]
    if step.command not in _STATE_COMMANDS or "--dry-run" in step.args:
        return found
    if not any(arg == "--state-dir" or arg.startswith("--state-dir=") for arg in step.args):
        found.append(Need("contents", "write", f"the batch state on the branch {STATE_BRANCH}"))
    if job is not None and step.command in _PUBLISHING:
        found += _publishing_needs(job, step.setup)
    return found


def _publishing_needs(job: JobConfig, setup: JobSetup) -> list[Need]:
    output = job.effective_output
    if output == "pull-request":
        return [
            Need("contents", "write", "the branch of the generated files"),
            Need("pull-requests", "write", "the pull request of the generated files"),
            Need(
                "issues",
                "write",
                "the issue opened instead when GitHub refuses the pull request",
                required=False,
            ),
        ]
    if output == "issue":
        return [Need("issues", "write", "the issue of results and its label")]
    if output == "sarif" and any(_UPLOAD_SARIF.match(s.uses) for s in setup.steps):
        return [Need("security-events", "write", "uploading the SARIF to code scanning")]
    return []


def _permission_findings(step: ReviewerStep, wanted: list[Need]) -> Iterator[Finding]:
    token = step.setup.token
    if token is None:
        return  # a block plan cannot read (an expression): no verdict on a guess
    if not token.declared:
        writes = [n for n in wanted if n.level == "write" and n.required]
        if writes:
            yield Finding(
                "warning",
                "undeclared-permissions",
                step.where,
                f"job {step.job_id!r} has no `permissions:`, so its token gets the "
                "repository's default, which is read-only on repositories created since "
                f"February 2023; this step needs {_listed(writes)}.",
                "Add a `permissions:` block to the job with exactly these scopes.",
            )
        return
    for need in _merged(wanted):
        if not token.allows(need.scope, need.level):
            yield _missing(step, need, token.level(need.scope), token.where)


def _merged(wanted: list[Need]) -> list[Need]:
    """One need per scope and kind (required or not): the highest level, every reason."""
    merged: dict[tuple[str, bool], Need] = {}
    for need in wanted:
        key = (need.scope, need.required)
        was = merged.get(key)
        if was is None or (was.level == "read" and need.level == "write"):
            merged[key] = need
        elif need.level == was.level and need.why not in was.why:
            merged[key] = Need(need.scope, need.level, f"{was.why} and {need.why}", need.required)
    return list(merged.values())


def _missing(step: ReviewerStep, need: Need, has: str, where: str) -> Finding:
    what = f"`ci-reviewer {step.command}`" + (f" (job {step.job_name!r})" if step.job_name else "")
    fails = "its first run fails" if need.required else "that fallback fails"
    return Finding(
        "error" if need.required else "warning",
        "missing-permission",
        where,
        f"{what} at {step.where} needs `{need.scope}: {need.level}` for {need.why}; the "
        f"job's token has `{need.scope}: {has}`, so {fails} (403 Resource not accessible "
        "by integration).",
        f"Add `{need.scope}: {need.level}` to that `permissions:` block (a job's own block "
        "replaces the workflow's).",
    )


def _depth_findings(step: ReviewerStep, job: JobConfig) -> Iterator[Finding]:
    if job.since == "all":
        return
    checkout = step.setup.checkout_before(step.index)
    if checkout is None:
        return
    depth = checkout.input("fetch-depth")
    if depth is not None and (depth.strip() == "0" or "${{" in depth):
        return
    later = " after its first run" if job.since == "last-run" else ""
    fetched = "1 commit" if depth in (None, "1") else f"{depth} commits"
    yield Finding(
        "warning",
        "shallow-checkout",
        checkout.where,
        f"job {step.job_name!r} (since: {job.since}) needs history{later}, but this "
        f"checkout fetches {fetched}: the run must fetch the rest from origin, "
        "which fails on a private repository checked out without credentials (exit 2).",
        "Set `fetch-depth: 0` on this actions/checkout step (keep persist-credentials: false).",
    )


def _reference_findings(step: ReviewerStep) -> Iterator[Finding]:
    if step.via == "action" and "@" in step.uses:
        ref = step.uses.rsplit("@", 1)[1]
        if ref == PLACEHOLDER_SHA:
            yield Finding(
                "error",
                "placeholder-action-ref",
                step.where,
                f"`uses: {step.uses}` is the placeholder `ci-reviewer init` writes; no such "
                "commit exists, so the runner cannot resolve the action.",
                "Replace it with the commit SHA of the release you trust: "
                f"`uses: <owner>/{PACKAGE}@<40-hex sha> # vX.Y.Z`.",
            )
        elif not is_commit_sha(ref):
            yield Finding(
                "info",
                "unpinned-action",
                step.where,
                f"`uses: {step.uses}` follows a branch or tag, which can move to code you "
                "have not reviewed.",
                "Pin the full commit SHA of that ref, with the tag as a comment.",
            )
    for other in step.setup.steps:
        if _installs_from_pypi(other.run):
            yield Finding(
                "error",
                "unpublished-package",
                other.where,
                f"this step installs `{PACKAGE}` from PyPI, where it is not published: "
                "the install fails on the runner.",
                f"Run the action instead (`uses: <owner>/{PACKAGE}@<sha>`, what "
                "`ci-reviewer init` writes), or install from the repository at a commit.",
            )


def _installs_from_pypi(script: str) -> bool:
    for line in script.replace("\\\n", " ").splitlines():
        match = _INSTALL.search(line)
        if match and any(_FROM_PYPI.match(_operand(word)) for word in match["rest"].split()):
            return True
    return False


def _operand(word: str) -> str:
    """A command-line word as a package name: unquoted, `--spec=NAME` read as NAME."""
    word = word.strip("'\"")
    return word.partition("=")[2] if word.startswith("--") else word


def _listed(wanted: list[Need]) -> str:
    return ", ".join(f"`{n.scope}: {n.level}` ({n.why})" for n in wanted)
