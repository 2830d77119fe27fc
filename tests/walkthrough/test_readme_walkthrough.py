"""The README's walkthrough of the offline trial does what the README says: the review posts
its finding on pull request #1, quoting the code it is about, and drops the finding about code
that is not there; a second commit fixes the finding, and the re-review resolves its thread
and says so in the summary; a reply that mentions the reviewer gets one answer in that
thread (and its dry run wrote the request without posting); the three batch jobs' batches
stay in progress until the emulated clock moves an hour; then each job publishes: a pull
request of tests that pass, an issue with the audit's finding on the demo's command
injection, an issue with the report."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import urllib.request
from io import BytesIO
from pathlib import Path

import github

from tests.walkthrough.conftest import Walkthrough

# The demo's src/lines.py: docstring, blank, import, two blanks, def, then the shell call.
INJECTION_LINE = 7
# The demo's src/stats.py on `feature`: `return open(path).read()` is its 11th line, and
# `return sum(values)` in total() its 15th, where the invented finding points.
LEAK_LINE = 11
TOTAL_LINE = 15
INVENTED = "Query built from a path by string formatting"
QUESTION = "Does this leak on CPython too? @ci-reviewer"
BOT = "github-actions[bot]"


def _client(walkthrough: Walkthrough) -> github.Github:
    return github.Github(
        base_url=walkthrough.exports["GITHUB_API_URL"],
        auth=github.Auth.Token(walkthrough.exports["GITHUB_TOKEN"]),
    )


def _steps(walkthrough: Walkthrough) -> tuple[str, str, str]:
    """The output of the first review, of the fix and re-review, and of the mention."""
    out = walkthrough.output
    second = out.index("fixed since the last review")
    first, rest = out[:second], out[second:]
    mention = rest.index("dry run: nothing sent")
    return first, rest[:mention], rest[mention:]


def test_the_review_posts_its_finding_with_the_code_it_quotes(walkthrough: Walkthrough) -> None:
    first, _, _ = _steps(walkthrough)
    header = f"src/stats.py:{LEAK_LINE} resource-leak: File handle is never closed"
    assert header in first
    after = first[first.index(header) :].splitlines()
    assert after[1] == "    > return open(path).read()"
    assert "review: http://127.0.0.1:" in first


def test_the_invented_finding_is_dropped_and_counted(walkthrough: Walkthrough) -> None:
    first, _, _ = _steps(walkthrough)
    assert "Dropped, the code they quote not being in the file (1):" in first
    assert f"  src/stats.py:{TOTAL_LINE} {INVENTED}: the code it quotes is not in" in first
    assert "ci-reviewer: 1 finding in 1 file (highest: medium)" in first  # not high: not blocking
    gh = _client(walkthrough)
    try:
        pull = gh.get_repo(walkthrough.exports["GITHUB_REPOSITORY"]).get_pull(1)
        inline = [c.body for c in pull.get_review_comments() if c.user.login == BOT]
        summaries = [c.body for c in pull.get_issue_comments() if c.user.login == BOT]
    finally:
        gh.close()
    assert not [body for body in inline if INVENTED in body]
    (summary,) = summaries
    assert "1 finding dropped: the code" in summary


def test_the_second_commit_resolves_the_fixed_findings_thread(walkthrough: Walkthrough) -> None:
    _, again, _ = _steps(walkthrough)
    assert (
        "fixed since the last review: 🟡 medium · resource-leak: File handle is never closed "
        "in src/stats.py; its thread is resolved"
    ) in again
    assert "ci-reviewer: 0 findings in 1 file" in again
    gh = _client(walkthrough)
    try:
        repo = gh.get_repo(walkthrough.exports["GITHUB_REPOSITORY"])
        pull = repo.get_pull(1)
        head = pull.head.sha
        (finding,) = [c for c in pull.get_review_comments() if c.in_reply_to_id is None]
        (summary,) = [c.body for c in pull.get_issue_comments() if c.user.login == BOT]
        owner, name = repo.full_name.split("/")
        _, data = pull.requester.graphql_query(
            "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) "
            "{ pullRequest(number: 1) { reviewThreads(first: 10) { nodes { isResolved "
            "comments(first: 10) { nodes { databaseId } } } } } } }",
            {"owner": owner, "name": name},
        )
    finally:
        gh.close()
    threads = data["data"]["repository"]["pullRequest"]["reviewThreads"]["nodes"]
    (thread,) = threads
    assert thread["isResolved"] is True
    assert thread["comments"]["nodes"][0]["databaseId"] == finding.id
    assert finding.commit_id != head  # written on the first commit; the fix is the head
    assert "**Fixed since the last review (1):**" in summary
    assert f"File handle is never closed]({finding.html_url}) in `src/stats.py`" in summary


def test_a_mention_in_the_thread_gets_one_answer_there(walkthrough: Walkthrough) -> None:
    _, _, mention = _steps(walkthrough)
    gh = _client(walkthrough)
    try:
        pull = gh.get_repo(walkthrough.exports["GITHUB_REPOSITORY"]).get_pull(1)
        comments = list(pull.get_review_comments())
    finally:
        gh.close()
    (finding,) = [c for c in comments if c.in_reply_to_id is None]
    replies = [
        (c.user.login, c.body, c.html_url) for c in comments if c.in_reply_to_id == finding.id
    ]
    assert [login for login, _, _ in replies] == ["octocat", BOT]
    (question_id,) = [c.id for c in comments if c.user.login == "octocat"]
    assert replies[0][1] == QUESTION
    assert replies[1][1].startswith("CPython closes the file when its last reference goes")
    assert f"<!-- ci-reviewer:answer:{question_id} -->" in replies[1][1]
    assert f"answer: {replies[1][2]}" in mention.splitlines()


def test_the_dry_run_wrote_the_request_and_posted_nothing(walkthrough: Walkthrough) -> None:
    _, _, mention = _steps(walkthrough)
    lines = mention.splitlines()
    assert lines[0].startswith("dry run: nothing sent, nothing posted. comment ")
    assert " by @octocat would be answered with " in lines[0]
    assert "input tokens, counted by count_tokens; estimated $" in lines[1]
    written = Path(lines[2].removeprefix("request (one JSON line, its first turn): "))
    (request,) = [json.loads(line) for line in written.read_text().splitlines()]
    prompt = request["messages"][0]["content"][0]["text"]
    assert QUESTION in prompt and "File handle is never closed" in prompt
    # Nothing posted by the dry run: had it answered, the real run after it would have found
    # its answer and posted none ("answered before"), where it printed one.
    assert [line for line in lines if line.startswith("answer: http")]
    assert "was answered before" not in mention


def test_the_page_shows_the_resolved_thread_and_the_answer(walkthrough: Walkthrough) -> None:
    url = walkthrough.exports["GITHUB_API_URL"] + "/_emulator/"
    with urllib.request.urlopen(url, timeout=30) as answer:
        page = answer.read().decode()
    thread = page[page.index('class="box thread outdated"') :]
    thread = thread[: thread.index("</div>\n")]
    assert f"resolved by {BOT}" in thread
    assert thread.index("File handle is never closed") < thread.index("CPython too?")
    assert thread.index("CPython too?") < thread.index("CPython closes the file")


def test_batches_wait_for_the_clock_then_every_job_publishes(walkthrough: Walkthrough) -> None:
    out = walkthrough.output
    status = out[out.index("weekly-audit: 1 pending batch(es)") :]
    assert "in_progress" in status.splitlines()[2]
    collected = out[out.index('"now"') :]
    assert "pull request #2 opened: 2 test file(s), 0 refused" in collected
    assert "issue #3 opened: 1 new finding(s)" in collected
    assert "issue #4 opened" in collected


def test_what_was_published(walkthrough: Walkthrough) -> None:
    gh = github.Github(
        base_url=walkthrough.exports["GITHUB_API_URL"],
        auth=github.Auth.Token(walkthrough.exports["GITHUB_TOKEN"]),
    )
    try:
        repo = gh.get_repo(walkthrough.exports["GITHUB_REPOSITORY"])
        tests_pull = repo.get_pull(2)
        files = sorted((f.filename, f.status) for f in tests_pull.get_files())
        audit, report = repo.get_issue(3), repo.get_issue(4)
    finally:
        gh.close()
    assert files == [
        ("tests/generated/test_lines.py", "added"),
        ("tests/generated/test_stats.py", "added"),
    ]
    assert [label.name for label in audit.labels] == ["weekly-audit"]
    assert f"`src/lines.py:{INJECTION_LINE}` (CWE-78, high confidence)" in audit.body
    assert [label.name for label in report.labels] == ["overnight-report"]
    assert "Defines `count_lines()`." in report.body
    assert "Defines `average()`." in report.body
    _assert_generated_tests_pass(walkthrough.demo, tests_pull.head.ref)


def _assert_generated_tests_pass(demo: Path, branch: str) -> None:
    """The branch the job pushed, checked out apart, passes its own tests under pytest."""
    archive = subprocess.run(
        ["git", "-C", str(demo), "archive", "--format=tar", branch],
        capture_output=True,
        check=True,
    ).stdout
    checkout = demo.parent / "generated-tests-checkout"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(checkout, filter="data")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/generated"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
