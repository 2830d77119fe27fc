"""The request lines a forked worker builds for a dry run, handed to the parent as a file.

A dry run writes every request line, and the lines are larger than the files they carry
(the file JSON-encoded, numbered for an audit, with its imports): sent back through the
workers' pipes they would be pickled, copied through the pipe and unpickled in the one
process that writes them, which would then do most of the work the workers saved. Instead a
worker writes its chunk's lines, in order, to a file of its own in a directory of the run,
and the parent copies that file into the requests file in the kernel (`os.sendfile`) when
the chunk's turn comes, then removes it. Only chunks in flight exist at a time, so the disk
used is bounded like the pipes' contents.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from typing import BinaryIO


class LineSpill:
    """A run's directory of chunk files; `write` in a worker, `move_into` in the parent."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(
            prefix="ci-reviewer-lines-", ignore_cleanup_errors=True
        )
        self._serial = itertools.count()

    def write(self, lines: list[bytes]) -> str:
        """The name of a new file holding `lines`, each ended by a newline."""
        name = os.path.join(self._directory.name, f"{os.getpid()}-{next(self._serial)}")
        with open(name, "wb", buffering=0) as handle:
            _write_all(handle, b"\n".join(lines))
            _write_all(handle, b"\n")
        return name

    def move_into(self, sink: BinaryIO, name: str) -> None:
        """Append the file `name` to `sink`, then remove it."""
        try:
            with open(name, "rb") as source:
                _copy(source, sink)
        finally:
            os.unlink(name)

    def close(self) -> None:
        self._directory.cleanup()


def _write_all(handle: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = handle.write(view)
        view = view[written or 0 :]


def _copy(source: BinaryIO, sink: BinaryIO) -> None:
    size = os.fstat(source.fileno()).st_size
    try:
        target = sink.fileno()
    except (AttributeError, OSError, ValueError):  # an in-memory sink
        shutil.copyfileobj(source, sink)
        return
    sink.flush()  # what the sink holds goes first
    offset = 0
    try:
        while offset < size:
            sent = os.sendfile(target, source.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent
    except OSError:  # a sink the kernel cannot copy into: through this process instead
        source.seek(offset)
        shutil.copyfileobj(source, sink)
        return
    if offset < size:
        source.seek(offset)
        shutil.copyfileobj(source, sink)
