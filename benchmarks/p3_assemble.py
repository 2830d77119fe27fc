"""P3: assemble batch requests for a generated repository, against a raw read of it.

Generates a git repository of N text files (default 100,000 of ~15 KB, ~1.5 GB), then, in
the same run and with a warm page cache, times:
- raw: `git ls-files -z | xargs -0 cat > /dev/null`;
- ours: collect + build + split into batches (everything `batch submit` does before the
  first API call), in a fresh process whose peak RSS (VmHWM) is recorded;
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

ASSEMBLE = """
import sys, time
from pathlib import Path
from ci_reviewer.batch.collect import CollectStats, CommittedContent, FileSelection, head_commit
from ci_reviewer.batch.collect import tracked_files
from ci_reviewer.batch.jobs.report import ReportKind
from ci_reviewer.batch.requests import RequestBuilder
from ci_reviewer.batch.split import Limits, split
from ci_reviewer.config import JobConfig
from ci_reviewer.globs import PathFilter

def peak():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

repo = Path(sys.argv[1])
job = JobConfig(kind="report")
builder = RequestBuilder(ReportKind(repo), job, "claude-sonnet-5-5")
selection = FileSelection(PathFilter.build(["**"], []), job.max_file_bytes, True)
stats = CollectStats()
commit = head_commit(repo)
content = CommittedContent.of(repo, commit, job.max_file_bytes)
files = tracked_files(
    repo, commit=commit, selection=selection, only=None, stats=stats, content=content
)
batches = list(split((builder.build(f) for f in files), Limits()))
assembled, assembly_peak = time.perf_counter(), peak()

def line(custom_id, entry):
    path, sha, attempt = entry
    return builder.build(content.source(path, sha), attempt).line

sent = sum(len(chunk) for batch in batches for chunk in batch.body(line))
assert sent == sum(batch.size for batch in batches)
print(sum(b.count for b in batches), assembly_peak, time.perf_counter() - assembled, peak())
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


def assemble(repo: Path) -> tuple[float, int, float, float, float]:
    """(assembly s, requests, assembly peak MB, send s, peak MB with sending)."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", ASSEMBLE, str(repo)], check=True, capture_output=True, text=True
    ).stdout.split()
    send = float(out[2])
    return time.perf_counter() - started - send, int(out[0]), float(out[1]), send, float(out[3])


def measure(repo: Path) -> tuple[float, tuple[float, int, float, float, float]]:
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
        generate(repo, 0, args.files, args.file_bytes)
        raw, ours = measure(repo)
        generate(repo, args.files, args.files, args.file_bytes)
        raw2, ours2 = measure(repo)
    for label, r, (o, n, p, send, send_peak) in (("N", raw, ours), ("2N", raw2, ours2)):
        print(f"{label:>3}: {n} requests  raw {r:.2f} s  ours {o:.2f} s  ratio {o / r:.2f}x  "
              f"peak {p:.0f} MB  |  bodies at send {send:.2f} s ({(o + send) / r:.2f}x "
              f"with assembly), peak {send_peak:.0f} MB")  # fmt: skip
    ok = ours[0] / raw <= 1.5 and ours[2] <= 256 and ours2[2] <= ours[2] * 1.2
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
