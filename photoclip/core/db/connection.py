"""Opening the library file: the connection class, its settings, and error translation.

Rules kept here:
- WAL mode, so readers (the GUI, a second CLI) never block the one writer.
- One connection per thread (sqlite3 connections are not shared).
- autocommit mode (isolation_level=None): transactions are opened only by the
  transaction helper (transactions.py), never implicitly by the sqlite3 module.
- Nothing is written while the file is being recognised; the first write is the WAL
  switch, made by `enable_wal` only after identity.py has accepted the file.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from photoclip.core.db.errors import DatabaseUnavailable, shown, translate

# How long a writer waits for another one before giving up with DatabaseBusy.
BUSY_TIMEOUT_S = 30.0


class Connection(sqlite3.Connection):
    """A sqlite3 connection whose errors about the file itself come out as DatabaseProblems."""

    library_path: Path | str = "the library"

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            raise translate(exc, self.library_path) from exc

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.Error as exc:
            raise translate(exc, self.library_path) from exc

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        try:
            return super().executescript(sql_script)
        except sqlite3.Error as exc:
            raise translate(exc, self.library_path) from exc

    def commit(self) -> None:
        try:
            super().commit()
        except sqlite3.Error as exc:
            raise translate(exc, self.library_path) from exc


def open_connection(path: Path) -> Connection:
    """Connect without writing: no pragma here changes the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(f"Cannot create the folder for the library {shown(path)}: {exc.strerror or exc}.") from exc
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S, factory=Connection)
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc
    conn.library_path = path
    try:
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    return conn


def enable_wal(conn: Connection) -> None:
    """Switch the file to WAL (a write, unless it is in WAL already) and relax fsync to WAL's safe level."""
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if str(mode).lower() != "wal":
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                sqlite3.Connection.execute(conn, "PRAGMA journal_mode=WAL")  # untranslated: "locked" is retried
                break
            except sqlite3.OperationalError as exc:
                # Two processes opening a new library at once: SQLite can refuse one's switch
                # to WAL as "locked" at once, without waiting in its busy handler. Bounded.
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise translate(exc, conn.library_path) from exc
                time.sleep(0.05)
    conn.execute("PRAGMA synchronous=NORMAL")
