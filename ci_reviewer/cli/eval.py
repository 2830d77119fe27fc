"""`ci-reviewer eval`: review quality on golden-comment datasets.

This module parses, builds the GitHub and Anthropic clients once, calls
`ci_reviewer.evaluation.run.run_eval` (or `compare`, or a re-judge) and formats; progress
goes to stderr, the table (or the JSON results) to stdout.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import click

from ci_reviewer.cli.context import (
    Settings,
    common_options,
    diagnostic,
    emit,
    format_option,
    output_option,
    review_client,
    settings,
)
from ci_reviewer.config import DEFAULT_MODEL
from ci_reviewer.errors import InputError, UsageError

DEFAULT_RESULTS = "eval-results.json"
_DOWNLOAD_TIMEOUT_S = 300


@click.command(name="eval")
@common_options
@click.argument("datasets", nargs=-1)
@click.option(
    "--results",
    "results_path",
    type=click.Path(dir_okay=False),
    default=DEFAULT_RESULTS,
    show_default=True,
    help="The results file: written after each PR; a PR already in it is not reviewed again.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where fetched PRs are checked out (default ~/.cache/ci-reviewer/eval).",
)
@click.option("--judge-model", default=DEFAULT_MODEL, show_default=True, help="The judge's model.")
@click.option(
    "--judge-api",
    type=click.Choice(["sync", "batch"]),
    default="sync",
    show_default=True,
    help="batch: the judge's requests go through the Message Batches API at half price.",
)
@click.option(
    "--judge-timeout",
    type=click.FloatRange(min=0),
    default=3600.0,
    show_default=True,
    help="With --judge-api batch: seconds to wait for the batch before stopping (it is "
    "collected by the next run).",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="With --judge-api batch: seconds between polls of the batch.",
)
@click.option(
    "--rejudge",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Judge the reviews saved in this results file again (no review is sent); the "
    "new judgement goes to --results.",
)
@click.option(
    "--compare",
    "compare_paths",
    nargs=2,
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Show two results files side by side (A B), with the differences; sends nothing.",
)
@format_option("markdown", "json", default="markdown")
@output_option
@click.pass_context
def eval_command(
    ctx: click.Context,
    *,
    datasets: tuple[str, ...],
    results_path: str,
    cache_dir: str | None,
    judge_model: str,
    judge_api: str,
    judge_timeout: float,
    poll_interval: float,
    rejudge: str | None,
    compare_paths: tuple[str, str] | None,
    output_format: str,
    output_file: str | None,
) -> int:
    """Measure review quality on golden-comment datasets: precision, recall, F1, cost, time."""
    run = settings(ctx)
    if compare_paths:
        return _compare(run, compare_paths, output_format, output_file)
    if not datasets and not rejudge:
        raise UsageError(
            "name a dataset (a file, a directory of *.json files, or a URL), or --rejudge FILE",
            hint="e.g. ci-reviewer eval golden_comments/ --results run-a.json",
        )
    path = Path(results_path)
    with _claude_client(run) as claude:
        judge = _judge(claude, judge_model, judge_api, judge_timeout, poll_interval)
        if rejudge:
            results = _rejudge(run, Path(rejudge), path, judge)
        else:
            results = _evaluate(run, datasets, path, (claude, judge), cache_dir)
    diagnostic(f"ci-reviewer: results in {path}", run.redact)
    return _emit(run, results, output_format, output_file)


def _evaluate(
    run: Settings,
    datasets: tuple[str, ...],
    path: Path,
    clients: tuple[Any, Any],
    cache_dir: str | None,
) -> Any:
    """Fetch, review and judge every entry; `clients` are the Anthropic client and judge."""
    from ci_reviewer.cli.model_setting import check_before_sending, model_setting, review_choice
    from ci_reviewer.evaluation import results as store
    from ci_reviewer.evaluation.dataset import load_datasets
    from ci_reviewer.evaluation.fetch import fetch_pull
    from ci_reviewer.evaluation.judge import judge_prompt
    from ci_reviewer.evaluation.reviewing import review_checkout
    from ci_reviewer.evaluation.run import Steps, run_eval
    from ci_reviewer.github.client import make_github
    from ci_reviewer.github.review_source import github_settings

    claude, judge = clients
    entries = load_datasets(datasets, _dataset_download)
    choice = review_choice(run)
    check_before_sending(run, choice)
    identity = store.RunIdentity(
        choice.model, _config_digest(run), judge.model, judge_prompt().version
    )
    results = store.resumable(path, identity, "batch" if judge.batches else "sync")
    cache = Path(cache_dir) if cache_dir else _default_cache()
    gh = make_github(github_settings(run.environ))
    steps = Steps(
        fetch=lambda pull: fetch_pull(gh, pull, cache, _download),
        review=lambda checkout: review_checkout(claude, checkout, run.config, choice.model),
        progress=lambda line: diagnostic(line, run.redact),
    )
    try:
        with model_setting(run, choice):
            return run_eval(entries, results, path, steps, judge)
    finally:
        gh.close()


def _rejudge(run: Settings, source: Path, path: Path, judge: Any) -> Any:
    from dataclasses import replace

    from ci_reviewer.evaluation import results as store
    from ci_reviewer.evaluation.judge import judge_prompt
    from ci_reviewer.evaluation.run import judge_pending

    earlier = store.load(source)
    identity = replace(
        earlier.identity, judge_model=judge.model, judge_prompt_version=judge_prompt().version
    )
    results = store.RunResults(
        identity,
        {url: record.unjudged() for url, record in earlier.records.items()},
        "batch" if judge.batches else "sync",
    )
    judge_pending(results, path, judge, lambda line: diagnostic(line, run.redact))
    return results


def _compare(
    run: Settings, paths: tuple[str, str], output_format: str, output_file: str | None
) -> int:
    import json

    from ci_reviewer.evaluation import results as store
    from ci_reviewer.evaluation.compare import compare

    a, b = (store.load(Path(p)) for p in paths)
    if output_format == "json":
        text = json.dumps({"a": a.to_json()["totals"], "b": b.to_json()["totals"]}, indent=2)
    else:
        text = compare(a, b, paths[0], paths[1])
    emit(text, run.redact, output_file)
    return 0


def _emit(run: Settings, results: Any, output_format: str, output_file: str | None) -> int:
    import json

    from ci_reviewer.evaluation.render import markdown

    text = json.dumps(results.to_json(), indent=2) if output_format == "json" else markdown(results)
    emit(text, run.redact, output_file)
    return 0


def _judge(claude: Any, model: str, api: str, timeout_s: float, poll_s: float) -> Any:
    from ci_reviewer.batch.api import BatchesAPI
    from ci_reviewer.evaluation.run import Judge

    batches = BatchesAPI(claude) if api == "batch" else None
    return Judge(model, claude, batches, timeout_s, poll_s)


def _claude_client(run: Settings) -> Any:
    api_key = run.environ.get("ANTHROPIC_API_KEY") or run.environ.get("ANTHROPIC_AUTH_TOKEN")
    if not api_key:
        raise UsageError(
            "ANTHROPIC_API_KEY is not set", hint="export it: the reviews and the judge need it"
        )
    return review_client(run, api_key)


def _config_digest(run: Settings) -> str:
    """The effective config (the file's values over the defaults), as a digest."""
    text = run.config.model_dump_json()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ci-reviewer" / "eval"


def _dataset_download(url: str) -> bytes:
    """A dataset named by URL; a failure to get it is bad input (exit 2), naming the URL."""
    import requests

    try:
        return _download(url)
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else "no"
        raise InputError(
            f"{url}: the dataset could not be downloaded (HTTP {status})",
            hint="check the URL (a raw file, e.g. raw.githubusercontent.com/...), or pass a "
            "downloaded file",
        ) from None
    except requests.RequestException as error:
        raise InputError(
            f"{url}: the dataset could not be downloaded ({type(error).__name__})",
            hint="check the URL and the network, or pass a downloaded file",
        ) from None


def _download(url: str) -> bytes:
    """GET `url` (a dataset, or an archive GitHub pointed to), following redirects. No
    credentials are sent: a private repository's archive link carries its own token."""
    import requests

    response = requests.get(url, timeout=_DOWNLOAD_TIMEOUT_S)
    response.raise_for_status()
    return response.content
