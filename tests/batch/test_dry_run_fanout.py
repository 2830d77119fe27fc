"""A dry run plans on every core: the requests file is the same, byte for byte, whether one
process built every line or forked workers built them; and it never imports the SDK.

The CLI runs in a fresh interpreter (forking is refused in a process with other threads),
with CI_REVIEWER_SERIAL_FIRST lowered so that a small repository forks too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator
from tests.batch.conftest import commit_files
from tests.batch.test_fanout import FORKS, fresh_python
from tests.secret_samples import private_key

CONFIG = """
model: claude-sonnet-5-5
jobs:
  audit:
    kind: security-audit
    output: sarif
  tests:
    kind: test-generation
    include: ["**/*.py"]
  digest:
    kind: report
    output: file
"""
MODULES = 1300  # past the first 8 planned in-process: chunks of 512 for both workers


def modules_repo(repo: Path) -> None:
    """Modules that import each other (some cut to fit the imports' budget), a test per
    tenth module, one module holding a private key (imported by others, so left out of
    their requests), an empty and a binary file among them."""
    files: dict[str, str | bytes] = {}
    for i in range(MODULES):
        imports = "".join(f"from pkg.m{j} import f{j}\n" for j in (i - 1, i - 7, 5) if j >= 0)
        files[f"pkg/m{i}.py"] = imports + f"def f{i}(x):\n    return x + {i}\n" * (1 + i % 40)
        if i % 10 == 0:
            files[f"tests/test_m{i}.py"] = (
                f"from pkg.m{i} import f{i}\n\n\ndef test():\n    f{i}(1)\n"
            )
    files["pkg/m5.py"] = "from pkg.keys import KEY\n" + "VALUE = 'v' * 80\n" * 500
    files["pkg/keys.py"] = f'KEY = """{private_key()}"""\n'
    files["pkg/m9.py"] = "from pkg.keys import KEY\n"
    files["pkg/empty.py"] = ""
    files["pkg/blob.bin"] = b"\x00\x01" * 50
    files[".github/ci-reviewer.yml"] = CONFIG
    commit_files(repo, files, "modules")


def dry_run(repo: Path, job: str, out: Path, workers: int) -> tuple[str, bytes]:
    env = {**os.environ, "CI_REVIEWER_WORKERS": str(workers), "CI_REVIEWER_SERIAL_FIRST": "8"}
    env.pop("ANTHROPIC_API_KEY", None)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "ci_reviewer", "--workdir", str(repo), "batch", "submit"),
            *("--job", job, "--dry-run", "--requests-file", str(out), "--state-dir"),
            str(out.parent / f"state-{job}-{workers}"),
        ],
        capture_output=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode(), out.read_bytes()


@pytest.mark.parametrize("job", ["audit", "tests", "digest"])
def test_a_dry_run_writes_the_same_requests_file_on_one_core_as_on_forked_workers(
    repo: Path, tmp_path: Path, job: str
) -> None:
    modules_repo(repo)
    one_out, one = dry_run(repo, job, tmp_path / f"{job}-1.jsonl", workers=1)
    two_out, two = dry_run(repo, job, tmp_path / f"{job}-2.jsonl", workers=2)

    assert two == one  # byte for byte
    assert two_out == one_out  # the same estimate, skip table and largest requests
    paths = [_path_of(json.loads(line)) for line in two.splitlines()]
    tracked = subprocess.run(
        ["git", "-C", str(repo), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    # One request per file, in the order git lists the files; every module is there, but
    # the empty one and the one holding a private key, and nothing binary.
    assert paths == [p for p in tracked if p in set(paths)] and len(set(paths)) == len(paths)
    modules = {f"pkg/m{i}.py" for i in range(MODULES)}
    assert modules <= set(paths)
    assert not {"pkg/empty.py", "pkg/keys.py", "pkg/blob.bin"} & set(paths)
    if job != "digest":
        assert "KEY = " not in two.decode()  # imported by m5 and m9: left out of both
        assert "(imported module, not attached)" in two_out


def _path_of(line: dict) -> str:
    content = line["params"]["messages"][0]["content"]
    # A kind with a shared part sends blocks (shared context first, the file's own last).
    text = content if isinstance(content, str) else content[-1]["text"]
    first = text.split("\n", 1)[0]
    for lead in ("Audit ", "Write tests for "):
        if first.startswith(lead):
            return first[len(lead) : -1]
    return first.removeprefix("File: ").strip()


FORKED_DRY_RUN = """
    import json, os, sys
    from pathlib import Path
    from ci_reviewer.batch.jobs.security_audit import SecurityAuditKind

    builders = Path(sys.argv[2])
    plain = SecurityAuditKind.message_parts

    def recorded(self, source):  # which process built each request (evidence of the fork)
        with open(builders / str(os.getpid()), "a") as handle:
            handle.write(source.path + "\\n")
        return plain(self, source)

    SecurityAuditKind.message_parts = recorded
    from ci_reviewer.cli import main
    try:
        main(["--workdir", sys.argv[1], "batch", "submit", "--job", "audit", "--dry-run",
              "--requests-file", sys.argv[3], "--state-dir", sys.argv[4]])
    except SystemExit as done:
        assert not done.code, done.code
    print(json.dumps({"parent": os.getpid(), "sdk": "anthropic" in sys.modules}))
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_a_dry_run_builds_its_lines_in_forked_workers_without_the_sdk(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    modules_repo(repo)
    builders = tmp_path / "builders"
    builders.mkdir()
    monkeypatch.setenv("CI_REVIEWER_SERIAL_FIRST", "8")
    monkeypatch.setenv("CI_REVIEWER_WORKERS", str(workers))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    out = tmp_path / "audit.jsonl"
    args = (str(repo), str(builders), str(out), str(tmp_path / "state"))
    run = json.loads(fresh_python(FORKED_DRY_RUN, *args, timeout=600).splitlines()[-1])

    assert run["sdk"] is False  # a dry run makes no call: the SDK was never imported
    built = {int(p.name): p.read_text().split() for p in builders.iterdir()}
    forked = set(built) - {run["parent"]}
    assert len(forked) == (workers if FORKS and workers > 1 else 0)
    in_parent = built.get(run["parent"], [])
    if forked:
        assert len(in_parent) <= 8  # the first 8 files only
    lines = out.read_bytes().splitlines()
    assert len(lines) == sum(len(paths) for paths in built.values()) >= MODULES


def test_a_dry_run_after_a_crash_still_asks_the_api_for_the_orphaned_batch(
    repo: Path, claude: ClaudeEmulator, tmp_path: Path
) -> None:
    """The client is made on demand, not left out: a dry run whose state holds an intent
    without its batch id (the process died after creating the batch) finds that batch."""
    commit_files(repo, {".github/ci-reviewer.yml": CONFIG})
    env = {
        "ANTHROPIC_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": claude.url,
        "CI_REVIEWER_KILL_AT": "batch-created",
        "PATH": "/usr/bin:/bin",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    command = [sys.executable, "-m", "ci_reviewer", "--workdir", str(repo), "batch", "submit",
               "--job", "digest", "--state-dir", str(tmp_path / "state")]  # fmt: skip
    killed = subprocess.run(command, env=env, capture_output=True, cwd=tmp_path, check=False)
    assert killed.returncode == -9
    env["CI_REVIEWER_KILL_AT"] = ""
    dry = [*command, "--dry-run", "--requests-file", str(tmp_path / "r.jsonl")]
    done = subprocess.run(
        [*dry, "--format", "json"], env=env, capture_output=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["adopted"] == ["msgbatch_emu00000001"]
    listed = [r for r in claude.log if r.method == "GET" and r.path == "/v1/messages/batches"]
    assert listed  # asked, through the SDK, with the run's key
