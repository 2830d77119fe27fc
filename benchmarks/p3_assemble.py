"""P3: assemble batch requests for a generated repository, against a raw read of it.

Generates a git repository of N text files (default 100,000 of ~15 KB, ~1.5 GB), then, in
the same run and with a warm page cache, times:
- raw: `git ls-files -z | xargs -0 cat > /dev/null`;
- ours: collect + build + split into batches (everything `batch submit` does before the
  first API call, through the same `assemble` it calls: on a large run the per-file work
  is spread over forked workers, one per CPU), in a fresh process whose peak RSS (VmHWM)
  is recorded, with its own CPU time and that of its children (workers and git);
- send: then producing every batch's create body as the create call streams it (the
  requests are rebuilt from the files; the bytes go to a sink instead of a socket), reported
  on its own so the work moved out of assembly is not hidden.
Then doubles the repository and measures ours again, to show memory stays flat.
Targets: ours <= 1.5x raw; peak <= 256 MB and flat when the repository doubles.

    python benchmarks/p3_assemble.py [--files 100000] [--file-bytes 15000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ASSEMBLE = """
import resource, sys, time
from datetime import datetime, timezone
from pathlib import Path
from ci_reviewer.batch.assemble import Resend, assemble
from ci_reviewer.batch.collect import CollectStats, head_commit
from ci_reviewer.batch.estimate import BatchEstimate
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.report import ReportKind
from ci_reviewer.batch.split import RecordSpool
from ci_reviewer.batch.state import EmptyStore, StateDocument
from ci_reviewer.config import JobConfig

def peak():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

repo = Path(sys.argv[1])
run = JobRun(
    name="p3", job=JobConfig(kind="report"), model="claude-sonnet-5-5", kind=ReportKind(repo),
    workdir=repo, store=EmptyStore(), api=None, now=lambda: datetime.now(timezone.utc),
)
head = head_commit(repo)
resend = Resend(run, head)
stats, estimate = CollectStats(), BatchEstimate()
spool = RecordSpool()  # as submit plans: each full batch's records leave memory
batches = list(assemble(
    run, resend, StateDocument(job="p3"), head, stats=stats, estimate=estimate, spool=spool
))
assembled, assembly_peak = time.perf_counter(), peak()
# CPU of this process and of its children (the forked planning workers, and git), and the
# largest child's peak RSS (git's index and tree walk, or a worker).
me = resource.getrusage(resource.RUSAGE_SELF)
children = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime, children.ru_maxrss / 1024)
sent = sum(len(chunk) for batch in batches for chunk in batch.body(resend))
assert sent == sum(batch.size for batch in batches)
assert estimate.requests == sum(batch.count for batch in batches) == stats.selected
print(sum(b.count for b in batches), assembly_peak, time.perf_counter() - assembled, peak(), *cpu)
"""


def generate(repo: Path, start: int, count: int, size: int) -> None:
    line = "def function_{i}(value):  # generated benchmark source line\n"
    body_lines = max(1, size // len(line))
    for i in range(start, start + count):
        path = repo / f"pkg{i // 1000:03d}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line.format(i=i * 1000 + j) for j in range(body_lines)))
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}  # fmt: skip
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "gen"], check=True, env=env)
    # Let the kernel write the generated GBs back first: otherwise the spool writes being
    # timed queue behind that writeback, which a real checkout has long finished.
    os.sync()


def raw_read(repo: Path) -> float:
    started = time.perf_counter()
    subprocess.run("git ls-files -z | xargs -0 cat > /dev/null", shell=True, check=True, cwd=repo)
    return time.perf_counter() - started


class Assembly(NamedTuple):
    seconds: float  # wall time of the fresh process up to the end of assembly
    requests: int
    peak_mb: float  # VmHWM of the process at the end of assembly
    send_seconds: float  # producing every batch body afterwards
    send_peak_mb: float
    own_cpu: float  # CPU seconds of the process itself
    children_cpu: float  # of the forked planning workers and git
    child_peak_mb: float  # the largest child's peak RSS


def assemble(repo: Path) -> Assembly:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", ASSEMBLE, str(repo)], check=True, capture_output=True, text=True
    ).stdout.split()
    wall = time.perf_counter() - started
    send = float(out[2])
    return Assembly(wall - send, int(out[0]), float(out[1]), send, *map(float, out[3:]))


def measure(repo: Path) -> tuple[float, Assembly]:
    raw_read(repo)  # warm the page cache for both
    raw = min(raw_read(repo) for _ in range(2))
    return raw, min(assemble(repo) for _ in range(2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--file-bytes", type=int, default=15_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        repo = Path(directory)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        # No automatic `git gc` (100,000 new loose objects start one in the background,
        # which would take a core from the runs being timed).
        subprocess.run(["git", "-C", str(repo), "config", "gc.auto", "0"], check=True)
        generate(repo, 0, args.files, args.file_bytes)
        raw, ours = measure(repo)
        generate(repo, args.files, args.files, args.file_bytes)
        raw2, ours2 = measure(repo)
    for label, r, a in (("N", raw, ours), ("2N", raw2, ours2)):
        print(f"{label:>3}: {a.requests} requests  raw {r:.2f} s  ours {a.seconds:.2f} s  "
              f"ratio {a.seconds / r:.2f}x  peak {a.peak_mb:.0f} MB  (CPU: own "
              f"{a.own_cpu:.2f} s, workers and git {a.children_cpu:.2f} s, largest child "
              f"{a.child_peak_mb:.0f} MB)  |  bodies at send {a.send_seconds:.2f} s, peak "
              f"{a.send_peak_mb:.0f} MB")  # fmt: skip
    ok = ours.seconds / raw <= 1.5 and ours.peak_mb <= 256 and ours2.peak_mb <= ours.peak_mb * 1.2
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
