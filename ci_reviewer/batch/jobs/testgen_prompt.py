"""What a test-generation request says about the repository's own way of testing a file:
its language and framework (and what told it), where the test goes and how it is run, the
nearest real test as an example, and, for pytest, the conftest.py fixtures that apply there.

A file whose language has no detected framework, or whose conventional test place lies
outside the job's `output_dir`, gets no request: `plan` returns the reason, which is
counted with the run's other skipped files (as noise: nothing is paid for a file no
test can be generated for).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ci_reviewer.batch.collect import SourceFile
from ci_reviewer.batch.jobs.context import RepositoryContext
from ci_reviewer.batch.jobs.frameworks import Framework, FrameworkDetector, NoFramework
from ci_reviewer.batch.jobs.languages import display, language_of
from ci_reviewer.batch.jobs.test_examples import (
    ConftestFixtures,
    Example,
    ExampleIndex,
    ExamplePicker,
    fixtures_block,
)
from ci_reviewer.batch.jobs.test_targets import Target, Unplaceable, default_verify, target_for
from ci_reviewer.batch.noise import PREFIX
from ci_reviewer.batch.paths import carries_marker
from ci_reviewer.config import JobConfig

_SOURCE_PROBE = 200_000  # characters of a source read again at publish time, at most


@dataclass(frozen=True)
class FilePlan:
    """How one source file is to be tested."""

    language: str
    framework: Framework
    target: Target
    example: Example | None
    fixtures: str


class TestingConventions:
    """The repository's test conventions, read once per run and asked per file."""

    __test__ = False  # a domain name, not a pytest test class

    def __init__(self, repository: RepositoryContext, job: JobConfig) -> None:
        self.repository = repository
        self.job = job
        self._last: tuple[SourceFile, FilePlan | str] | None = None

    @cached_property
    def detector(self) -> FrameworkDetector:
        return FrameworkDetector(self.repository.tracked, self.repository.context_text)

    @cached_property
    def _examples(self) -> ExamplePicker:
        index = ExampleIndex(self.repository.tracked, self._size_of)
        return ExamplePicker(index, self.repository.context_text)

    @cached_property
    def _conftests(self) -> ConftestFixtures:
        return ConftestFixtures(self.detector.paths, self.repository.context_text)

    def warm(self) -> None:
        """Read the tracked files' index now (before the planning workers fork)."""
        _ = self._examples, self._conftests

    def plan(self, source: SourceFile) -> FilePlan | str:
        """How `source` is tested, or the reason no test is asked for. Only the last plan
        is kept (asked twice in a row: skip_reason, then user_message), so memory stays
        flat however many files a run holds."""
        if self._last is None or self._last[0] is not source:
            self._last = (source, self._plan(source))
        return self._last[1]

    def plan_of(self, path: str) -> FilePlan | str:
        """`plan`, for a file known by its path only (read from the checkout)."""
        try:
            with (self.repository.workdir / path).open(encoding="utf-8", errors="replace") as f:
                text = f.read(_SOURCE_PROBE)
        except OSError:
            text = ""
        return self._plan(SourceFile(path, "", text))

    def _plan(self, source: SourceFile) -> FilePlan | str:
        language = language_of(source.path, source.text)
        framework = self.detector.for_file(source.path, language)
        if isinstance(framework, NoFramework):
            return PREFIX + framework.reason
        assert language is not None
        target = target_for(source.path, source.text, framework, self.job.output_dir, self._taken)
        if isinstance(target, Unplaceable):
            return PREFIX + target.reason
        example = self._examples.nearest(framework.family, source.path, framework.root)
        fixtures = ""
        if framework.name == "pytest":
            fixtures = fixtures_block(self._conftests.applying_at(target.repo_path))
        return FilePlan(language, framework, target, example, fixtures)

    def verify_shown(self, plan: FilePlan) -> str | None:
        """How the test will be run, as the prompt says it (None: it will not be run)."""
        command = self.job.verify_command
        if command is None:
            if plan.framework.assumed:
                return None
            return default_verify(plan.framework, plan.target.repo_path).shown()
        return command.replace("{path}", plan.target.repo_path) if command else None

    def block(self, plan: FilePlan) -> str:
        """The lines of the request about how the file is tested."""
        fw, target = plan.framework, plan.target
        where = f"{target.relative}` ({target.repo_path} in the repository)"
        lines = [
            f"Language: {display(plan.language)}. Test framework: {fw.name} ({fw.evidence}).",
            f"Write the test with target_path `{where}"
            + (f": {target.note}." if target.note else "."),
        ]
        shown = self.verify_shown(plan)
        if shown:
            lines.append(f"It will be run from the repository root with: {shown}")
        if plan.example is not None:
            cut = " (cut)" if plan.example.truncated else ""
            lines += [
                "The repository's existing test nearest this file, to imitate:",
                f'<example path="{plan.example.path}"{cut}>\n{plan.example.text}\n</example>',
            ]
        if plan.fixtures:
            lines += [
                f"pytest fixtures from the conftest.py files that apply at {target.repo_path}"
                " (a test asks for one by naming it as an argument):",
                f"<fixtures>\n{plan.fixtures}\n</fixtures>",
            ]
        return "\n".join(lines)

    def _taken(self, path: str) -> bool:
        """Whether a person's file holds `path` (a file this tool generated may be
        replaced: the path policy lets a later run overwrite it)."""
        return path in self.detector.paths and not carries_marker(self.repository.workdir / path)

    def _size_of(self, path: str) -> int:
        try:
            return os.stat(Path(self.repository.workdir, path)).st_size
        except OSError:
            return 0
