"""Who works on a library: the worker lock, and the status a running worker publishes.

`photoclip status` reads this rather than guessing: the lock says whether a worker is
alive (the kernel drops it when its holder dies, however it dies), the status file
what it is doing. The file is written through a temp file and a rename, so a reader
never sees half of it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from photoclip.core import paths
from photoclip.core.errors import PhotoclipError
from photoclip.worker import runtime

MAX_STATUS_BYTES = 1 << 16


class WorkerRunning(PhotoclipError):
    def __init__(self, pid: int | None) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(f"A photoclip worker is already watching this library{who}; stop it first, or let it do the work.")
        self.pid = pid


def worker_lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".worker")


def _flock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class WorkerLock:
    """One worker per library; held for the worker's whole life, never blocks."""

    def __init__(self, db_path: Path) -> None:
        self.path = worker_lock_path(db_path)
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise PhotoclipError(f"Cannot create the worker lock {self.path}: {exc.strerror or exc}") from exc
        if not _flock(fd):
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"\n{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> int | None:
        try:
            value = paths.read_regular_file(self.path, 64).decode("ascii", "replace").strip()
        except (OSError, paths.NotAPlainFile):
            return None
        return int(value) if value.isdigit() else None

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def worker_alive(db_path: Path) -> bool:
    """Whether some process holds the worker lock (probed without waiting)."""
    if not worker_lock_path(db_path).exists():
        return False
    probe = WorkerLock(db_path)
    try:
        fd = os.open(probe.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        # Taking it means nobody held it (closing the descriptor drops our probe).
        return not _flock(fd)
    finally:
        os.close(fd)


def publish(db_path: Path, document: dict[str, Any]) -> None:
    """Replace the library's status file (in the private runtime folder)."""
    target = runtime.status_path(db_path)
    runtime.make_private_dir(target.parent)
    paths.write_atomically(target, json.dumps(document, ensure_ascii=True).encode("ascii"), 0o600)


def withdraw(db_path: Path) -> None:
    try:
        runtime.status_path(db_path).unlink()
    except FileNotFoundError:
        pass


def worker_status(db_path: Path) -> dict[str, Any]:
    """What `photoclip status` shows: {"running", "model_loaded", "pid", "indexing", ...}."""
    if not worker_alive(db_path):
        return {"running": False, "model_loaded": False, "pid": None, "indexing": None}
    published: dict[str, Any] = {}
    target = runtime.status_path(db_path)
    try:
        runtime.check_private_dir(target.parent)
        raw = json.loads(paths.read_regular_file(target, MAX_STATUS_BYTES).decode("ascii"))
        if isinstance(raw, dict) and raw.get("db") == os.path.realpath(db_path):
            published = raw
    except (OSError, ValueError, UnicodeDecodeError, paths.NotAPlainFile, runtime.NotPrivate):
        pass  # a worker that has not published yet (or another user's): running, details unknown
    return {
        **published,
        "running": True,
        "pid": published.get("pid") or WorkerLock(db_path).holder(),
        "model_loaded": bool(published.get("model_loaded", False)),
        "indexing": published.get("indexing"),
    }
