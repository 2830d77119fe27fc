"""`ci-reviewer eval` end to end: the real CLI, PyGithub against the GitHub emulator (three
repositories), the anthropic SDK against the Claude emulator; every figure below is worked
out by hand from the scripted findings and judgements:

- alpha (2 golden): findings c1 add (matches g1), c2 invented: TP 1, FP 1, miss 1;
  precision 1/2, recall 1/2, F1 1/2.
- beta (2 golden): c1 loop (matches g1): TP 1, FP 0, miss 1; precision 1, recall 1/2,
  F1 2/3.
- gamma (clean): c1 remark: FP 1; no recall; no judge call (nothing to match).
- missing: 404, reported and skipped; an issue's URL: skipped (it names no PR).
- total: 4 golden, 4 candidates, 2 found, 2 matching: precision 1/2, recall 1/2, F1 1/2.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ci_reviewer.cli import cli
from ci_reviewer.cli.errors import run_guarded
from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.claude_batches import BatchPolicy
from ci_reviewer.emulators.claude_replies import Reply
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.pricing import Usage, price_table
from tests.evaluation.conftest import (
    dataset,
    is_judge,
    judging,
    script_judge,
    script_reviews,
)


def run_cli(*args: str) -> int:
    return run_guarded(lambda: cli.main(args=list(args), standalone_mode=False))


def eval_run(tmp_path: Path, results: Path, *extra: str) -> int:
    data = dataset(tmp_path / "golden.json")
    cache = tmp_path / "cache"
    return run_cli("eval", str(data), "--results", str(results), "--cache-dir", str(cache), *extra)


def by_url(document: dict) -> dict:
    """Records by repository name (the issue's URL by "issues")."""
    return {
        pr["url"].rsplit("/", 3)[1] if "/pull/" in pr["url"] else "issues": pr
        for pr in document["prs"]
    }


def test_figures_are_exact_and_the_missing_pr_is_skipped(
    claude: ClaudeEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script_reviews(claude)
    script_judge(claude)
    results = tmp_path / "a.json"

    code = eval_run(tmp_path, results)

    out = capsys.readouterr()
    assert code == 0
    document = json.loads(results.read_text())
    prs = by_url(document)
    alpha, beta, gamma = prs["alpha"]["metrics"], prs["beta"]["metrics"], prs["gamma"]["metrics"]
    assert (alpha["true_positives"], alpha["false_positives"], alpha["misses"]) == (1, 1, 1)
    assert (alpha["precision"], alpha["recall"], alpha["f1"]) == (0.5, 0.5, 0.5)
    assert (beta["true_positives"], beta["false_positives"], beta["misses"]) == (1, 0, 1)
    assert (beta["precision"], beta["recall"]) == (1.0, 0.5)
    assert beta["f1"] == pytest.approx(2 / 3)
    assert (gamma["false_positives"], gamma["precision"], gamma["recall"]) == (1, 0.0, None)
    totals = document["totals"]
    assert (totals["goldens"], totals["candidates"], totals["true_positives"]) == (4, 4, 2)
    assert (totals["precision"], totals["recall"], totals["f1"]) == (0.5, 0.5, 0.5)
    assert prs["missing"]["status"] == "skipped"
    assert "404" in prs["missing"]["reason"]
    assert "octo/missing#9: not found" in out.err
    assert prs["issues"]["reason"] == "the URL names no GitHub pull request"
    assert totals["prs_skipped"] == 2
    # Two judge calls (alpha, beta); the clean PR needed none.
    judge_calls = [call for call in claude.requests if is_judge(call.body)]
    assert len(judge_calls) == 2
    # The table's total row, as a reader sees it.
    assert "| **total** | 4 | 4 | 2 | 2 | 2 | 0.500 | 0.500 | 0.500 |" in out.out
    # Every judgement is auditable: the pair, the reason, the judge and its prompt version.
    assert prs["alpha"]["matches"] == [
        {"golden": "g1", "candidate": "c1", "reason": "same wrong operator"}
    ]
    assert prs["alpha"]["judge"]["prompt_version"] == "judge-1"
    # Judge cost apart from review cost, each priced from its usage at list price.
    usage = Usage.from_api(judge_calls[0].response["usage"])
    alpha_judge = price_table().cost("claude-sonnet-5-5", usage)
    assert prs["alpha"]["judge"]["cost_usd"] == pytest.approx(alpha_judge)


def test_a_second_run_reviews_and_judges_nothing_again(
    claude: ClaudeEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script_reviews(claude)
    script_judge(claude)
    results = tmp_path / "a.json"
    assert eval_run(tmp_path, results) == 0
    first = json.loads(results.read_text())
    claude.requests.clear()

    assert eval_run(tmp_path, results) == 0

    assert claude.requests == []  # not one review or judge call paid for twice
    again = json.loads(results.read_text())
    assert again["totals"] == first["totals"]
    assert "reviewed in an earlier run, not reviewed again" in capsys.readouterr().err


def test_batch_judge_costs_half_and_compare_shows_both_runs(
    claude: ClaudeEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script_reviews(claude)
    script_judge(claude)
    run_a = tmp_path / "a.json"
    assert eval_run(tmp_path, run_a) == 0
    claude.reset()
    # Run B finds the div bug too: alpha 3 candidates, 2 found; total 4 golden, 5
    # candidates, 3 found, 3 matching: precision 3/5, recall 3/4, F1 2/3.
    script_reviews(claude, alpha_finds_div=True)
    script_judge(claude, alpha_div=True)
    run_b = tmp_path / "b.json"

    code = eval_run(tmp_path, run_b, "--judge-api", "batch", "--poll-interval", "0")

    assert code == 0
    assert [call for call in claude.requests if is_judge(call.body)] == []
    assert len(claude.batches.all_newest_first()) == 1
    b = json.loads(run_b.read_text())
    assert (b["totals"]["precision"], b["totals"]["recall"]) == (0.6, 0.75)
    assert b["totals"]["f1"] == pytest.approx(2 / 3)
    beta_a = by_url(json.loads(run_a.read_text()))["beta"]["judge"]
    beta_b = by_url(b)["beta"]["judge"]
    assert beta_b["api"] == "batch"
    assert beta_b["cost_usd"] == pytest.approx(beta_a["cost_usd"] / 2)  # the 50% discount
    capsys.readouterr()

    assert run_cli("eval", "--compare", str(run_a), str(run_b)) == 0

    table = capsys.readouterr().out
    total = next(line for line in table.splitlines() if line.startswith("| **total**"))
    cells = [cell.strip() for cell in total.strip("|").split("|")]
    assert cells[1:8] == ["0.500", "0.500", "0.500", "0.600", "0.750", "0.667", "+0.167"]
    # Review costs over the three PRs both runs judged, and B's extra finding's price.
    cost_a, cost_b = (
        sum(pr["review"]["cost_usd"] for pr in json.loads(run.read_text())["prs"]
            if pr["status"] == "judged")
        for run in (run_a, run_b)
    )  # fmt: skip
    assert cost_b > cost_a
    assert cells[8:11] == [f"{cost_a:.4f}", f"{cost_b:.4f}", f"{cost_b - cost_a:+.4f}"]


def test_a_bad_dataset_names_its_file_and_line(
    claude: ClaudeEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "bad.json"
    data.write_text(
        '[\n  {"pr_title": "ok", "url": "https://github.com/o/r/pull/1",\n'
        '   "comments": []},\n  {"pr_title": "no url", "comments": []}\n]\n'
    )

    code = run_cli("eval", str(data), "--results", str(tmp_path / "r.json"))

    assert code == 2
    assert f'{data}:4: the entry has no "url"' in capsys.readouterr().err
    assert claude.requests == []


def test_rejudge_judges_saved_reviews_again_without_reviewing(
    claude: ClaudeEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script_reviews(claude)
    script_judge(claude)
    run_a = tmp_path / "a.json"
    assert eval_run(tmp_path, run_a) == 0
    claude.reset()
    # A stricter judge matches nothing: 4 golden, 4 candidates, none found.
    claude.enqueue(Reply.json({"matches": []}), judging("Add div"))
    claude.enqueue(Reply.json({"matches": []}), judging("Loop total"))
    run_c = tmp_path / "c.json"

    code = run_cli("eval", "--rejudge", str(run_a), "--results", str(run_c))

    assert code == 0
    assert all(is_judge(call.body) for call in claude.requests)
    assert len(claude.requests) == 2
    totals = json.loads(run_c.read_text())["totals"]
    assert (totals["true_positives"], totals["false_positives"], totals["misses"]) == (0, 4, 4)
    assert (totals["precision"], totals["recall"], totals["f1"]) == (0.0, 0.0, 0.0)


def test_a_batch_still_running_is_collected_by_the_next_run_not_sent_again(
    claude: ClaudeEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script_reviews(claude)
    script_judge(claude)
    claude.batch_policy = BatchPolicy.until_expired()
    results = tmp_path / "a.json"
    batch_flags = ("--judge-api", "batch", "--poll-interval", "0")

    code = eval_run(tmp_path, results, *batch_flags, "--judge-timeout", "0")

    assert code == 3
    assert "had not ended" in capsys.readouterr().err
    saved = json.loads(results.read_text())
    (batch,) = claude.batches.all_newest_first()
    assert saved["pending_judge_batch"] == batch.id
    assert saved["totals"]["prs_awaiting_judge"] == 2
    claude.end_batch(batch.id)
    claude.requests.clear()

    assert eval_run(tmp_path, results, *batch_flags) == 0

    assert claude.requests == []  # no review again
    assert len(claude.batches.all_newest_first()) == 1  # and no second batch
    totals = json.loads(results.read_text())["totals"]
    assert (totals["precision"], totals["recall"], totals["f1"]) == (0.5, 0.5, 0.5)
    assert json.loads(results.read_text())["pending_judge_batch"] is None


def test_a_judge_model_the_api_does_not_serve_names_the_judge_option(
    claude: ClaudeEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script_reviews(claude)
    results = tmp_path / "a.json"

    code = eval_run(tmp_path, results, "--judge-model", "claude-nonesuch-1")

    assert code == 2
    err = capsys.readouterr().err
    assert "--judge-model claude-nonesuch-1" in err
    assert json.loads(results.read_text())["totals"]["prs_awaiting_judge"] == 2
    # The reviews were paid for and saved: the run with a served judge does not redo them.
    script_judge(claude)
    claude.requests.clear()

    assert eval_run(tmp_path, results) == 0

    assert all(is_judge(call.body) for call in claude.requests)
    assert json.loads(results.read_text())["totals"]["f1"] == 0.5


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain web server over a folder, as raw.githubusercontent.com serves files."""
    folder = tmp_path / "web"
    folder.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def test_a_dataset_url_is_read_and_a_missing_one_is_exit_2(
    claude: ClaudeEmulator,
    tmp_path: Path,
    web: tuple[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, folder = web
    dataset(folder / "golden.json")
    script_reviews(claude)
    script_judge(claude)
    results = tmp_path / "a.json"

    code = run_cli("eval", f"{base}/golden.json", "--results", str(results))

    assert code == 0
    assert json.loads(results.read_text())["totals"]["f1"] == 0.5
    capsys.readouterr()

    code = run_cli("eval", f"{base}/absent.json", "--results", str(tmp_path / "b.json"))

    assert code == 2
    assert f"{base}/absent.json: the dataset could not be downloaded (HTTP 404)" in (
        capsys.readouterr().err
    )


def test_a_refused_judgement_waits_and_only_that_pr_is_judged_next_time(
    claude: ClaudeEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script_reviews(claude)
    claude.enqueue(Reply.stop("refusal"), judging("Add div"))
    claude.enqueue(Reply.json({"matches": [{"golden": "g1", "candidate": "c1", "reason": "r"}]}),
                   judging("Loop total"))  # fmt: skip
    results = tmp_path / "a.json"

    assert eval_run(tmp_path, results) == 0

    first = json.loads(results.read_text())
    alpha = by_url(first)["alpha"]
    assert (alpha["status"], alpha["judge"]["error"]) == (
        "awaiting-judge",
        "the judge stopped with refusal",
    )
    assert "awaiting the judge: https://github.com/octo/alpha/pull/1" in capsys.readouterr().out
    claude.requests.clear()
    script_judge(claude)

    assert eval_run(tmp_path, results) == 0

    asked = [call.body["messages"][0]["content"] for call in claude.requests]
    assert len(asked) == 1 and '"pull_request": "Add div"' in asked[0]
    assert json.loads(results.read_text())["totals"]["f1"] == 0.5


def test_a_new_run_reuses_the_cached_checkouts(
    claude: ClaudeEmulator, github_emu: GitHubEmulator, tmp_path: Path
) -> None:
    script_reviews(claude)
    script_judge(claude)
    assert eval_run(tmp_path, tmp_path / "a.json") == 0
    archives = [r.path for r in github_emu.log if "/tarball/" in r.path]
    assert len(archives) == 6  # fork point and head of each of the three PRs
    github_emu.log.clear()
    script_reviews(claude)
    script_judge(claude)

    assert eval_run(tmp_path, tmp_path / "b.json") == 0

    assert [r.path for r in github_emu.log if "/tarball/" in r.path] == []
    assert json.loads((tmp_path / "b.json").read_text())["totals"]["f1"] == 0.5
