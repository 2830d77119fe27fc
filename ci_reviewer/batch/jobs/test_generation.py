"""The `test-generation` kind: per source file, one test file written in the repository's own
test framework, delivered as one pull request per collection run.

What the model proposes is untrusted: every target path goes through the generated-path
policy (`batch/paths.py`), and, with `verify_command`, every test runs in the checkout
(`batch/verify.py`) before it is published; failing tests are dropped, or kept and marked
when `keep_failing_tests` is set.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ci_reviewer.batch.caching import MessageParts
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
from ci_reviewer.batch.jobs.context import RepositoryContext, UsageLedger
from ci_reviewer.batch.jobs.frameworks import Framework
from ci_reviewer.batch.jobs.package_context import PackageContext
from ci_reviewer.batch.jobs.test_targets import default_verify
from ci_reviewer.batch.jobs.testgen_body import (
    Row,
    held_tests,
    merged,
    render_body,
    rows_of,
    title,
)
from ci_reviewer.batch.jobs.testgen_prompt import FilePlan, TestingConventions
from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.paths import Placement, RefusedPath, with_marker
from ci_reviewer.batch.verify import Verification, run_command, run_verification
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
    "to the generated-tests directory given below (no '..', no absolute path): use the one "
    "each request gives, which follows the framework's conventions. Put anything the "
    "maintainers should know in `notes`."
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
            "as the request gives it; no '..', not absolute",
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
        self.conventions = TestingConventions(self.repository, job)
        self.ledger = UsageLedger()
        # source path -> the framework its accepted test is in (None: no plan for it)
        self._frameworks: dict[str, Framework | None] = {}

    def system_prompt(self, job: JobConfig) -> str:
        # The same for every file; what differs per language and folder (framework,
        # example, fixtures) goes with each file.
        self.conventions.warm()
        parts = [SYSTEM, f"Generated-tests directory: {job.output_dir}"]
        return with_instructions("\n\n".join(parts), job)

    def output_schema(self) -> Mapping[str, Any]:
        return SCHEMA

    def skip_reason(self, source: SourceFile) -> str | None:
        """Why no test is asked for `source` (no framework for its language, or no place
        for its test inside output_dir), or None."""
        plan = self.conventions.plan(source)
        return plan if isinstance(plan, str) else None

    def user_message(self, source: SourceFile) -> str:
        return self.message_parts(source).joined()

    def message_parts(self, source: SourceFile) -> MessageParts:
        """The message, with the context its directory shares first (one cached prefix)."""
        return self.package.message_parts(
            source.path, source.text, lambda skip: self._own(source, skip)
        )

    def _own(self, source: SourceFile, skip: frozenset[str]) -> str:
        plan = self.conventions.plan(source)
        lines = [f"Write tests for {source.path}.", ""]
        if isinstance(plan, FilePlan):
            lines += [self.conventions.block(plan), ""]
        lines.append(f"<file>\n{source.text}\n</file>")
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
        plan = self.conventions.plan_of(entry.path)
        default = plan.target.relative if isinstance(plan, FilePlan) else None
        # `_verifier` needs the same plan's framework: kept, not planned again from the file.
        self._frameworks[entry.path] = plan.framework if isinstance(plan, FilePlan) else None
        fixed = repair.test_generation_answer(value, entry.path, self.job.output_dir, default)
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
        plan = plan_tests(tests, self.name, self.job, self.workdir, self._verifier)
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

    def _verifier(self, source: str, path: str) -> Run | None:
        """How the test of `source` at `path` is run: with the job's verify_command, else
        with its framework's usual command (`verify_command: ""` runs none)."""
        job, environ = self.job, self.delivery.environ
        command = job.verify_command
        timeout = job.verify_timeout_seconds
        if command is not None:
            if not command:
                return None
            return lambda: run_verification(
                command, path, workdir=self.workdir, timeout=timeout, environ=environ
            )
        if source in self._frameworks:
            framework = self._frameworks[source]
        else:
            plan = self.conventions.plan_of(source)
            framework = plan.framework if isinstance(plan, FilePlan) else None
        if framework is None or framework.assumed:
            return None
        usual = default_verify(framework, path)
        folder = self.workdir / usual.cwd
        return lambda: run_command(
            usual.arguments, workdir=folder, timeout=timeout, environ=environ
        )

    def _write(self, plan: TestPlan) -> Published:
        # Plain os calls on strings, each folder made once: a large run writes tens of
        # thousands of files, and a Path, a mkdir and a text-mode file each cost more than
        # the write. The same bytes and modes as Path.write_text and Path.mkdir.
        root = os.path.join(self.workdir, "")
        made: set[str] = set()
        for path, text in plan.files.items():
            folder = posixpath.dirname(path)
            if folder not in made:
                os.makedirs(root + folder, exist_ok=True)
                made.add(folder)
            data = text.encode("utf-8")
            descriptor = os.open(root + path, _WRITE_FLAGS, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(descriptor, view) :]
            finally:
                os.close(descriptor)
        return Published(str(self.workdir / self.job.output_dir), plan.summary)


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


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
    files: Mapping[str, str]
    outcomes: tuple[TestOutcome, ...]

    def count(self, *statuses: Status) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def summary(self) -> str:
        return (
            f"{len(self.files)} test file(s), {self.count('refused')} refused, "
            f"{self.count('dropped')} dropped after failing verification"
        )


Run = Callable[[], Verification]
# How the test of a source, placed at a path, is run (None: it is not run).
Verifier = Callable[[str, str], Run | None]


class MarkedFiles(Mapping[str, str]):
    """The files a plan publishes: path -> the test under its marker header (`with_marker`),
    made each time it is asked for. Held made, every test's text was in memory twice (the
    model's and the marked copy): ~80 MB more at publish time for 20,000 tests of 4 KB."""

    def __init__(self, job: str) -> None:
        self._job = job
        self._tests: dict[str, tuple[str, str]] = {}  # path -> (the model's text, note)

    def add(self, path: str, content: str, note: str = "") -> None:
        self._tests[path] = (content, note)

    def __getitem__(self, path: str) -> str:
        content, note = self._tests[path]
        return with_marker(path, content, self._job, note)

    def __contains__(self, path: object) -> bool:
        return path in self._tests

    def __iter__(self) -> Iterator[str]:
        return iter(self._tests)

    def __len__(self) -> int:
        return len(self._tests)


def plan_tests(
    tests: list[GeneratedTest], name: str, job: JobConfig, workdir: Path, verifier: Verifier
) -> TestPlan:
    files = MarkedFiles(name)
    outcomes: list[TestOutcome] = []
    placement = Placement(workdir, job.output_dir)
    for test in tests:
        placed = placement.place(test.proposed)
        if isinstance(placed, RefusedPath):
            outcomes.append(TestOutcome(test.source, test.proposed, "refused", placed.reason))
            continue
        path = placed.repo_path
        if path in files:
            reason = f"{path} is already the test of another file in this run"
            outcomes.append(TestOutcome(test.source, test.proposed, "refused", reason))
            continue
        run = verifier(test.source, path)
        result = None
        if run is not None:
            content = with_marker(path, test.content, name)
            result = verify_in_checkout(workdir, path, content, run)
            placement = Placement(workdir, job.output_dir)  # the command may change folders
        if result is None or (not result.started and job.verify_command is None):
            # No command, or the framework's usual one is not installed here: published
            # unverified, and said so, rather than dropped for a missing tool.
            detail = "" if result is None else result.summary
            files.add(path, test.content)
            outcomes.append(TestOutcome(test.source, path, "not verified", detail, test.notes))
        elif result.passed:
            files.add(path, test.content)
            outcomes.append(TestOutcome(test.source, path, "passed", "", test.notes))
        elif job.keep_failing_tests:
            note = f"this test failed verification when it was generated ({result.summary})"
            files.add(path, test.content, note)
            outcomes.append(TestOutcome(test.source, path, "kept failing", result.summary))
        else:
            outcomes.append(TestOutcome(test.source, path, "dropped", result.summary))
    return TestPlan(files, tuple(outcomes))


def verify_in_checkout(workdir: Path, path: str, content: str, run: Run) -> Verification:
    """`run` with `content` placed at `path`, then the checkout put back as it was (the
    file and any directory made for it removed, an overwritten generated file restored)."""
    target = workdir / path
    before = target.read_bytes() if target.exists() else None
    made = [p for p in reversed(target.parents) if p.is_relative_to(workdir) and not p.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    try:
        return run()
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
