"""The Claude emulator's clock: batch deadlines (24 h) and cache lifetimes (5 min, 1 h) are
measured on it, so tests move time forward instead of waiting."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class EmulatedClock:
    """A clock that only moves when told to (`start` given) or that follows wall time plus
    every `advance` (`start` None: what a demo wants, so batch ages look real)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        base = self._start if self._start is not None else datetime.now(timezone.utc)
        with self._lock:
            return base + self._offset

    def advance(self, hours: float = 0.0, minutes: float = 0.0, seconds: float = 0.0) -> datetime:
        """Move time forward and return the new now."""
        with self._lock:
            self._offset += timedelta(hours=hours, minutes=minutes, seconds=seconds)
        return self.now()


def rfc3339(moment: datetime) -> str:
    """The API's timestamp shape: UTC with a Z."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
