"""The `test-generation` kind: per source file, one test file written in the repository's own
test framework, delivered as one pull request per collection run.

What the model proposes is untrusted: every target path goes through the generated-path
policy (`batch/paths.py`), and, with `verify_command`, every test runs in the checkout
(`batch/verify.py`) before it is published; failing tests are dropped, or kept and marked
when `keep_failing_tests` is set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ci_reviewer.batch.caching import MessageParts, group_of
from ci_reviewer.batch.collect import SourceFile
from ci_reviewer.batch.jobs import repair
from ci_reviewer.batch.jobs.base import (
    Accepted,
    Collection,
    Published,
    Rejected,
    structured_output,
    validated,
    with_instructions,
)
from ci_reviewer.batch.jobs.context import (
    RepositoryContext,
    UsageLedger,
    language_of,
)
from ci_reviewer.batch.jobs.package_context import PackageContext, render_shared
from ci_reviewer.batch.jobs.testgen_body import (
    Row,
    held_tests,
    merged,
    render_body,
    rows_of,
    title,
)
from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.paths import RefusedPath, place, with_marker
from ci_reviewer.batch.verify import Verification, run_verification
from ci_reviewer.config import JobConfig
from ci_reviewer.github.publish_pr import PullRequestDraft, PullRequestPublisher
from ci_reviewer.github.waiting_branch import WaitingPullRequest
from ci_reviewer.secret_policy import SecretPolicy
from ci_reviewer.structured import sendable_schema

SYSTEM = (
    "You write unit tests for the source files of a repository. For the file you are given, "
    "write ONE new test file that exercises its public behaviour, in the repository's own "
    "test framework and conventions. Tests must be deterministic, need no network and no "
    "credentials, and must pass against the code as it is. Import the code under test the "
    "way the repository's existing tests do. `target_path` is the test file's path relative "
    "to the generated-tests directory given below (no '..', no absolute path). Put anything "
    "the maintainers should know in `notes`."
)

# The whole contract of an answer; `SCHEMA` (what is sent) has the bounds the API cannot
# enforce moved into descriptions, and `TestAnswer` enforces them.
CONSTRAINTS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "target_path": {
            "type": "string",
            "minLength": 1,
            "description": "the test file's path relative to the generated-tests directory, "
            "named as the language's tests are (e.g. test_<module>.py); no '..', not absolute",
        },
        "content": {"type": "string", "minLength": 1, "description": "the whole test file"},
        "framework": {"type": "string"},
        "notes": {"type": "string"},
    },
    "required": ["target_path", "content", "framework", "notes"],
    "additionalProperties": False,
}
SCHEMA: dict[str, Any] = sendable_schema(CONSTRAINTS)


class TestAnswer(BaseModel):
    """The answer as the schema promises it; checked, since a result may not keep promises."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_path: str = Field(min_length=1)
    content: str = Field(min_length=1)
    framework: str
    notes: str


@dataclass(frozen=True)
class GeneratedTest:
    """One succeeded answer: the source it is for and what the model proposed."""

    source: str
    proposed: str
    content: str
    framework: str
    notes: str


@dataclass(frozen=True)
class Delivery:
    """Where the files go: a pull request (with the run id naming its branch), or, with no
    publisher, straight into the checkout (`output: file`, for local runs)."""

    publisher: PullRequestPublisher | None
    run_id: str = "local"
    environ: Mapping[str, str] = field(default_factory=dict)


class TestGenerationKind:
    """Tests per file; `publish` opens or updates the job's pull request."""

    __test__ = False  # a domain name, not a pytest test class
    prefix = "testgen"

    def __init__(
        self,
        name: str,
        job: JobConfig,
        workdir: Path,
        delivery: Delivery,
        policy: SecretPolicy | None = None,
    ) -> None:
        self.name = name
        self.job = job
        self.workdir = workdir
        self.delivery = delivery
        self.repository = RepositoryContext(workdir, policy)
        self.package = PackageContext(self.repository)
        self.ledger = UsageLedger()

    def system_prompt(self, job: JobConfig) -> str:
        parts = [SYSTEM, f"Generated-tests directory: {job.output_dir}", self._conventions]
        if job.verify_command:
            parts.append(
                "Each test is run from the repository root with: "
                f"{job.verify_command.replace('{path}', '<test path>')}"
            )
        return with_instructions("\n\n".join(parts), job)

    @cached_property
    def _conventions(self) -> str:
        """Each language's framework and shortest substantial test (cached: same for all)."""
        present = {language_of(p) for p in self.repository.tracked}
        blocks = []
        for language in ("python", "javascript", "go"):
            if language not in present:
                continue
            framework = self.repository.framework(language)
            block = f"{language} tests use {framework.name}."
            if framework.example_path:
                block += (
                    f" An existing test, {framework.example_path}:\n"
                    f"<example>\n{framework.example_text}\n</example>"
                )
            blocks.append(block)
        return "\n\n".join(blocks) or "The repository has no tests yet."

    def output_schema(self) -> Mapping[str, Any]:
        return SCHEMA

    def user_message(self, source: SourceFile) -> str:
        parts = self.message_parts(source)
        return f"{parts.shared}\n\n{parts.own}" if parts.shared else parts.own

    def message_parts(self, source: SourceFile) -> MessageParts:
        """The message, with the context its directory shares first (one cached prefix)."""
        shared = self.package.shared_of(source.path)
        group = group_of(source.path)
        skip = frozenset(imported.path for imported in shared)
        return MessageParts(group, render_shared(group, shared), self._own(source, skip))

    def _own(self, source: SourceFile, skip: frozenset[str]) -> str:
        lines = [f"Write tests for {source.path}.", "", f"<file>\n{source.text}\n</file>"]
        for imported in self.repository.imports_of(source.path, source.text, skip):
            cut = " (cut)" if imported.truncated else ""
            lines += ["", f'<imported path="{imported.path}"{cut}>\n{imported.text}\n</imported>']
        existing = self.repository.existing_tests_for(source.path)
        if existing:
            lines += ["", "Existing tests for it (do not repeat them): " + ", ".join(existing)]
        return "\n".join(lines)

    def withheld_context(self) -> tuple[tuple[str, str], ...]:
        return self.repository.take_withheld()

    def accept(
        self, custom_id: str, entry: ManifestEntry, message: Mapping[str, Any]
    ) -> Accepted | Rejected:
        self.ledger.record(message)
        value = structured_output(message)
        if isinstance(value, Rejected):
            return value
        # An empty or unusable target path is derived from the source file, so a small
        # deviation does not lose the test (a path leaving output_dir is refused later).
        fixed = repair.test_generation_answer(value, entry.path, self.job.output_dir)
        answer = validated(fixed, TestAnswer)
        if isinstance(answer, Rejected):
            return answer
        test = GeneratedTest(
            entry.path, answer.target_path, answer.content, answer.framework, answer.notes
        )
        return Accepted(custom_id, entry, test)

    def publish(self, collection: Collection) -> Published | None:
        tests = sorted(
            (a.payload for a in collection.accepted if isinstance(a.payload, GeneratedTest)),
            key=lambda t: t.source,
        )
        if not tests and not collection.failures:
            return None
        plan = plan_tests(tests, self.name, self.job, self.workdir, self.delivery.environ)
        render = self._renderer(collection, rows_of(collection, plan))
        heading, body, _ = render([])
        if not plan.files:
            return Published("", f"no test file to publish ({plan.summary})")
        if self.delivery.publisher is None:
            return self._write(plan)
        draft = PullRequestDraft(
            job=self.name,
            collection_id=collection.collection_id,
            run_id=self.delivery.run_id,
            title=heading,
            body=body,
            files=plan.files,
            on_open_pr=self.job.on_open_pr,
            render=render,
        )
        pull = self.delivery.publisher.publish(draft)
        if isinstance(pull, WaitingPullRequest):
            # Kept and told, and published as far as the state goes: exiting 3 would only
            # make every later run pay for the same tests and push them again.
            verb = "opened" if pull.created else "updated"
            detail = (
                f"GitHub refused the pull request (HTTP {pull.refusal.status}); the files wait "
                f"on branch {pull.branch}, issue #{pull.issue_number} {verb}: {plan.summary}"
            )
            return Published(pull.issue_url, detail, warnings=(pull.warning,))
        return Published(pull.url, f"pull request #{pull.number} {pull.action}: {plan.summary}")

    def _renderer(
        self, collection: Collection, rows: list[Row]
    ) -> Callable[[list[Row]], tuple[str, str, list[Row]]]:
        """The words of the pull request, given the rows its body recorded before."""

        def render(earlier: list[Row]) -> tuple[str, str, list[Row]]:
            every = merged(earlier, rows)
            body = render_body(self.name, self.job, collection, every, self.ledger)
            return title(self.name, held_tests(every)), body, every

        return render

    def _write(self, plan: TestPlan) -> Published:
        for path, text in plan.files.items():
            target = self.workdir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return Published(str(self.workdir / self.job.output_dir), plan.summary)


# -- deciding what lands: path policy, verification -------------------------------------------

Status = Literal["passed", "not verified", "kept failing", "dropped", "refused"]


@dataclass(frozen=True)
class TestOutcome:
    """What became of one generated test, for the PR body's tables."""

    source: str
    path: str
    status: Status
    detail: str
    notes: str = ""


@dataclass(frozen=True)
class TestPlan:
    files: dict[str, str]
    outcomes: tuple[TestOutcome, ...]

    def count(self, *statuses: Status) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def summary(self) -> str:
        return (
            f"{len(self.files)} test file(s), {self.count('refused')} refused, "
            f"{self.count('dropped')} dropped after failing verification"
        )


def plan_tests(
    tests: list[GeneratedTest], name: str, job: JobConfig, workdir: Path, environ: Mapping[str, str]
) -> TestPlan:
    files: dict[str, str] = {}
    outcomes: list[TestOutcome] = []
    for test in tests:
        placed = place(test.proposed, workdir=workdir, output_dir=job.output_dir)
        if isinstance(placed, RefusedPath):
            outcomes.append(TestOutcome(test.source, test.proposed, "refused", placed.reason))
            continue
        path = placed.repo_path
        if path in files:
            reason = f"{path} is already the test of another file in this run"
            outcomes.append(TestOutcome(test.source, test.proposed, "refused", reason))
            continue
        content = with_marker(path, test.content, name)
        if not job.verify_command:
            files[path] = content
            outcomes.append(TestOutcome(test.source, path, "not verified", "", test.notes))
            continue
        result = verify_in_checkout(job, workdir, path, content, environ)
        if result.passed:
            files[path] = content
            outcomes.append(TestOutcome(test.source, path, "passed", "", test.notes))
        elif job.keep_failing_tests:
            note = f"this test failed verification when it was generated ({result.summary})"
            files[path] = with_marker(path, test.content, name, note)
            outcomes.append(TestOutcome(test.source, path, "kept failing", result.summary))
        else:
            outcomes.append(TestOutcome(test.source, path, "dropped", result.summary))
    return TestPlan(files, tuple(outcomes))


def verify_in_checkout(
    job: JobConfig, workdir: Path, path: str, content: str, environ: Mapping[str, str]
) -> Verification:
    """Run the job's verify_command on `content` placed at `path`, then put the checkout
    back as it was (the file and any directory made for it removed, an overwritten
    generated file restored)."""
    assert job.verify_command is not None
    target = workdir / path
    before = target.read_bytes() if target.exists() else None
    made = [p for p in reversed(target.parents) if p.is_relative_to(workdir) and not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    try:
        return run_verification(
            job.verify_command,
            path,
            workdir=workdir,
            timeout=job.verify_timeout_seconds,
            environ=environ,
        )
    finally:
        if before is None:
            target.unlink(missing_ok=True)
            for directory in reversed(made):
                _remove_empty(directory)
        else:
            target.write_bytes(before)


def _remove_empty(directory: Path) -> None:
    """Remove `directory` if the test left nothing in it but caches it wrote itself."""
    for cache in ("__pycache__", ".pytest_cache"):
        for child in (directory / cache).glob("*"):
            child.unlink(missing_ok=True)
        if (directory / cache).is_dir():
            (directory / cache).rmdir()
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
