"""Ordered work spread over forked worker processes.

Planning a large first run is CPU work per file (read, check, decode, JSON-encode, hash) in
pure Python, where threads would only take turns on one core. Forked workers each run the
same function on chunks of the input, and their results come back in input order, so what
is planned does not depend on how many workers planned it.

Forking is used only where it is safe and pays: on Linux, from a process with no other
thread (a fork copies locks that another thread may hold), with two or more workers asked
for (`default_workers`: one per usable CPU), and only once the input has proved long (the
first `serial_first` items run in-process, so a small run never forks; a list known to be
long forks after its first few). Otherwise every item
runs in-process: same results, one core.

`CI_REVIEWER_WORKERS=N` caps the workers (1: plan in this process only);
`CI_REVIEWER_SERIAL_FIRST=N` sets how many items run in-process before any fork (a testing
aid: a small repository forks too).

Only the items and the results cross between processes (pickled); the function itself, and
whatever it holds, is inherited through the fork. A worker that fails sends its exception
back, and the caller raises it; a worker whose parent dies or stops listening (Ctrl-C, an
error) reads end-of-file or finds the pipe closed, and exits without a word.

A chunk's answer larger than a small share of the socket's buffer goes through a file of the
run's own directory, and only its name through the socket. Otherwise the two could wait on
each other for good: the parent writing a worker its next chunk (which the worker reads only
once its answer is sent) while the worker writes an answer the parent reads only once that
write is done, each larger than the buffer. An answer that fits in the buffer never blocks
its worker, which then goes on to read the chunk.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import socket
import sys
import tempfile
import threading
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sized
from itertools import islice
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Work = Callable[[list[T]], list[R]]

MAX_WORKERS = 4
CHUNK = 512
SERIAL_FIRST = 2048
WARM_FIRST = 64
_IN_FLIGHT = 2  # chunks queued per worker: one being worked on, one waiting
_JOIN_SECONDS = 5.0
# An answer of at most this share of the socket's send buffer is sent inline: the answers a
# worker has sent and the parent not yet read (at most _IN_FLIGHT) then fit in it, with
# room for the kernel's bookkeeping.
_INLINE_SHARE = 2 * _IN_FLIGHT
_INLINE, _SPILLED = b"=", b"@"


def default_workers(limit: int = MAX_WORKERS) -> int:
    """One worker per CPU this process may use, up to `limit` (and CI_REVIEWER_WORKERS)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cpus or 1, limit, _setting("CI_REVIEWER_WORKERS") or limit)


def _setting(name: str) -> int | None:
    """A positive whole number from the environment, or None (unset or not a number)."""
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def can_fork() -> bool:
    """Whether forking workers is safe here: on Linux (elsewhere fork is unsafe or absent),
    from a process with no other thread (a fork copies locks another thread may hold)."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


def ordered_map(
    work: Work[T, R],
    items: Iterable[T],
    *,
    workers: int,
    chunk: int = CHUNK,
    serial_first: int | None = None,
) -> Generator[tuple[T, R], None, None]:
    """(item, result) of `work` applied to `items` in chunks, in input order (the item comes
    back so a worker need not send it back). With `workers` below 2, or where `can_fork()`
    says no, everything runs in-process. `serial_first`: by default SERIAL_FIRST, or
    CI_REVIEWER_SERIAL_FIRST. Closing the generator stops the workers."""
    if serial_first is None:
        serial_first = _setting("CI_REVIEWER_SERIAL_FIRST") or _head(items)
    iterator = iter(items)
    head = list(islice(iterator, serial_first))
    for at in range(0, len(head), chunk):
        part = head[at : at + chunk]
        yield from zip(part, work(part), strict=True)
    if len(head) < serial_first:
        return
    chunks = _chunks(iterator, chunk)
    if workers < 2 or not can_fork():
        for part in chunks:
            yield from zip(part, work(part), strict=True)
        return
    with _Pool(work, workers) as pool:
        yield from pool.map(chunks)


def _head(items: Iterable[Any]) -> int:
    """How many items run in-process before any fork: SERIAL_FIRST, or only WARM_FIRST for
    an input known to be longer (a list), which will fork anyway. Those few build in this
    process what every item needs once per run (the tracked files' index, the examples'), so
    the workers inherit it; the rest of a long run's serial head would be one core idle."""
    return WARM_FIRST if isinstance(items, Sized) and len(items) > SERIAL_FIRST else SERIAL_FIRST


def _chunks(iterator: Iterator[T], size: int) -> Iterator[list[T]]:
    while part := list(islice(iterator, size)):
        yield part


class _Pool:
    """Forked workers, each fed chunks round-robin over its own pipe; a bounded number of
    chunks is in flight, so memory does not grow with the input."""

    def __init__(self, work: Work[Any, Any], count: int) -> None:
        context = multiprocessing.get_context("fork")
        self._connections: list[Connection] = []
        self._processes: list[Any] = []
        # Where answers too large for the socket go; made before the fork, so each worker
        # knows it (a worker never removes it: it ends with os._exit, no finalizer runs).
        self._spill = tempfile.TemporaryDirectory(
            prefix="ci-reviewer-answers-", ignore_cleanup_errors=True
        )
        # Ctrl-C is held back while workers are forked: a worker must not take one before it
        # has set itself to ignore it (it would print a traceback of its own); the parent
        # takes a held one as soon as the workers are started.
        try:
            with _sigint_held():
                for _ in range(count):
                    self._start(context, work)
        except BaseException:
            # A failed fork, or the held Ctrl-C, taken as the block ends: the workers
            # started so far stop now, not when this process exits.
            self.close(graceful=False)
            raise

    def _start(self, context: Any, work: Work[Any, Any]) -> None:
        parent, child = context.Pipe()
        # The child must not keep the parent's ends open (its own and those of earlier
        # workers): then a dead parent reads as end-of-file, and the worker exits.
        inherited = [parent, *self._connections]
        outbox = _Outbox(self._spill.name, _inline_limit(child))
        process = context.Process(target=_serve, args=(work, child, inherited, outbox), daemon=True)
        process.start()
        child.close()
        self._connections.append(parent)
        self._processes.append(process)

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(graceful=exc_info[0] is None)

    def map(self, chunks: Iterator[list[Any]]) -> Iterator[tuple[Any, Any]]:
        waiting: deque[tuple[Connection, list[Any]]] = deque()
        limit = _IN_FLIGHT * len(self._connections)
        for number, part in enumerate(chunks):
            connection = self._connections[number % len(self._connections)]
            connection.send(part)
            waiting.append((connection, part))
            if len(waiting) >= limit:
                yield from _received(*waiting.popleft())
        while waiting:
            yield from _received(*waiting.popleft())

    def close(self, graceful: bool) -> None:
        if not graceful:
            # Every worker is stopped before any pipe closes: one that finished its chunk
            # meanwhile would otherwise write to a closed pipe.
            for process in self._processes:
                process.terminate()
        for connection in self._connections:
            if graceful:
                with contextlib.suppress(OSError):  # that worker is gone already
                    connection.send(None)
            connection.close()
        for process in self._processes:
            process.join(_JOIN_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        self._spill.cleanup()  # after the joins: no worker writes into it any more


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """SIGINT blocked (held pending, not lost) inside the block."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class RemoteTraceback(Exception):
    """Where a worker's exception was raised (its traceback, as text), chained as the cause
    of the exception the caller raises."""

    def __str__(self) -> str:
        return str(self.args[0])


def _received(connection: Connection, part: list[Any]) -> Iterator[tuple[Any, Any]]:
    try:
        message = connection.recv_bytes()
    except EOFError:
        raise RuntimeError("a worker process died before it answered") from None
    # Written by this program's own forked worker, as `Connection.recv` would unpickle it
    # (a spilled answer in a directory only this user can write: mkdtemp makes it 0700).
    ok, value, where = pickle.loads(_Outbox.opened(message))  # noqa: S301
    if not ok:
        raise value from RemoteTraceback(where)
    return zip(part, value, strict=True)


def _inline_limit(connection: Connection) -> int:
    """The largest answer sent through `connection` itself (see _INLINE_SHARE)."""
    with socket.socket(fileno=os.dup(connection.fileno())) as end:
        return end.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) // _INLINE_SHARE


class _Outbox:
    """How a worker's answer reaches the parent: pickled, inline when small, else in a file
    of the spill directory whose name is sent instead."""

    def __init__(self, directory: str, limit: int) -> None:
        self.directory = directory
        self.limit = limit
        self._sent = 0

    def message(self, data: bytes) -> bytes:
        if len(data) <= self.limit:
            return _INLINE + data
        self._sent += 1
        name = os.path.join(self.directory, f"{os.getpid()}-{self._sent}")
        try:
            with open(name, "wb") as handle:
                handle.write(data)
        except OSError as error:  # the disk is full, say: the caller raises it
            return _INLINE + pickle.dumps((False, error, traceback.format_exc()))
        return _SPILLED + os.fsencode(name)

    @staticmethod
    def opened(message: bytes) -> bytes | memoryview:
        """The pickled answer a message carries (a spilled one read, and its file removed)."""
        if message[:1] == _INLINE:
            return memoryview(message)[1:]
        name = os.fsdecode(message[1:])
        try:
            with open(name, "rb") as handle:
                return handle.read()
        finally:
            os.unlink(name)


def _serve(
    work: Work[Any, Any], connection: Connection, inherited: list[Connection], outbox: _Outbox
) -> None:
    """A worker's loop: chunks in, results (or the exception) out, until told to stop or
    until the parent is gone."""
    for other in inherited:
        other.close()
    # Ctrl-C reaches the whole process group: the parent alone answers it (and stops the
    # workers), rather than every worker printing a traceback of its own. The fork left
    # SIGINT blocked (`_sigint_held`): one that came meanwhile is dropped once ignored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    while True:
        try:
            part = connection.recv()
        except (EOFError, OSError):
            return
        if part is None:
            return
        try:
            reply: tuple[bool, Any, str] = (True, work(part), "")
        # Any failure is the caller's to report, with its type and message intact.
        except Exception as error:  # noqa: BLE001
            reply = (False, error, traceback.format_exc())
        if not _answer(connection, outbox, reply):
            return


def _answer(connection: Connection, outbox: _Outbox, reply: tuple[bool, Any, str]) -> bool:
    """Send `reply`; False once the parent has stopped listening (it died, was interrupted
    or hit an error): the worker then exits quietly, the parent reports what happened."""
    try:
        data = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # noqa: BLE001 (an exception that cannot be pickled)
        failed = RuntimeError(f"a worker failed and its error could not be sent: {error!r}")
        data = pickle.dumps((False, failed, reply[2]), pickle.HIGHEST_PROTOCOL)
    try:
        connection.send_bytes(outbox.message(data))
    except OSError:
        return False
    return True
