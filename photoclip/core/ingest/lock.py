"""One indexer per library at a time: a `PidLock` beside the database.

Two indexers on one library would read the same file list and insert the same new
paths (a UNIQUE failure in one of them), and fight over the write lock.
"""

from __future__ import annotations

from pathlib import Path

from photoclip.core.errors import PhotoclipError
from photoclip.core.pidlock import PidLock


class IndexerBusy(PhotoclipError):
    """Another photoclip (this process or another) is indexing the same library."""

    def __init__(self, pid: int | None) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(f"Another photoclip is indexing this library{who}; wait for it to finish, or stop it, and try again.")
        self.pid = pid


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".indexing")


class IndexLock(PidLock):
    """Held while one indexer runs; `acquire` never blocks."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(lock_path(db_path), "indexing lock")
