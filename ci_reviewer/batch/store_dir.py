"""The state document in a local directory (`--state-dir`): `<dir>/<job>.json`.

A save is a compare-and-swap under an exclusive lock on `<job>.lock`: the version is the
SHA-256 of the stored bytes, and the new bytes replace the file atomically (write, fsync,
rename), so a crash leaves the old document or the new one, never half of one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ci_reviewer.batch.state import (
    Loaded,
    StateConflict,
    StateDocument,
    dump_state,
    parse_state,
)
from ci_reviewer.errors import InputError


def _version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DirectoryStore:
    """A StateStore on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def describe(self, job: str) -> str:
        return str(self._path(job))

    def _path(self, job: str) -> Path:
        return self.directory / f"{job}.json"

    def load(self, job: str) -> Loaded:
        path = self._path(job)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return Loaded(StateDocument(job=job), None)
        except OSError as error:
            raise InputError(f"cannot read the batch state {path}: {error.strerror}") from None
        return Loaded(parse_state(data, job, str(path)), _version(data))

    def save(self, document: StateDocument, version: str | None) -> str:
        path = self._path(document.job)
        data = dump_state(document)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self._locked(document.job):
                current = _version(path.read_bytes()) if path.exists() else None
                if current != version:
                    raise StateConflict(f"{path} changed since it was loaded")
                temporary = path.with_suffix(".json.tmp")
                with open(temporary, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, path)
        except OSError as error:
            raise InputError(
                f"cannot write the batch state {path}: {error.strerror}",
                hint="pass a writable directory to --state-dir",
            ) from None
        return _version(data)

    @contextmanager
    def _locked(self, job: str) -> Iterator[None]:
        with open(self.directory / f"{job}.lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
