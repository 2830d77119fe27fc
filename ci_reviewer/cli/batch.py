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
from contextlib import ExitStack, contextmanager
from dataclasses import replace
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
from ci_reviewer.cli.model_setting import check_before_sending, job_choice, model_setting
from ci_reviewer.errors import UsageError

if TYPE_CHECKING:
    from ci_reviewer.batch.api import BatchesAPI
    from ci_reviewer.batch.job_run import JobRun
    from ci_reviewer.batch.state import StateStore
    from ci_reviewer.config import JobConfig

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
    help="Where --dry-run writes the requests (default: ci-reviewer-<job>-requests.jsonl in "
    "the runner's or the system's temporary directory, never the checkout).",
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

    run = _in_checkout(settings(ctx))
    with job_run(run, job_name, state_dir, dry_run=dry_run) as job:
        if dry_run:
            target = Path(requests_file) if requests_file else _scratch_file(run, job_name)
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

    run = _in_checkout(settings(ctx))
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

    run = _in_checkout(settings(ctx))
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
    refresh = bool(_api_key(run))  # without a key: what the state holds, as it was saved
    with job_run(run, job_name, state_dir, needs_key=refresh) as job:
        result = status(job, refresh=refresh)
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


def _in_checkout(run: Settings) -> Settings:
    """Refuse a workdir that is no git checkout before anything else (the job's name,
    credentials): run from the wrong directory, that is the one thing to fix."""
    from ci_reviewer.git import ensure_checkout

    ensure_checkout(run.workdir)
    return run


def _scratch_file(run: Settings, job_name: str) -> Path:
    """Where a dry run writes its requests unless told: outside the checkout, so a dry run
    leaves the working tree as it found it (RUNNER_TEMP in Actions, else the system's)."""
    import tempfile

    folder = run.environ.get("RUNNER_TEMP") or tempfile.gettempdir()
    return Path(folder) / f"ci-reviewer-{job_name}-requests.jsonl"


@contextmanager
def job_run(
    run: Settings,
    job_name: str,
    state_dir: str | None,
    *,
    dry_run: bool = False,
    needs_key: bool = True,
) -> Iterator[JobRun]:
    """The JobRun for `job_name`, with the Claude client closed afterwards. A dry run needs
    no credentials and no network: it reads the state where it can and publishes nothing."""
    from ci_reviewer.batch.job_run import JobRun
    from ci_reviewer.batch.kinds import KindContext, kind_for
    from ci_reviewer.batch.state import EmptyStore
    from ci_reviewer.batch.store_dir import DirectoryStore

    job = run.config.job(job_name)
    choice = job_choice(run, job_name)
    check_before_sending(run, choice)
    reports = Path(state_dir) / "reports" if state_dir else run.workdir / "ci-reviewer-reports"
    environ = run.environ
    api_key = _api_key(run)
    if not api_key and needs_key and not dry_run:
        dry = ", or use --dry-run" if click.get_current_context().command.name in _DRY else ""
        raise UsageError(
            "ANTHROPIC_API_KEY is not set",
            hint="export it (in Actions: env: ANTHROPIC_API_KEY: ${{ secrets.ANTHROPIC_API_KEY }})"
            + dry,
        )
    store: StateStore
    if state_dir:
        store = DirectoryStore(Path(state_dir))
    elif not dry_run:
        store = _github_store(run)
    else:
        store = _dry_run_store(run) or EmptyStore()  # else: as if it were the first run
    progress = _progress() if sys.stderr.isatty() else None
    with (
        _claude_client(run, job, api_key, on_demand=dry_run) as client,
        model_setting(run, choice),
    ):
        yield JobRun(
            name=job_name,
            job=job,
            model=choice.model,
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
                    publishing=not dry_run,
                    policy=run.config.secret_policy,
                )
            ),
            workdir=run.workdir,
            store=store,
            api=_batches_api(client, job.api),
            now=_utc_now,
            checkpoint=_kill_at(environ.get("CI_REVIEWER_KILL_AT")),
            progress=progress,
            policy=run.config.secret_policy,
        )
    if progress is not None:
        click.echo("", err=True)  # end the progress line


def _batches_api(client: Any, api: str) -> BatchesAPI:
    from ci_reviewer.batch.api import BatchesAPI

    if api == "sync":
        from ci_reviewer.batch.sync_api import SyncBatchesAPI

        return SyncBatchesAPI(client, _utc_now)
    return BatchesAPI(client)


@contextmanager
def _claude_client(
    run: Settings, job: JobConfig, api_key: str, *, on_demand: bool
) -> Iterator[Any]:
    """The run's Claude client, closed afterwards. `on_demand` (a dry run): made only if a
    call is made (finding an orphaned batch), so a dry run that makes none never imports
    the SDK, which takes longer to import than a small dry run takes to plan."""
    with ExitStack() as stack:

        def make() -> Any:
            from ci_reviewer.claude import build_client, tracing_requested

            return stack.enter_context(
                build_client(
                    api_key or "dry-run",
                    run.environ.get("ANTHROPIC_BASE_URL") or None,
                    max_retries=job.max_retries,
                    timeout=job.timeout_seconds,
                    tracing=tracing_requested(run.environ),
                )
            )

        yield _OnDemand(make) if on_demand else make()


class _OnDemand:
    """Stands for the object `make` returns, made on first attribute access."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            self._made = self._make()
        return getattr(self._made, name)


# The commands that have a --dry-run, which a hint may suggest.
_DRY = frozenset({"submit", "run"})


def _api_key(run: Settings) -> str:
    return run.environ.get("ANTHROPIC_API_KEY") or run.environ.get("ANTHROPIC_AUTH_TOKEN") or ""


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


def _dry_run_store(run: Settings) -> StateStore | None:
    """The job's state on GitHub, read once without retries, when credentials are there and
    GitHub answers; otherwise None (a warning says why), and the dry run goes on offline."""
    from ci_reviewer.batch.store_github import GitHubStore
    from ci_reviewer.errors import APIError

    if not run.repo or not _token(run):
        return None
    try:
        repository = _open_repository(run, retries=0)
    except APIError as error:
        diagnostic(
            f"warning: the job's state on GitHub could not be read ({error.message}); "
            "planning as if this were the job's first run",
            run.redact,
        )
        return None
    return GitHubStore(repository)


def _token(run: Settings) -> str:
    return run.environ.get("GITHUB_TOKEN") or run.environ.get("GH_TOKEN") or ""


def _open_repository(run: Settings, retries: int | None = None) -> Any:
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
    github_settings = GitHubSettings(api_url=api_url, token=_token(run))
    if retries is not None:
        github_settings = replace(github_settings, total_retries=retries)
    client = make_github(github_settings)
    repo_name = run.repo
    return call(f"open repository {repo_name}", lambda: client.get_repo(repo_name))


def _kill_at(point: str | None) -> Callable[[str], None]:
    from ci_reviewer.batch.job_run import CHECKPOINTS

    if point and point not in CHECKPOINTS:
        # A misspelt point would never kill, and a crash test would pass without crashing.
        raise UsageError(
            f"CI_REVIEWER_KILL_AT={point!r} names no checkpoint",
            hint=f"one of: {', '.join(CHECKPOINTS)}",
        )

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
