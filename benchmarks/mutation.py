"""Mutation testing of the modules whose failures hurt users most, with mutmut.

For each module below, mutmut (https://github.com/boxed/mutmut) makes small changes to the
code (a comparison flipped, a constant changed, a call's argument dropped) and runs the tests
that exercise the changed function; a mutant that no test fails "survived". The suite's real
clients against real emulators are the tests: only tests that run the product in-process can
kill a mutant (mutmut switches mutants inside the test process), so each module is paired
with the test files that import it.

Runs in a scratch copy of the checkout (the files git lists), never in the working tree, and
prints a Markdown table (module, mutants, killed, timed out, survived, score) plus, with
--survivors, the diff of each survivor. Slow: 2-10 minutes a module on a loaded 2-vCPU
machine (result classification about 10, its mutants run with the result lines driven
directly, `tests/batch/test_result_lines.py`), so it is not part of every CI run.

    python3 -m venv .ci-cache/mm && .ci-cache/mm/bin/pip install -e '.[dev]' mutmut==3.8.1
    .ci-cache/mm/bin/python benchmarks/mutation.py [--only sandbox] [--survivors] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Target:
    name: str
    modules: tuple[str, ...]  # the files mutated
    tests: tuple[str, ...]  # the test files that import them and run them in-process


B = "tests/batch/"
TARGETS = (
    Target(
        "sandbox",
        ("ci_reviewer/review/sandbox.py",),
        (
            "tests/review/test_sandbox.py",
            "tests/review/test_sandbox_resolve.py",
            "tests/review/test_sandbox_reads.py",
            "tests/review/test_secret_review.py",
        ),
    ),
    Target("batch path scope", ("ci_reviewer/batch/path_scope.py",), ("tests/batch",)),
    Target(
        "state document",
        ("ci_reviewer/batch/state.py",),
        (
            B + "test_state_format.py",
            B + "test_state_document_rules.py",
            B + "test_state_stores.py",
            B + "test_github_store.py",
        ),
    ),
    Target(
        "directory store",
        ("ci_reviewer/batch/store_dir.py",),
        (B + "test_state_stores.py", B + "test_state_dir_files.py", B + "test_pipeline.py"),
    ),
    Target(
        "GitHub store",
        ("ci_reviewer/batch/store_github.py",),
        (B + "test_github_store.py", B + "test_github_store_failures.py"),
    ),
    Target(
        "store retry",
        ("ci_reviewer/batch/store_retry.py",),
        (B + "test_state_stores.py", B + "test_github_store.py"),
    ),
    Target(
        "result classification",
        ("ci_reviewer/batch/results.py",),
        # The result lines driven directly (no repository, no planning: a fraction of a
        # second a test); the pipeline's own tests run whole batches and take 20-35 s a
        # mutant on a loaded machine, which put a whole run past an hour.
        (B + "test_result_lines.py", B + "test_result_classification.py"),
    ),
    Target(
        "manifest and custom_id",
        ("ci_reviewer/batch/manifest.py",),
        (B + "test_custom_id_format.py", B + "test_state_format.py", B + "test_split.py"),
    ),
    Target(
        "fingerprints and dedupe",
        ("ci_reviewer/review/findings.py", "ci_reviewer/github/markers.py"),
        (
            "tests/review/test_findings_answer_rules.py",
            "tests/github/test_review_publish.py",
            "tests/github/test_publish_issue.py",
        ),
    ),
    Target(
        "exit codes",
        ("ci_reviewer/errors.py", "ci_reviewer/cli/errors.py"),
        ("tests/foundation/test_cli_boundary.py", "tests/foundation/test_error_outcomes.py"),
    ),
    Target(
        "SLA arithmetic",
        ("ci_reviewer/batch/sla.py", "ci_reviewer/planning/sla.py"),
        (
            "tests/planning/test_sla.py",
            "tests/planning/test_sla_arithmetic.py",
            B + "test_pending_batch_age.py",
        ),
    ),
    Target(
        "secret redaction",
        ("ci_reviewer/secrets.py",),
        ("tests/foundation/test_secret_masking.py", "tests/github/test_publish_pr.py"),
    ),
    Target(
        "secret policy",
        ("ci_reviewer/secret_policy.py",),
        ("tests/foundation/test_secret_policy.py", "tests/review/test_secret_review.py"),
    ),
)

# mutmut runs every selected test in its own process first (the stats run, which records
# which test reaches which function) and gives up if one fails. A test that signals a
# process group it started cannot run there: mutmut's runner owns the terminal's signals and
# forks its workers, and what the test's subprocess runs is never counted against it anyway
# (mutmut maps tests to functions from the calls made in its own process). Each test left
# out is named here with that reason.
NOT_UNDER_MUTMUT = (
    # sends SIGINT to a fan-out's process group and times the workers' exit
    "tests/batch/test_fanout.py::test_ctrl_c_stops_the_run_and_its_workers_with_one_message",
    # sends SIGINT to a fresh interpreter it starts, which inherits the runner's handling of
    # SIGINT (ignored: no KeyboardInterrupt, so the test reads no output and fails)
    "tests/batch/test_fanout.py::test_ctrl_c_while_the_workers_start_stops_those_started",
)


def scratch_copy(into: Path) -> None:
    # The working tree's files as git sees them (tracked and new, not ignored), so tests
    # written for a survivor count before they are committed.
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name, follow_symlinks=False)
    cache = ROOT / ".ci-cache"
    for part in ("openapi", "sarif", "recordings"):  # what the test session checks against
        if (cache / part).is_dir():
            shutil.copytree(cache / part, into / ".ci-cache" / part, symlinks=True)


def configure(copy: Path, target: Target) -> None:
    tests = [t for t in target.tests if (copy / t).exists()]
    deselect = [arg for test in NOT_UNDER_MUTMUT for arg in ("--deselect", test)]
    pyproject = copy / "pyproject.toml"
    everything = sorted(p.name for p in copy.iterdir() if p.name != "mutants")
    base = pyproject.read_text().split("\n[tool.mutmut]")[0]
    pyproject.write_text(
        base
        + "\n[tool.mutmut]\n"
        + 'source_paths = ["ci_reviewer"]\n'
        + f"only_mutate = {json.dumps(list(target.modules))}\n"
        + f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        + f"pytest_add_cli_args = {json.dumps(['-p', 'no:cacheprovider', '-q', *deselect])}\n"
        # mutmut copies only what it is told into mutants/; the tests read files from the
        # whole checkout (constraints.txt, action.yml, workflows, scripts).
        + f"also_copy = {json.dumps(everything)}\n"
    )


def run_target(copy: Path, target: Target, jobs: int) -> dict[str, object]:
    shutil.rmtree(copy / "mutants", ignore_errors=True)
    configure(copy, target)
    mutmut = [sys.executable, "-m", "mutmut"]
    started = time.monotonic()
    # mutmut puts mutants/ first on sys.path; an installed copy of the project comes later.
    env = dict(os.environ)
    done = subprocess.run(
        [*mutmut, "run", "--max-children", str(jobs)],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    minutes = (time.monotonic() - started) / 60
    if done.returncode != 0:
        output = (done.stdout + done.stderr).replace("\r", "\n")
        return {"target": target.name, "error": output[-3000:], "minutes": minutes}
    subprocess.run(
        [*mutmut, "export-cicd-stats"], cwd=copy, env=env, capture_output=True, check=True
    )
    stats = json.loads((copy / "mutants" / "mutmut-cicd-stats.json").read_text())
    results = subprocess.run(
        [*mutmut, "results"], cwd=copy, env=env, capture_output=True, text=True, check=False
    )
    survivors = [
        line.strip().rsplit(":", 1)[0]
        for line in results.stdout.splitlines()
        if line.strip().endswith(": survived")
    ]
    diffs = {
        name: subprocess.run(
            [*mutmut, "show", name], cwd=copy, env=env, capture_output=True, text=True, check=False
        ).stdout
        for name in survivors
    }
    return {
        "target": target.name,
        "module": ", ".join(f"`{m}`" for m in target.modules),
        "minutes": minutes,
        **stats,
        "survivors": diffs,
    }


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| module | file | mutants | killed | timed out | survived | no tests | score | minutes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['target']} | | | | | | | error | {row['minutes']:.1f} |")
            continue
        total = int(row["total"])  # type: ignore[call-overload]
        # A mutant that makes the tests hang is caught too: the run fails on a timeout.
        caught = int(row["killed"]) + int(row["timeout"])  # type: ignore[call-overload]
        score = caught / total if total else 1.0
        lines.append(
            f"| {row['target']} | {row['module']} | {total} | {row['killed']} | "
            f"{row['timeout']} | {row['survived']} | {row['no_tests']} | {score:.1%} | "
            f"{row['minutes']:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", help="run only targets whose name has this")
    parser.add_argument("--survivors", action="store_true", help="print each survivor's diff")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    targets = [t for t in TARGETS if not args.only or any(o in t.name for o in args.only)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ci-reviewer-mutation-") as scratch:
        copy = Path(scratch)
        scratch_copy(copy)
        for target in targets:
            row = run_target(copy, target, args.jobs)
            rows.append(row)
            print(table([row]).splitlines()[-1], flush=True)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1))
    print()
    print(table(rows))
    if args.survivors:
        for row in rows:
            for name, diff in dict(row.get("survivors") or {}).items():  # type: ignore[call-overload]
                print(f"\n## {name}\n{diff}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
