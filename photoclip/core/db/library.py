"""`Library`: one open library database, the facade every other package uses.

The SQL lives in the table mixins (folders.py, photos.py, vectors.py); transactions in
transactions.py; recognising the file before touching it in identity.py; the schema in
migrations.py. This module only opens, closes and answers the status counts.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from photoclip.core.db.connection import Connection, enable_wal, open_connection
from photoclip.core.db.errors import DatabaseDamaged, shown
from photoclip.core.db.folders import FolderTables
from photoclip.core.db.identity import check_library_file
from photoclip.core.db.migrations import migrate as apply_migrations
from photoclip.core.db.migrations import refuse_newer
from photoclip.core.db.open_here import FileKey, closed, open_library_file
from photoclip.core.db.photos import PhotoTables
from photoclip.core.db.records import MISSING, NEW, OK, SKIPPED
from photoclip.core.db.vectors import VectorTables
from photoclip.core.errors import PhotoclipError


class Library(FolderTables, PhotoTables, VectorTables):
    """One open library database. Create one per thread.

    Opening refuses (ForeignDatabase) any existing file that is not empty and not a
    photoclip library, before writing to it; a newer library is refused too
    (DatabaseTooNew). Errors about the file while working (read-only, disk full, locked
    for too long) come out as DatabaseProblem subclasses with a plain message.
    """

    conn: Connection
    _file_key: FileKey | None

    def __init__(self, path: str | os.PathLike[str], *, migrate: bool = True) -> None:
        self.path = Path(path)
        # Not the file's header again while this process has it open: see open_here.py.
        self.conn, self._file_key = open_library_file(self.path, check_library_file, open_connection)
        self.db = sqlite_utils.Database(self.conn)
        try:
            refuse_newer(self.db, self.path)
            enable_wal(self.conn)
            if migrate:
                apply_migrations(self, self.db, self.path)
        except BaseException as exc:
            self.close()
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, PhotoclipError):
                raise DatabaseDamaged(f"{shown(self.path)} is not a photoclip library or is damaged: {exc}") from exc
            raise

    # -- lifecycle -------------------------------------------------------

    def close(self) -> None:
        self.conn.close()
        key, self._file_key = self._file_key, None  # a second close counts nothing
        closed(key)

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- status ---------------------------------------------------------------

    def counts(self, model_id: str | None) -> dict[str, int]:
        by_status = dict(self.conn.execute("SELECT status, COUNT(*) FROM photos GROUP BY status").fetchall())
        present = by_status.get(OK, 0) + by_status.get(NEW, 0)
        embedded = 0
        if model_id:
            embedded = self.conn.execute(
                "SELECT COUNT(*) FROM vectors v JOIN photos p ON p.id = v.photo_id WHERE v.model_id = ? AND p.status IN ('ok', 'new')",
                (model_id,),
            ).fetchone()[0]
        return {
            "photos": present,
            "embedded": embedded,
            "pending": present - embedded if model_id else by_status.get(NEW, 0),
            "missing": by_status.get(MISSING, 0),
            "skipped": by_status.get(SKIPPED, 0),
            "folders": self.conn.execute("SELECT COUNT(*) FROM folders").fetchone()[0],
        }

    def skip_reasons(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT skip_reason, COUNT(*) FROM photos WHERE status = 'skipped' GROUP BY skip_reason").fetchall()
        return {r or "unknown": n for r, n in rows}
