"""An OS file lock beside the library that says who holds it: one indexer, one worker.

The kernel releases the lock when its holder dies, however it dies, so a killed
photoclip never leaves a library locked. The file holds the holder's pid for the
message a second process shows. It is never deleted: unlinking a lock file another
process has open would split the lock in two.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from photoclip.core import paths
from photoclip.core.errors import PhotoclipError


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on an open file without waiting; False when someone holds it."""
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


class PidLock:
    """Held by one process (or thread) at a time; `acquire` never blocks."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what  # for the message when the file cannot be made ("indexing lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if free; False when another holder has it."""
        if self._fd is not None:
            return True
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise PhotoclipError(f"Cannot create the {self.what} {self.path}: {exc.strerror or exc}") from exc
        if not try_lock(fd):
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
            value = paths.read_regular_file(self.path, 64).decode("ascii", "replace").strip()
        except (OSError, paths.NotAPlainFile):
            return None
        return int(value) if value.isdigit() else None

    def taken(self) -> bool:
        """Whether some process holds the lock now (probed without waiting, never kept)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return False
        try:
            return not try_lock(fd)  # taking it means nobody held it; closing drops the probe
        finally:
            os.close(fd)

    def release(self) -> None:
        # Closing the descriptor drops the lock (flock and msvcrt alike).
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
