"""Batch collection never sends a secret, for any kind: on a repository holding a `.env` under
tests/, a PEM private key under tests/certs/, an `.npmrc` with an auth token and a module
embedding a GitHub token (imported by another module, so it would be attached as context),
`batch submit --dry-run` shows each skipped with its reason, the Claude emulator receives
none of their content on a real submit, the published body counts them, and the config's
allow list lets exactly the allowed fixture through."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.cli import main
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from tests import secret_samples as fake
from tests.batch.conftest import commit_files, point_cli_at_emulators, served_origin

ENV_VALUE = "DATABASE_PASSWORD=" + fake.filler("dotenv", 24)
KEY = fake.private_key("server")
KEY_LINE = KEY.splitlines()[3]
NPM_TOKEN = fake.npm_token()
GITHUB_TOKEN = fake.github_token()
FAKE_KEY = fake.private_key("fixture")
FAKE_KEY_LINE = FAKE_KEY.splitlines()[3]
SECRETS = (ENV_VALUE, KEY_LINE, NPM_TOKEN, GITHUB_TOKEN)
KINDS = {
    "digest": "kind: report\n    output: file",
    "audit": "kind: security-audit\n    output: sarif",
    "tests": "kind: test-generation\n    output: file",
}
CONFIG = "secrets:\n  allow: [src/sample_key.py]\njobs:\n" + "".join(
    f"  {name}:\n    {kind}\n" for name, kind in KINDS.items()
)
# What every kind skips, hand-counted from the files below (the allowed key goes through).
SKIPPED = {
    "secret by name: .env": 1,
    "secret by name: *.pem": 1,
    "secret by name: .npmrc": 1,
    "secret by content: GitHub token": 1,
}
# The kinds that attach imported modules also leave src/settings.py out of src/app.py's.
IMPORTED = {"secret by content: GitHub token (imported module, not attached)": 1}


@pytest.fixture
def checkout(repo: Path) -> Path:
    commit_files(
        repo,
        {
            ".github/ci-reviewer.yml": CONFIG,
            "tests/.env": ENV_VALUE + "\n",
            "tests/certs/server.pem": KEY,
            ".npmrc": f"//registry.npmjs.org/:_authToken={NPM_TOKEN}\n",
            "src/settings.py": f"GITHUB_TOKEN = '{GITHUB_TOKEN}'\nNAME = 'demo'\n",
            "src/app.py": "from src import settings\n\nprint(settings.NAME)\n",
            # A key block in a module: a secret by content, let through by the allow list;
            # Python, so every kind (test generation too) sends it.
            "src/sample_key.py": f'SAMPLE = """\\\n{FAKE_KEY}"""\n',
        },
        "secrets in the tree",
    )
    return repo


@pytest.fixture
def cli(
    checkout: Path,
    claude: ClaudeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-cli-secret-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as done:
            main(["--workdir", str(checkout), "batch", *args])
        out, err = capsys.readouterr()
        return int(done.value.code or 0), out, err

    return invoke


def _expected(job: str) -> dict[str, int]:
    return {**SKIPPED, **(IMPORTED if job != "digest" else {})}


@pytest.mark.parametrize("job", list(KINDS))
def test_dry_run_shows_each_secret_skipped_with_its_reason_and_writes_none(
    cli: Any, tmp_path: Path, job: str
) -> None:
    code, out, err = cli("submit", "--job", job, "--dry-run", "--format", "json")
    assert code == 0, err
    assert {r: n for r, n in json.loads(out)["skipped"].items() if "secret" in r} == _expected(job)

    requests = tmp_path / f"{job}-requests.jsonl"
    code, text, _ = cli("submit", "--job", job, "--dry-run", "--requests-file", str(requests))
    for reason, count in _expected(job).items():
        assert f"  skipped {count}: {reason} (" in text
    written = requests.read_text()
    assert not [secret for secret in SECRETS if secret in written]
    # Exactly the allowed fixture goes through: its content is in the requests.
    assert FAKE_KEY_LINE in written
    assert all(secret not in out + err + text for secret in SECRETS)


@pytest.mark.parametrize("job", list(KINDS))
def test_a_real_submit_sends_the_emulator_none_of_the_secrets(
    cli: Any, claude: ClaudeEmulator, tmp_path: Path, job: str
) -> None:
    code, out, err = cli("submit", "--job", job, "--state-dir", str(tmp_path / "state"))
    assert code == 0, err

    assert not [secret for secret in SECRETS if secret in out + err]
    received = b"".join(request.body for request in claude.log).decode()
    assert "/v1/messages/batches" in {request.path for request in claude.log}
    assert not [secret for secret in SECRETS if secret in received]
    assert FAKE_KEY_LINE in received
    assert "src/app.py" in received  # the importing module is sent, without its import


def test_an_include_naming_the_secret_does_not_let_it_through(
    cli: Any, checkout: Path, tmp_path: Path
) -> None:
    config = checkout / ".github/ci-reviewer.yml"
    config.write_text(
        'jobs:\n  env:\n    kind: report\n    output: file\n    include: ["tests/.env"]\n'
    )

    code, out, err = cli("submit", "--job", "env", "--dry-run")

    assert code == 0, err
    assert "would submit 0 request(s)" in out
    assert "  skipped 1: secret by name: .env" in out


# -- what the published body says ------------------------------------------------------------

TOKEN = "ghs_emulatortoken0000"


@pytest.fixture
def origin(tmp_path: Path, checkout: Path) -> Iterator[GitHubEmulator]:
    with served_origin(tmp_path, checkout, TOKEN) as emulator:
        yield emulator


def test_the_published_issue_counts_what_was_not_sent(
    checkout: Path,
    origin: GitHubEmulator,
    claude: ClaudeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (checkout / ".github/ci-reviewer.yml").write_text(
        "jobs:\n  weekly-audit:\n    kind: security-audit\n    output: issue\n"
    )
    point_cli_at_emulators(monkeypatch, claude, origin.url, TOKEN, "77")
    finding = {
        "path": "src/app.py",
        "line": 3,
        "severity": "low",
        "cwe": "CWE-532",
        "title": "settings printed",
        "description": "A settings value is printed.",
        "recommendation": "Log it at debug level.",
        "confidence": "low",
    }
    claude.enqueue(
        Reply.json({"findings": [finding]}),
        when=lambda body: "Audit src/app.py." in json.dumps(body.get("messages", "")),
    )

    def run() -> dict[str, Any]:
        with pytest.raises(SystemExit) as done:
            main(
                [
                    "--workdir",
                    str(checkout),
                    "batch",
                    "run",
                    "--job",
                    "weekly-audit",
                    "--format",
                    "json",
                ]
            )
        out, err = capsys.readouterr()
        assert done.value.code == 0, err
        return dict(json.loads(out))

    run()
    collected = run()["collected"]

    # Without the allow list the sample key module is withheld too, by its content.
    expected = {**SKIPPED, "secret by content: private key block": 1, **IMPORTED}
    assert collected["withheld"] == expected
    [issue] = [i for i in origin.state.issues.values() if "pull_request" not in i]
    counts = ", ".join(f"{reason} ({n})" for reason, n in sorted(expected.items()))
    assert f"**Not sent to the model (secret policy):** 6 file(s): {counts}." in issue["body"]
    assert not [secret for secret in SECRETS if secret in issue["body"]]


def test_the_report_file_and_the_collect_output_count_what_was_not_sent(
    cli: Any, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    assert cli("run", "--job", "digest", "--state-dir", str(state))[0] == 0

    code, out, err = cli("run", "--job", "digest", "--state-dir", str(state))

    assert code == 0, err
    counts = ", ".join(f"{n} {reason}" for reason, n in sorted(SKIPPED.items()))
    assert f"not sent to the model (secret policy): {counts}" in out
    [report] = (state / "reports").glob("digest-*.md")
    listed = ", ".join(f"{reason} ({n})" for reason, n in sorted(SKIPPED.items()))
    assert f"**Not sent to the model (secret policy):** 4 file(s): {listed}." in report.read_text()
