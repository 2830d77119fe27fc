"""Planning a large run on every core: forked workers give the same results, in order, as
one process; their errors reach the caller intact; they never outlive the run.

Forking is refused in a process with other threads, and a test process may have some (the
emulators serve from threads), so the forking cases run in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from ci_reviewer.batch.fanout import ordered_map
from tests.batch.conftest import git

# Workers are forked on Linux only; elsewhere the same calls run in-process.
FORKS = sys.platform.startswith("linux")


def fresh_python(script: str, *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_workers_answer_in_input_order_from_other_processes() -> None:
    out = fresh_python(
        """
        import json, os
        from ci_reviewer.batch.fanout import ordered_map

        def work(chunk):
            return [(item * 2, os.getpid()) for item in chunk]

        pairs = ordered_map(work, range(5000), workers=2, chunk=64, serial_first=100)
        results = [(item, *result) for item, result in pairs]
        print(json.dumps({"results": results, "parent": os.getpid()}))
        """
    )
    data = json.loads(out)
    assert [item for item, _, _ in data["results"]] == list(range(5000))
    assert [value for _, value, _ in data["results"]] == [item * 2 for item in range(5000)]
    pids = [pid for _, _, pid in data["results"]]
    assert set(pids[:100]) == {data["parent"]}  # a short input never forks
    workers = set(pids[100:]) - {data["parent"]}
    assert len(workers) == (2 if FORKS else 0)  # the rest went to two workers


def test_a_list_known_to_be_long_forks_after_its_first_64_items() -> None:
    # 2048 items run in-process before an input of unknown length is judged long; a list of
    # 3000 is known to be long, so only the first 64 (the first chunk's share) wait.
    out = fresh_python(
        """
        import json, os
        from ci_reviewer.batch.fanout import ordered_map

        pairs = ordered_map(lambda chunk: [os.getpid() for _ in chunk], list(range(3000)),
                            workers=2, chunk=64)
        print(json.dumps({"pids": [pid for _, pid in pairs], "parent": os.getpid()}))
        """
    )
    data = json.loads(out)
    assert len(data["pids"]) == 3000
    assert set(data["pids"][:64]) == {data["parent"]}
    assert (data["parent"] in data["pids"][64:]) is not FORKS


def test_with_another_thread_running_everything_stays_in_this_process() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        results = list(
            ordered_map(
                lambda chunk: [os.getpid() for _ in chunk],
                range(3000),
                workers=2,
                serial_first=10,
            )
        )
    finally:
        stop.set()
        thread.join()
    assert [item for item, _ in results] == list(range(3000))
    assert {pid for _, pid in results} == {os.getpid()}


def test_a_worker_error_is_raised_by_the_caller_with_its_message_and_hint() -> None:
    out = fresh_python(
        """
        from ci_reviewer.batch.fanout import ordered_map
        from ci_reviewer.errors import InputError

        def work(chunk):
            if 4242 in chunk:
                raise InputError("src/odd.py could not be read", hint="check out again")
            return chunk

        try:
            list(ordered_map(work, range(10000), workers=2, chunk=50, serial_first=100))
        except InputError as error:
            print(type(error).__name__, error.exit_code)
            print(error)
            print("cause:", type(error.__cause__).__name__, "work" in str(error.__cause__))
        """
    )
    assert out.splitlines() == [
        "InputError 2",
        "src/odd.py could not be read",
        "  hint: check out again",
        "cause: RemoteTraceback True",
    ]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; only its entry is left


SLOW_RUN = """
    import os, sys, time
    from ci_reviewer.batch.fanout import ordered_map

    def work(chunk):
        with open(sys.argv[1], "a") as out:
            out.write(f"{os.getpid()}\\n")
        time.sleep(0.2)
        return chunk

    try:
        for _ in ordered_map(work, range(10**6), workers=2, chunk=10, serial_first=10):
            pass
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
"""


def start_slow_run(pids: Path, **popen: Any) -> subprocess.Popen[str]:
    """A long fan-out in a fresh interpreter; each chunk's worker pid is appended to `pids`."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SLOW_RUN), str(pids)],
        cwd=Path(__file__).resolve().parents[2],
        text=True,
        **popen,
    )


def started_workers(run: subprocess.Popen[str], pids: Path) -> set[int]:
    """The worker pids, once every worker has taken a chunk (where workers are forked), or
    once the run has worked at all (where everything runs in-process)."""
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if pids.exists():
            workers = {int(p) for p in pids.read_text().split()} - {run.pid}
            if len(workers) >= (2 if FORKS else 0):
                break
    return workers


def test_workers_exit_quietly_when_the_run_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # A file, not a pipe: the workers hold it too, and nothing waits for its end.
    with (tmp_path / "stderr").open("w") as stderr:
        run = start_slow_run(pids, stderr=stderr)
    try:
        workers = started_workers(run, pids)
        assert len(workers) == (2 if FORKS else 0)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    finally:
        run.kill()
        run.wait()
    # Each worker was mid-chunk: it found its answer had nowhere to go, and said nothing.
    assert (tmp_path / "stderr").read_text() == ""


def test_ctrl_c_while_the_workers_start_stops_those_started() -> None:
    # The Ctrl-C comes right after the first fork; it is held until every worker has set
    # itself to ignore it, and then taken by the parent alone.
    out = fresh_python(
        """
        import multiprocessing, os, signal
        from ci_reviewer.batch.fanout import ordered_map

        forks = []

        def after_fork():
            forks.append(os.getpid())
            if len(forks) == 1:
                os.kill(os.getpid(), signal.SIGINT)

        os.register_at_fork(after_in_parent=after_fork)
        try:
            list(ordered_map(lambda chunk: chunk, range(100), workers=2, chunk=10, serial_first=10))
        except KeyboardInterrupt:
            alive = [child.pid for child in multiprocessing.active_children()]
            print("interrupted after", len(forks), "forks; workers alive:", alive)
        """
    )
    forks = 2 if FORKS else 0
    assert out.splitlines() == [f"interrupted after {forks} forks; workers alive: []"]


PLAN_BOTH_WAYS = """
    import json, sys
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

    repo = Path(sys.argv[1])
    job = JobConfig(kind="report", max_file_bytes=2000, max_requests_per_batch=700)
    run = JobRun(
        name="plan", job=job, model="claude-sonnet-5-5", kind=ReportKind(repo), workdir=repo,
        store=EmptyStore(), api=None, now=lambda: datetime.now(timezone.utc),
    )
    head = head_commit(repo)

    def planned(workers, spool=None):
        resend = Resend(run, head)
        stats, estimate = CollectStats(), BatchEstimate()
        batches = assemble(
            run, resend, StateDocument(job="plan"), head, stats=stats, estimate=estimate,
            workers=workers, spool=spool,
        )
        return {
            "batches": [
                {"size": b.size, "ids": list(b.manifest), "body": b"".join(b.body(resend)).decode()}
                for b in batches
            ],
            "selected": stats.selected,
            "skipped": dict(stats.skipped),
            "estimate": [estimate.requests, estimate.bytes, estimate.input_tokens],
        }

    with RecordSpool() as spool:  # as submit plans: full batches' records on disk
        print(json.dumps({"serial": planned(0), "workers": planned(2, spool)}))
"""


def test_a_large_run_plans_the_same_batches_with_workers_as_in_one_process(
    repo: Path,
) -> None:
    for i in range(2600):
        path = repo / f"pkg{i // 100:02d}" / f"m{i}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"VALUE_{i} = {i}\n" * (1 + i % 7))
    # After the first 2,048 files (planned in-process), one of each thing to skip or read
    # from git's object store rather than the checkout.
    tail = repo / "zz"
    tail.mkdir()
    (tail / "image.bin").write_bytes(b"\x89PNG\0\0" * 10)
    (tail / "empty.py").write_text("")
    (tail / "gen.py").write_text("# Code generated by protoc. DO NOT EDIT.\nx = 1\n")
    (tail / "big.py").write_text("x = 1\n" * 1000)
    (tail / "latin1.py").write_bytes("caf\xe9 = 1\n".encode("latin-1"))
    (tail / "edited.py").write_text("committed = 1\n")
    (tail / "link.py").symlink_to("edited.py")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "many files")
    (tail / "edited.py").write_text("edited in the checkout, not committed\n")

    both = json.loads(fresh_python(PLAN_BOTH_WAYS, str(repo)))

    assert both["workers"] == both["serial"]
    plan = both["serial"]
    assert plan["selected"] == 2600 + 2 + 1  # the fixture's two files and zz/edited.py
    assert [len(b["ids"]) for b in plan["batches"]] == [700, 700, 700, 503]
    assert plan["skipped"] == {
        "binary": 2,  # NUL bytes, and not UTF-8
        "empty": 1,
        "noise: generated code": 1,
        "larger than max_file_bytes": 1,
        "submodule or symlink": 1,
    }
    body = plan["batches"][-1]["body"]
    assert "committed = 1" in body and "edited in the checkout" not in body


def test_ctrl_c_stops_the_run_and_its_workers_with_one_message(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # Its own process group, as a terminal's Ctrl-C reaches.
    run = start_slow_run(pids, stderr=subprocess.PIPE, start_new_session=True)
    try:
        workers = started_workers(run, pids)
        assert len(workers) == (2 if FORKS else 0)  # the Ctrl-C reaches a running pool
        os.killpg(run.pid, signal.SIGINT)
        _, stderr = run.communicate(timeout=30)
    finally:
        run.kill()
        run.wait()
        if run.stderr is not None:  # left open after a timeout, it warns in a later test
            run.stderr.close()
    assert run.returncode == 0
    assert stderr.strip() == "interrupted"  # no traceback from any worker
    assert not any(_alive(pid) for pid in workers)


def test_chunks_and_answers_larger_than_a_pipe_holds_do_not_stall_the_run() -> None:
    """A worker writing an answer the parent is not reading yet (it waits for an earlier
    chunk) while the parent writes it the next chunk: each larger than a socket buffer
    (~208 KB on Linux), so neither write can finish until the other side reads."""
    out = fresh_python(
        """
        import signal, sys
        from ci_reviewer.batch.fanout import ordered_map

        signal.signal(signal.SIGALRM, lambda *_: sys.exit("stalled: no answer in 120 s"))
        signal.alarm(120)  # a second or two when it works, even on a loaded machine
        item = "x" * 2000  # a chunk of 512 is ~1 MB to send, and as much to answer

        def work(chunk):
            return [text.upper() for text in chunk]

        results = ordered_map(work, (f"{n:06d}{item}" for n in range(6000)), workers=2,
                              serial_first=10)
        answers = [answer for _, answer in results]
        print(len(answers), answers[0][:6], answers[-1][:6], len(set(map(len, answers))))
        """,
        timeout=180,
    )
    assert out.split() == ["6000", "000000", "005999", "1"]
