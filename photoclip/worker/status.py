"""Who works on a library: the worker lock, and the status a running worker publishes.

`photoclip status` reads this rather than guessing: the lock says whether a worker is
alive (the kernel drops it when its holder dies, however it dies), the status file
what it is doing. The file is written through a temp file and a rename, so a reader
never sees half of it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from photoclip.core import paths
from photoclip.core.errors import PhotoclipError
from photoclip.core.pidlock import PidLock
from photoclip.worker import runtime

MAX_STATUS_BYTES = 1 << 16


class WorkerRunning(PhotoclipError):
    def __init__(self, pid: int | None, kind: str | None = None) -> None:
        who = f" (pid {pid})" if pid else ""
        if kind == "app":
            text = f"The photoclip app is open on this library{who} and keeps it up to date already; close it first, or let it do the work."
        else:
            text = f"A photoclip worker is already watching this library{who}; stop it first, or let it do the work."
        super().__init__(text)
        self.pid = pid
        self.kind = kind


def worker_lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".worker")


class WorkerLock(PidLock):
    """One worker per library; held for the worker's whole life, never blocks."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(worker_lock_path(db_path), "worker lock")


def worker_alive(db_path: Path) -> bool:
    """Whether some process holds the worker lock (probed without waiting)."""
    return worker_lock_path(db_path).exists() and WorkerLock(db_path).taken()


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
        # What describe_worker reads of it: a published value of another shape (a damaged
        # file, another version's) is shown as none, not a traceback out of `status`.
        "indexing": published.get("indexing") if isinstance(published.get("indexing"), dict) else None,
    }
