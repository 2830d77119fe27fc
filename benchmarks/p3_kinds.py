"""P3 per kind: `ci-reviewer batch submit --dry-run` end to end, as a user runs it, for each
batch kind (report, security audit, test generation), against a raw read of the checkout.

Each measurement is a fresh `ci-reviewer` subprocess (imports, config, collection, request
bodies built and written, to /dev/null); its wall time, its peak RSS (the child's own
maxrss, from wait4) and the CPU time of it and its workers are recorded (on a shared
machine the CPU ratio is the steadier one). The floors, in the same run, warm page cache:
- raw: `git ls-files -z | xargs -0 cat > /dev/null`, run inside the checkout;
- fair: the same with `xargs -0 -P N`, N the worker processes the product plans a dry run
  with (`fanout.default_workers()`: one per usable CPU, at most 4).
Product and floor runs alternate and the medians are compared, since the machine is shared.

Repositories: a generated one of Python modules that import each other (each ~15 KB, three
imports of other modules, every 20th with a test under tests/), at N and 2N files, and,
with `--real DIR`, an unpacked source distribution made a git repository.

    python benchmarks/p3_kinds.py [--files 100000] [--rounds 3] [--real DIR] [--kinds ...]
        [--keep DIR] [--no-double]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ci_reviewer.batch.fanout import default_workers

KINDS = ("report", "security-audit", "test-generation")
DRY_RUN_WORKERS = default_workers()  # as `assemble` fans a dry run out
CONFIG = """\
model: claude-sonnet-5-5
jobs:
  report:
    kind: report
    since: all
    include: ["**"]
    output: file
  security-audit:
    kind: security-audit
    since: all
    include: ["**"]
    output: sarif
  test-generation:
    kind: test-generation
    since: all
    include: ["**/*.py"]
    output_dir: tests/generated
"""
_LINE = "def function_{n}(value):  # generated benchmark source line, with some words\n"


def generate(repo: Path, start: int, count: int, size: int) -> None:
    """Modules start..start+count; module i imports three others of its package (of 1,000
    modules), so every import resolves at N and at 2N alike."""
    lines = max(1, size // len(_LINE))
    for i in range(start, start + count):
        block = i - i % 1000
        near = {(i * 7 + 1) % 1000, (i * 13 + 5) % 1000, (i + 1) % 1000}
        others = sorted({block + j for j in near} - {i})
        head = [f"from {_module(j)} import function_{j * 1000}\n" for j in others[:2]]
        head += [f"import {_module(j)}\n" for j in others[2:]]
        body = "".join(_LINE.format(n=i * 1000 + j) for j in range(lines))
        path = repo / (_module(i).replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(head) + "\n" + body)
        if i % 20 == 0:
            test = repo / "tests" / f"test_module_{i}.py"
            test.parent.mkdir(parents=True, exist_ok=True)
            test.write_text(f"from {_module(i)} import function_{i * 1000}\n\n" + _TEST)
    for package in {repo / f"pkg{i // 1000:03d}" for i in range(start, start + count)}:
        (package / "__init__.py").touch()


_TEST = "def test_it():\n    assert function_0(1) is None or True\n" * 8


def _module(i: int) -> str:
    return f"pkg{i // 1000:03d}.module_{i}"


def commit(repo: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        # A background gc of many new loose objects would take a core from the timed runs.
        subprocess.run(["git", "-C", str(repo), "config", "gc.auto", "0"], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-qm", "bench", "--allow-empty"], check=True, env=env
    )
    # Packed, as a clone is (actions/checkout fetches a pack): listing a tree of loose objects
    # with sizes (`ls-tree -l`) inflates every object's header, ~18 us a file of git's CPU
    # that no real checkout spends. No deltas: packing stays quick at 100,000 files.
    subprocess.run(
        ["git", "-C", str(repo), "repack", "-a", "-d", "-q", "--window=0"], check=True, env=env
    )


def timed(argv: list[str], cwd: Path, shell: bool = False) -> tuple[float, float, float]:
    """Wall seconds, the child's own peak RSS in MB, and the CPU seconds (user + system) of
    the child and of its descendants it waited for (the product's workers, git, cat)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv if not shell else " ".join(argv),
        cwd=cwd,
        shell=shell,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    error = process.stderr.read().decode() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{argv} failed ({process.returncode}): {error[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def product(repo: Path, config: Path, kind: str, state: Path) -> list[str]:
    return [
        sys.executable, "-m", "ci_reviewer", "batch", "submit", "--dry-run",
        "--config", str(config), "--workdir", str(repo), "--job", kind,
        "--state-dir", str(state), "--requests-file", "/dev/null",
    ]  # fmt: skip


def floor(workers: int) -> list[str]:
    parallel = f" -P {workers}" if workers > 1 else ""
    return ["git ls-files -z | xargs -0" + parallel + " cat > /dev/null"]


def measure(repo: Path, kinds: list[str], rounds: int, label: str) -> list[str]:
    config = repo.parent / f"{repo.name}-ci-reviewer.yml"
    config.write_text(CONFIG)
    state = Path(tempfile.mkdtemp(prefix="p3-state-"))
    env_cwd = repo
    subprocess.run(floor(1)[0], shell=True, cwd=env_cwd, check=True)  # warm the page cache
    rows = []
    for kind in kinds:
        ours, raw, fair, peaks, cpu, floor_cpu = [], [], [], [], [], []
        for _ in range(rounds):
            raw.append(timed(floor(1), env_cwd, shell=True)[0])
            wall, peak, used = timed(product(repo, config, kind, state), env_cwd)
            ours.append(wall)
            peaks.append(peak)
            cpu.append(used)
            fair_wall, _, fair_cpu = timed(floor(DRY_RUN_WORKERS), env_cwd, shell=True)
            fair.append(fair_wall)
            floor_cpu.append(fair_cpu)
        o, r, f = (statistics.median(v) for v in (ours, raw, fair))
        c, fc = statistics.median(cpu), statistics.median(floor_cpu)
        row = (
            f"{label} {kind}: ours {o:.2f} s, raw {r:.2f} s ({o / r:.2f}x), fair -P "
            f"{DRY_RUN_WORKERS} {f:.2f} s ({o / f:.2f}x), peak {max(peaks):.0f} MB; "
            f"CPU ours {c:.2f} s, fair floor {fc:.2f} s ({c / fc:.2f}x) "
            f"(runs {', '.join(f'{x:.2f}' for x in ours)}; load {os.getloadavg()[0]:.1f})"
        )
        print(row, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--file-bytes", type=int, default=15_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", nargs="*", default=list(KINDS))
    parser.add_argument("--real", type=Path, default=None, help="an unpacked checkout")
    parser.add_argument("--no-double", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep the repo here")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}, fair floor -P {DRY_RUN_WORKERS}", flush=True)
    if args.real is not None:
        if not (args.real / ".git").exists():
            commit(args.real)
        measure(args.real, args.kinds, args.rounds, args.real.name)
        return
    root = args.keep or Path(tempfile.mkdtemp(prefix="p3-kinds-"))
    repo = root / "repo"
    if not (repo / ".git").exists():
        generate(repo, 0, args.files, args.file_bytes)
        commit(repo)
    measure(repo, args.kinds, args.rounds, f"N={args.files}")
    if not args.no_double:
        if not (repo / (_module(2 * args.files - 1).replace(".", "/") + ".py")).exists():
            generate(repo, args.files, args.files, args.file_bytes)
            commit(repo)
        measure(repo, args.kinds, args.rounds, f"2N={2 * args.files}")
    print(f"load average {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
