"""The review never sends a secret: a pull request that adds a `.env`, a key or a file holding a
token is reviewed without that file's content reaching the model (the diff, the tools, the
description), and the summary says which changed files were not sent and why."""

from __future__ import annotations

import anthropic

from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.github.summary import SummaryView, render_summary
from ci_reviewer.globs import PathFilter
from ci_reviewer.review.diff import diff_from_git, select_reviewable
from ci_reviewer.review.engine import run_review
from ci_reviewer.review.sandbox import Sandbox
from ci_reviewer.review.tools import RepoTools
from ci_reviewer.secret_policy import SecretPolicy
from tests import secret_samples as fake
from tests.review.conftest import MODEL, RepoFactory, answer, review

ENV_VALUE = "DATABASE_PASSWORD=" + fake.filler("env", 24)
TOKEN = fake.github_token()
KEY = fake.private_key()
KEY_LINE = KEY.splitlines()[2]  # a line of the key's body


def test_a_pr_adding_secrets_is_reviewed_without_their_content(
    emu: ClaudeEmulator, client: anthropic.Anthropic, make_repo: RepoFactory
) -> None:
    repo = make_repo(
        {"src/app.py": "print(1)\n"},
        {
            ".env": ENV_VALUE + "\n",
            "tests/certs/server.pem": KEY,
            "src/config.py": f"TOKEN = '{TOKEN}'\n",
            "src/app.py": "print(2)\n",
        },
    )
    emu.enqueue(Reply.json(answer()))

    result = review(client, repo)

    sent = str([call.body for call in emu.requests])
    assert ENV_VALUE not in sent and TOKEN not in sent and KEY_LINE not in sent
    assert [f.path for f in result.files] == ["src/app.py"]
    assert {s.path: (s.reason, s.secret) for s in result.skipped} == {
        ".env": ("not sent to the model: secret by name: .env", True),
        "src/config.py": ("not sent to the model: secret by content: GitHub token", True),
        "tests/certs/server.pem": ("not sent to the model: secret by name: *.pem", True),
    }


def test_a_secret_outside_the_diff_or_only_on_removed_lines_still_withholds_the_file(
    make_repo: RepoFactory,
) -> None:
    # settings.py held a token before the PR, which edits its last line only: the diff's
    # context does not reach line 1, but the model could read it there. old.py loses its
    # token in the PR: the removed line would be sent.
    lines = [f"TOKEN = '{TOKEN}'"] + [f"value_{n} = {n}" for n in range(40)]
    repo = make_repo(
        {"src/settings.py": "\n".join(lines) + "\n", "src/old.py": f"KEY = '{TOKEN}'\nX = 1\n"},
        {
            "src/settings.py": "\n".join([*lines[:-1], "value_39 = 390"]) + "\n",
            "src/old.py": "X = 1\n",
        },
    )

    source = select_reviewable(
        diff_from_git(repo, "main"), PathFilter.build(["**"], [], True), repo, skip_generated=True
    )

    assert source.files == ()
    assert {s.path: s.reason for s in source.skipped} == {
        "src/old.py": "not sent to the model: secret by content: GitHub token",
        "src/settings.py": "not sent to the model: secret by content: GitHub token",
    }


def test_an_include_pattern_naming_the_secret_does_not_let_it_through(
    make_repo: RepoFactory,
) -> None:
    repo = make_repo({"a.py": "x = 1\n"}, {".env": ENV_VALUE + "\n"})

    source = select_reviewable(
        diff_from_git(repo, "main"), PathFilter.build([".env"], [], True), repo, skip_generated=True
    )

    assert source.files == ()
    assert [(s.path, s.secret) for s in source.skipped] == [(".env", True)]


def test_the_allow_list_lets_exactly_the_allowed_fixture_into_the_review(
    emu: ClaudeEmulator, client: anthropic.Anthropic, make_repo: RepoFactory
) -> None:
    repo = make_repo(
        {"a.py": "x = 1\n"},
        {"tests/fixtures/fake_key.pem": KEY, "tests/fixtures/other_key.pem": KEY},
    )
    policy = SecretPolicy.of(["tests/fixtures/fake_key.pem"])
    source = select_reviewable(
        diff_from_git(repo, "main"),
        PathFilter.build(["**"], [], True),
        repo,
        skip_generated=True,
        policy=policy,
    )
    emu.enqueue(Reply.json(answer()))

    result = run_review(client, source, ReviewConfig(), model=MODEL, workdir=repo, policy=policy)

    assert [f.path for f in result.files] == ["tests/fixtures/fake_key.pem"]
    assert [(s.path, s.reason) for s in result.skipped] == [
        ("tests/fixtures/other_key.pem", "not sent to the model: secret by name: *.pem")
    ]
    assert KEY_LINE in str(emu.requests[0].body)  # the allowed one, and only it, was sent


def test_the_tools_refuse_files_holding_secrets_by_content(make_repo: RepoFactory) -> None:
    aws = fake.aws_key_id()
    repo = make_repo(
        {"src/keys.py": f"AWS = '{aws}'\n"},
        {
            "src/settings.py": f"TOKEN = '{TOKEN}'\nNAME = 'settings'\n",
            "src/app.py": "from settings import NAME\n",
            "src/keys.py": "AWS = None\n",
        },
    )
    tools = RepoTools(Sandbox(repo), "main")

    read = tools.run("read_file", {"path": "src/settings.py"})
    base = tools.run("read_base_file", {"path": "src/keys.py"})
    found = tools.run("search_code", {"query": "NAME"})
    probe = tools.run("search_code", {"query": "gh" + "p_", "path": "src"})

    assert read.is_error
    assert read.text == (
        "src/settings.py: secret by content: GitHub token (secret policy); never read"
    )
    assert base.is_error and "secret by content: AWS access key id" in base.text
    assert aws not in base.text
    assert found.text == "src/app.py:1: from settings import NAME"
    # No line of the withheld file, and no count of its matches that a query could probe.
    assert probe.text == "no matches for 'ghp_'"


def test_a_description_holding_a_token_is_withheld_from_the_overview(
    emu: ClaudeEmulator, client: anthropic.Anthropic, make_repo: RepoFactory
) -> None:
    repo = make_repo({"a.py": "x = 1\n"}, {"a.py": "x = 2\n"})
    source = diff_from_git(repo, "main")
    source = type(source)(
        source.files, source.base_sha, source.head_sha, "fix", f"use {TOKEN} to test", ()
    )
    emu.enqueue(Reply.json(answer()))

    run_review(client, source, ReviewConfig(), model=MODEL, workdir=repo)

    sent = str(emu.requests[0].body)
    assert TOKEN not in sent
    assert "description withheld under the secret policy: secret by content: GitHub token" in sent


def test_the_summary_lists_what_was_not_sent_and_why_outside_the_folded_list() -> None:
    body = render_summary(
        SummaryView(
            status="reviewed",
            state=None,
            fail_on="high",
            files_reviewed=("src/app.py",),
            skipped=(("docs/big.md", "excluded by config"),),
            withheld=((".env", "secret by name: .env"),),
        )
    )

    visible = body.split("<details>")[0]
    assert "**Not sent to the model (secret policy):**\n- `.env`: secret by name: .env" in visible
    assert "skipped: 2" in visible
