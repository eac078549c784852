"""One indexer per library at a time: an OS file lock beside the database.

Two indexers on one library would read the same file list and insert the same new
paths (a UNIQUE failure in one of them), and fight over the write lock. The OS lock
is released by the kernel when its holder dies, however it dies, so a killed
photoclip never leaves the library locked. The lock file holds the holder's pid,
for the message the second one shows; the file itself is never deleted, since
unlinking a lock file that another process has open would split the lock in two.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from photoclip.core.errors import PhotoclipError


class IndexerBusy(PhotoclipError):
    """Another photoclip (this process or another) is indexing the same library."""

    def __init__(self, pid: int | None) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(f"Another photoclip is indexing this library{who}; wait for it to finish, or stop it, and try again.")
        self.pid = pid


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".indexing")


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    # flock, not fcntl/lockf: flock locks belong to the open file, so two threads of one
    # process (the app's indexer and a second one) exclude each other too.
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class IndexLock:
    """Held while one indexer runs; `acquire` never blocks."""

    def __init__(self, db_path: Path) -> None:
        self.path = lock_path(db_path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if free; False when another indexer holds it."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as exc:
            raise PhotoclipError(f"Cannot create the indexing lock {self.path}: {exc.strerror or exc}") from exc
        if not _try_lock(fd):
            os.close(fd)
            return False
        # The first byte stays a newline: on Windows that byte is the locked region.
        os.ftruncate(fd, 0)
        os.write(fd, f"\n{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> int | None:
        """The pid written by the current holder, if it is readable."""
        try:
            text = self.path.read_text(encoding="ascii", errors="replace")
        except OSError:
            return None
        value = text.strip()
        return int(value) if value.isdigit() else None

    def release(self) -> None:
        # Closing the descriptor drops the lock (flock and msvcrt alike).
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
