"""The emulator's page, as headless Chromium builds it: after the README's walkthrough it
shows the fixed finding's thread on the diff line it was written on, resolved, with the
question asked in it and the answer (and an inline comment at the head sits under its diff
line); the check runs (the first with its annotation), the
summary comment with what was fixed and dropped, the audit issue and the pull request of
generated tests with their files; the URLs the commands print open it; and what models and
pull-request authors wrote is shown as text, never run as markup."""

from __future__ import annotations

import subprocess
from pathlib import Path

import github
import pytest

from ci_reviewer.emulators.demo import create_repository
from ci_reviewer.emulators.github import GitHubEmulator
from tests.walkthrough.browser import Element, dump_dom, parse
from tests.walkthrough.conftest import Walkthrough

pytestmark = pytest.mark.browser

LEAK_LINE = "11"  # `return open(path).read()` in the demo's src/stats.py on `feature`


@pytest.fixture(scope="module")
def page(walkthrough: Walkthrough, chromium: str) -> Element:
    return parse(dump_dom(chromium, walkthrough.exports["GITHUB_API_URL"] + "/_emulator/"))


def test_the_fixed_findings_thread_shows_its_line_resolved_with_the_answer(
    page: Element,
) -> None:
    demo_pull = page.by_id("pull-1")
    # The fix changed the line: at the head the finding is outdated, off the diff.
    assert not demo_pull.find_all("tr", "inline-comment")
    [thread] = demo_pull.find_all("div", "thread", data_path="src/stats.py", data_line=LEAK_LINE)
    [table] = thread.find_all("table", "diff")
    last = [r for r in table.walk() if r.tag == "tr"][-1]
    assert "add" in last.classes and "return open(path).read()" in last.text()
    assert [cell.text() for cell in last.find_all("td", "num")] == ["", LEAK_LINE]
    [resolved] = thread.find_all("span", "resolved")
    assert resolved.text() == "resolved by github-actions[bot]"
    finding, question, answer = thread.find_all("div", "inline-comment")
    assert "File handle is never closed" in finding.text()
    assert "with open(path) as handle:" in finding.text()  # the suggested fix
    assert "octocat" in question.text() and "CPython too? @ci-reviewer" in question.text()
    assert "github-actions[bot]" in answer.text()
    assert "CPython closes the file when its last reference goes" in answer.text()
    assert "ci-reviewer:answer" not in answer.text()  # hidden markers stay hidden


def test_the_review_summary_and_check_runs_are_shown(page: Element) -> None:
    demo_pull = page.by_id("pull-1")
    review = demo_pull.find_all("div", "review")[0]
    assert "Review by github-actions[bot]" in review.text() and "COMMENTED" in review.text()
    [summary] = demo_pull.find_all("div", "conversation")
    assert "not blocking at fail-on" in summary.text()
    assert "Fixed since the last review (1)" in summary.text()
    assert "1 finding dropped" in summary.text()
    assert "ci-reviewer:summary" not in summary.text()  # hidden markers stay hidden
    fixed, first = page.find_all("article", "check-run")  # newest first: one per head
    for check in (fixed, first):
        assert " ".join(check.find_all("h3")[0].text().split()) == "ci-reviewer: success"
    assert not fixed.find_all("tr", "annotation")
    [annotation] = first.find_all("tr", "annotation")
    assert f"src/stats.py:{LEAK_LINE}" in annotation.text()
    assert "File handle is never closed" in annotation.text()


def test_the_issues_and_the_generated_tests_are_shown(page: Element) -> None:
    audit = page.by_id("issue-3")
    assert "src/lines.py:7" in audit.text() and "CWE-78" in audit.text()
    assert "labels: weekly-audit" in audit.text()
    assert "overnight-report" in page.by_id("issue-4").text()
    tests_pull = page.by_id("pull-2")
    [stats_test] = tests_pull.find_all("div", "file", data_path="tests/generated/test_stats.py")
    assert "assert average([1.0, 2.0, 6.0]) == 3.0" in stats_test.text()
    assert tests_pull.find_all("div", "file", data_path="tests/generated/test_lines.py")


def test_the_urls_the_commands_print_open_the_page(walkthrough: Walkthrough, chromium: str) -> None:
    printed = [
        line.split(": ", 1)[1]
        for line in walkthrough.output.splitlines()
        if line.startswith(("review: http", "answer: http"))
    ]
    assert len(printed) == 3  # two reviews, one answer
    for url in printed:
        opened = parse(dump_dom(chromium, url))
        assert opened.by_id("pull-1").find_all("div", "thread")


def test_an_inline_comment_at_the_head_sits_under_its_diff_line(
    tmp_path: Path, chromium: str
) -> None:
    demo = create_repository(tmp_path / "demo")
    with GitHubEmulator(demo) as emulator:
        number = emulator.open_pull("feature")
        gh = github.Github(base_url=emulator.url, auth=github.Auth.Token("emulator-token"))
        try:
            pull = gh.get_repo("octo/demo").get_pull(number)
            head = gh.get_repo("octo/demo").get_commit(pull.head.sha)
            pull.create_review_comment(
                "File handle is never closed", head, "src/stats.py", line=int(LEAK_LINE)
            )
        finally:
            gh.close()
        dom = parse(dump_dom(chromium, emulator.url + "/_emulator/"))
    [comment] = dom.by_id(f"pull-{number}").find_all(
        "tr", "inline-comment", data_path="src/stats.py", data_line=LEAK_LINE
    )
    [table] = [t for t in dom.find_all("table", "diff") if comment in t.walk()]
    rows = [r for r in table.walk() if r.tag == "tr"]
    above = rows[rows.index(comment) - 1]
    assert "line" in above.classes and "add" in above.classes
    assert above.attrs["data-new"] == LEAK_LINE
    assert "return open(path).read()" in above.text()
    below = rows[rows.index(comment) + 1]  # the diff goes on after it: the next line
    assert below.attrs["data-new"] == str(int(LEAK_LINE) + 1)
    assert "File handle is never closed" in comment.text()
    assert not comment.find_all("span", "resolved")


def test_untrusted_text_is_shown_never_run(tmp_path: Path, chromium: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "a.txt").write_text("a\n")
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "a"], check=True)
    title = '<script>document.title="owned"</script>'
    body = '<img src=x onerror="document.title=1"><b>bold?</b>'
    with GitHubEmulator(repo) as emulator:
        gh = github.Github(base_url=emulator.url, auth=github.Auth.Token("emulator-token"))
        try:
            gh.get_repo("octo/demo").create_issue(title=title, body=body)
        finally:
            gh.close()
        dom = parse(dump_dom(chromium, emulator.url + "/_emulator/"))
    [issue] = dom.find_all("article", "issue")
    assert title in issue.text() and body in issue.text()
    assert not [e for e in issue.walk() if e.tag in ("script", "img", "b")]
    assert dom.find_all("title")[0].text() == "octo/demo: emulated GitHub"
