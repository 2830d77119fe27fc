"""`ci-reviewer batch ...`: scheduled work on the Message Batches API (or, for a job with
`api: sync`, the same work on the synchronous Messages API, published in the same run).

This module builds the collaborators (Claude client, state store, clock, checkpoint,
progress) from options and the environment, calls the pipeline and prints its records. The
SDKs are imported inside functions so that `--help` stays fast.

Testing aid: CI_REVIEWER_KILL_AT=<checkpoint> SIGKILLs the process at that named point
(collected, intent-recorded, batch-created, state-saved, publishing), to prove crash safety.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ci_reviewer.cli.context import (
    Settings,
    common_options,
    diagnostic,
    emit,
    format_option,
    output_option,
    settings,
)
from ci_reviewer.errors import UsageError

if TYPE_CHECKING:
    from ci_reviewer.batch.job_run import JobRun
    from ci_reviewer.batch.state import StateStore

F = TypeVar("F", bound=Callable[..., Any])


def job_options(func: F) -> F:
    func = click.option(
        "--state-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Keep state in this directory instead of on GitHub (branch ci-reviewer-state).",
    )(func)
    func = click.option("--job", "job_name", required=True, help="A job from the config.")(func)
    return common_options(func)


@click.group()
def batch() -> None:
    """Scheduled work on the Message Batches API (half price, results within 24 h).

    A job with `api: sync` sends the same requests to the synchronous Messages API at full
    price and publishes in the same run."""


@batch.command("submit")
@job_options
@click.option("--dry-run", is_flag=True, help="Write the requests as JSONL; send nothing.")
@click.option(
    "--requests-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where --dry-run writes the requests (default ci-reviewer-<job>-requests.jsonl).",
)
@format_option("text", "json")
@output_option
@click.pass_context
def submit_command(
    ctx: click.Context,
    *,
    job_name: str,
    state_dir: str | None,
    dry_run: bool,
    requests_file: str | None,
    output_format: str,
    output_file: str | None,
) -> int:
    """Collect the job's files, build and submit batch(es)."""
    from ci_reviewer.batch.format import dumps, submit_json, submit_text
    from ci_reviewer.batch.submit import submit

    run = settings(ctx)
    with job_run(run, job_name, state_dir, need_store=not dry_run) as job:
        if dry_run:
            target = Path(requests_file or f"ci-reviewer-{job_name}-requests.jsonl")
            with _open_for_requests(target) as sink:
                result = submit(job, dry_run_to=sink)
            diagnostic(f"dry run: requests written to {target}; nothing sent", run.redact)
            collected = None
        elif job.job.api == "sync":
            from ci_reviewer.batch.pipeline import submit_now

            # Answered at once, held only by this process: collected (and published) now.
            both = submit_now(job)
            result, collected = both.submitted, both.collected
            _annotate(run, collected)
        else:
            result, collected = submit(job), None
    text = dumps(submit_json(result)) if output_format == "json" else submit_text(result)
    emit(text, run.redact, output_file)
    _step_report(run, collected=collected, submitted=result)
    return 0


@batch.command("collect")
@job_options
@format_option("text", "markdown", "json", "sarif")
@output_option
@click.pass_context
def collect_command(
    ctx: click.Context,
    *,
    job_name: str,
    state_dir: str | None,
    output_format: str,
    output_file: str | None,
) -> int:
    """Poll pending batches; when ended, hand results to the job and requeue failures."""
    from ci_reviewer.batch.results import collect

    run = settings(ctx)
    with job_run(run, job_name, state_dir) as job:
        result = collect(job)
    _emit_collect(run, result, output_format, output_file, job.job.kind)
    _step_report(run, collected=result)
    return 0


@batch.command("run")
@job_options
@click.option("--dry-run", is_flag=True, help="Only show what would be submitted.")
@format_option("text", "markdown", "json")
@output_option
@click.pass_context
def run_command(
    ctx: click.Context,
    *,
    job_name: str,
    state_dir: str | None,
    dry_run: bool,
    output_format: str,
    output_file: str | None,
) -> int:
    """Collect, then submit: what a scheduled workflow calls every time."""
    if dry_run:
        code: int = ctx.invoke(
            submit_command,
            job_name=job_name,
            state_dir=state_dir,
            dry_run=True,
            requests_file=None,
            output_format="json" if output_format == "json" else "text",
            output_file=output_file,
        )
        return code
    from ci_reviewer.batch.format import dumps, submit_json, submit_text
    from ci_reviewer.batch.pipeline import run as run_pipeline

    run = settings(ctx)
    with job_run(run, job_name, state_dir) as job:
        result = run_pipeline(job)
    _annotate(run, result.collected)
    _step_report(run, collected=result.collected, submitted=result.submitted)
    if output_format == "json":
        from ci_reviewer.batch.format import collect_json

        both = {
            "collected": collect_json(result.collected),
            "submitted": submit_json(result.submitted),
        }
        emit(dumps(both), run.redact, output_file)
    else:
        from ci_reviewer.batch.format import collect_text

        text = collect_text(result.collected, output_format == "markdown")
        emit(f"{text}\n{submit_text(result.submitted)}", run.redact, output_file)
    return 0


@batch.command("status")
@job_options
@format_option("text", "json")
@output_option
@click.pass_context
def status_command(
    ctx: click.Context,
    *,
    job_name: str,
    state_dir: str | None,
    output_format: str,
    output_file: str | None,
) -> int:
    """Pending batches, their counts, age and the SLA time left."""
    from ci_reviewer.batch.format import dumps, status_json, status_text
    from ci_reviewer.batch.pipeline import status

    run = settings(ctx)
    with job_run(run, job_name, state_dir) as job:
        result = status(job)
    text = dumps(status_json(result)) if output_format == "json" else status_text(result)
    emit(text, run.redact, output_file)
    return 0


@batch.command("cancel")
@job_options
@click.pass_context
def cancel_command(ctx: click.Context, *, job_name: str, state_dir: str | None) -> int:
    """Cancel the job's pending batches (their requests are retried by the next run)."""
    from ci_reviewer.batch.pipeline import cancel

    run = settings(ctx)
    with job_run(run, job_name, state_dir) as job:
        canceled = cancel(job)
    emit("\n".join(f"canceled {b}" for b in canceled) or "no batch to cancel", run.redact)
    return 0


def _emit_collect(
    run: Settings, result: Any, output_format: str, output_file: str | None, kind: str
) -> None:
    from ci_reviewer.batch.format import collect_json, collect_sarif, collect_text, dumps

    _annotate(run, result)
    if output_format == "json":
        emit(dumps(collect_json(result)), run.redact, output_file)
    elif output_format == "sarif":
        emit(dumps(collect_sarif(result, kind)), run.redact, output_file)
    else:
        emit(collect_text(result, output_format == "markdown"), run.redact, output_file)


def _step_report(run: Settings, *, collected: Any = None, submitted: Any = None) -> None:
    """Step outputs and the job summary, when the runner provides their files."""
    from ci_reviewer.batch.format import step_outputs, step_summary
    from ci_reviewer.github.actions import ActionsEnv, append_summary, write_outputs

    env = ActionsEnv.from_environ(run.environ)
    outputs = step_outputs(collected, submitted)
    write_outputs(env.output_file, {name: run.redact(v) for name, v in outputs.items()})
    append_summary(env.summary_file, run.redact(step_summary(collected, submitted)))


def _annotate(run: Settings, result: Any) -> None:
    """Warnings to stderr, and as annotations when running in GitHub Actions."""
    from ci_reviewer.github.actions import annotation

    in_actions = run.environ.get("GITHUB_ACTIONS") == "true"
    messages = list(result.warnings)
    for age in result.pending:
        if age.at_risk:
            messages.append(
                f"batch {age.batch_id} of job {result.job} is {age.age_hours:.1f} h old; "
                f"{age.remaining_hours:.1f} h left of its {age.sla_hours:g} h SLA"
            )
    messages += [f"{f.path}: not processed ({f.reason})" for f in result.failures]
    for message in messages:
        diagnostic(f"warning: {message}", run.redact)
        if in_actions:
            click.echo(run.redact(annotation("warning", message, title="ci-reviewer batch")))


@contextmanager
def job_run(
    run: Settings, job_name: str, state_dir: str | None, *, need_store: bool = True
) -> Iterator[JobRun]:
    """The JobRun for `job_name`, with the Claude client closed afterwards."""
    from ci_reviewer.batch.api import BatchesAPI
    from ci_reviewer.batch.job_run import JobRun
    from ci_reviewer.batch.kinds import KindContext, kind_for
    from ci_reviewer.batch.state import EmptyStore
    from ci_reviewer.batch.store_dir import DirectoryStore
    from ci_reviewer.batch.sync_api import SyncBatchesAPI
    from ci_reviewer.claude import build_client, tracing_requested

    job = run.config.job(job_name)
    reports = Path(state_dir) / "reports" if state_dir else run.workdir / "ci-reviewer-reports"
    environ = run.environ
    api_key = environ.get("ANTHROPIC_API_KEY") or environ.get("ANTHROPIC_AUTH_TOKEN")
    if not api_key and need_store:
        raise UsageError(
            "ANTHROPIC_API_KEY is not set",
            hint="export it (in Actions: env: ANTHROPIC_API_KEY: ${{ secrets.ANTHROPIC_API_KEY }})"
            ", or use --dry-run",
        )
    store: StateStore
    if state_dir:
        store = DirectoryStore(Path(state_dir))
    elif need_store or (run.repo and run.environ.get("GITHUB_TOKEN")):
        store = _github_store(run)
    else:
        store = EmptyStore()  # a dry run outside CI: as if it were the job's first run
    progress = _progress() if sys.stderr.isatty() else None
    with build_client(
        api_key or "dry-run",
        environ.get("ANTHROPIC_BASE_URL") or None,
        max_retries=job.max_retries,
        timeout=job.timeout_seconds,
        tracing=tracing_requested(environ),
    ) as client:
        yield JobRun(
            name=job_name,
            job=job,
            model=run.config.model_for(run.model, job_name),
            kind=kind_for(
                KindContext(
                    name=job_name,
                    job=job,
                    workdir=run.workdir,
                    reports_dir=reports,
                    redact=run.redact,
                    repository=lambda: _open_repository(run),
                    run_id=environ.get("GITHUB_RUN_ID") or "local",
                    environ=environ,
                    sarif_path=run.workdir / f"ci-reviewer-{job_name}.sarif",
                    policy=run.config.secret_policy,
                )
            ),
            workdir=run.workdir,
            store=store,
            api=SyncBatchesAPI(client, _utc_now) if job.api == "sync" else BatchesAPI(client),
            now=_utc_now,
            checkpoint=_kill_at(environ.get("CI_REVIEWER_KILL_AT")),
            progress=progress,
            policy=run.config.secret_policy,
        )
    if progress is not None:
        click.echo("", err=True)  # end the progress line


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _github_store(run: Settings) -> StateStore:
    from ci_reviewer.batch.store_github import GitHubStore

    if not run.repo or not _token(run):
        raise UsageError(
            "batch state needs a place to live: GitHub (GITHUB_REPOSITORY and GITHUB_TOKEN) "
            "or a directory",
            hint="pass --state-dir DIR, or run in GitHub Actions with GITHUB_TOKEN set",
        )
    return GitHubStore(_open_repository(run))


def _token(run: Settings) -> str:
    return run.environ.get("GITHUB_TOKEN") or run.environ.get("GH_TOKEN") or ""


def _open_repository(run: Settings) -> Any:
    """The job's repository on GitHub, for the state store and for publishing."""
    from ci_reviewer.github.actions import ActionsEnv
    from ci_reviewer.github.client import GitHubSettings, call, make_github

    if not run.repo or not _token(run):
        raise UsageError(
            "this job publishes to GitHub, which needs GITHUB_REPOSITORY (or --repo) and "
            "GITHUB_TOKEN",
            hint="run in GitHub Actions, export both, or set `output: file` (report) / "
            "`output: sarif` (security-audit) on the job",
        )
    api_url = ActionsEnv.from_environ(run.environ).api_url
    client = make_github(GitHubSettings(api_url=api_url, token=_token(run)))
    repo_name = run.repo
    return call(f"open repository {repo_name}", lambda: client.get_repo(repo_name))


def _kill_at(point: str | None) -> Callable[[str], None]:
    def checkpoint(name: str) -> None:
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint


def _progress() -> Callable[[int, str], None]:
    def report(count: int, path: str) -> None:
        click.echo(f"\rcollecting: {count} files ({path[-40:]:<40})", err=True, nl=False)

    return report


@contextmanager
def _open_for_requests(target: Path) -> Iterator[Any]:
    try:
        handle = target.open("wb")
    except OSError as error:
        raise UsageError(f"cannot write {target}: {error.strerror}") from None
    with handle:
        yield handle
