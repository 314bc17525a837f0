"""Files that may change under a running proxy: re-read when they do, at most so often."""

from __future__ import annotations

import os
from pathlib import Path

from proxy.clock import Clock, monotonic

# How often a watched file is looked at (a stat, and a read only when it changed).
CHECK_EVERY_SECONDS = 10.0


class WatchedFile:
    """The bytes of a file, refreshed when its size or modification time changes.

    `changed()` is cheap enough for the request path: it stats the file at most
    once per `check_every` seconds, and reads it only when the stat differs.
    Errors surface as OSError to the caller, who decides whether to keep the
    old content (rotation often removes a file briefly).
    """

    def __init__(self, path: Path, *, clock: Clock = monotonic,
                 check_every: float = CHECK_EVERY_SECONDS):
        self.path = path
        self._clock = clock
        self._check_every = check_every
        self._checked_at = float("-inf")
        self._signature: tuple[int, int, int] | None = None
        self.content: bytes | None = None

    def read(self) -> bytes:
        """Read now, whatever the schedule; the first load goes through here."""
        stat = os.stat(self.path)
        self.content = self.path.read_bytes()
        self._signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        self._checked_at = self._clock()
        return self.content

    def changed(self) -> bytes | None:
        """New content if the file changed since the last read, else None."""
        now = self._clock()
        if now - self._checked_at < self._check_every:
            return None
        self._checked_at = now
        stat = os.stat(self.path)
        if (stat.st_mtime_ns, stat.st_size, stat.st_ino) == self._signature:
            return None
        previous = self.content
        content = self.read()
        return content if content != previous else None
