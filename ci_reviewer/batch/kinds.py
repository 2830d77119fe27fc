"""Which BatchJobKind serves a configured `kind`, and what each needs to deliver."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ci_reviewer.batch.jobs.base import BatchJobKind
from ci_reviewer.config import JobConfig
from ci_reviewer.secret_policy import SecretPolicy
from ci_reviewer.secrets import Redactor

if TYPE_CHECKING:
    from github.Repository import Repository


@dataclass(frozen=True)
class KindContext:
    """Everything a kind may need to build its requests and deliver its results.

    `repository` opens the GitHub repository only when a kind publishes there, so a local
    run (`output: file`, `sarif`) needs no token; with `publishing` off (a dry run, which
    publishes nothing) no kind opens it at all.
    """

    name: str
    job: JobConfig
    workdir: Path
    reports_dir: Path
    redact: Redactor
    repository: Callable[[], Repository]
    run_id: str = "local"
    environ: Mapping[str, str] = field(default_factory=dict)
    sarif_path: Path | None = None
    publishing: bool = True
    policy: SecretPolicy = field(default_factory=SecretPolicy)

    def publishes_to_github(self, output: str, where: str) -> bool:
        return self.publishing and output == where


def kind_for(context: KindContext) -> BatchJobKind:
    """The kind plug-in for `context.job.kind`, wired to its publisher."""
    job = context.job
    output = job.effective_output
    if job.kind == "test-generation":
        from ci_reviewer.batch.jobs.test_generation import Delivery, TestGenerationKind
        from ci_reviewer.github.publish_pr import PullRequestPublisher

        publisher = (
            PullRequestPublisher(context.repository(), context.redact)
            if context.publishes_to_github(output, "pull-request")
            else None
        )
        delivery = Delivery(publisher, context.run_id, context.environ)
        return TestGenerationKind(context.name, job, context.workdir, delivery, context.policy)
    if job.kind == "security-audit":
        from ci_reviewer.batch.jobs.security_audit import SecurityAuditKind
        from ci_reviewer.github.publish_issue import IssuePublisher

        issues = (
            IssuePublisher(context.repository(), context.redact)
            if context.publishes_to_github(output, "issue")
            else None
        )
        return SecurityAuditKind(
            context.name, job, context.workdir, issues, context.sarif_path, policy=context.policy
        )
    from ci_reviewer.batch.jobs.report import ReportKind
    from ci_reviewer.github.publish_issue import IssuePublisher

    report_issues = (
        IssuePublisher(context.repository(), context.redact)
        if context.publishes_to_github(output, "issue")
        else None
    )
    return ReportKind(context.reports_dir, report_issues, (context.name, job))
