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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from photoclip.core.db.errors import DatabaseUnavailable, shown, translate

# How long a writer waits for another one before giving up with DatabaseBusy.
BUSY_TIMEOUT_S = 30.0
# How long a write waits for another writer's lock before `Connection.lock_wait` hears of it.
LOCK_NOTICE_S = 0.5
# What takes the write lock when run outside a transaction: the statements that can wait for
# another writer (in WAL, readers never do). A BEGIN without IMMEDIATE takes no lock.
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})


class Connection(sqlite3.Connection):
    """A sqlite3 connection whose errors about the file itself come out as DatabaseProblems."""

    library_path: Path | str = "the library"
    # Told True once a write has waited LOCK_NOTICE_S for another connection (a `photoclip
    # index` in another process) to let go of the write lock, and False when it went through
    # or gave up: the app says so in its status bar. None: SQLite waits without a word.
    lock_wait: Callable[[bool], None] | None = None

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            if self.lock_wait is not None and not self.in_transaction and takes_write_lock(sql):
                return self._execute_telling_waits(self.lock_wait, sql, parameters)
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            raise translate(exc, self.library_path) from exc

    def _execute_telling_waits(self, tell: Callable[[bool], None], sql: str, parameters: Any) -> sqlite3.Cursor:
        """`sql` with SQLite's busy wait cut in two: LOCK_NOTICE_S, then `tell(True)` and the
        rest of the connection's busy timeout. Running it again is safe: a statement refused
        the lock outside a transaction (a BEGIN IMMEDIATE, or one write on its own) changed nothing."""
        (whole_ms,) = super().execute("PRAGMA busy_timeout").fetchone()
        notice_ms = min(int(LOCK_NOTICE_S * 1000), whole_ms)
        self._busy_timeout_ms(notice_ms)
        try:
            try:
                return super().execute(sql, parameters)
            except sqlite3.OperationalError as exc:
                if not str(getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_BUSY") or notice_ms == whole_ms:
                    raise
            tell(True)
            try:
                self._busy_timeout_ms(whole_ms - notice_ms)
                return super().execute(sql, parameters)
            finally:
                tell(False)
        finally:
            self._busy_timeout_ms(whole_ms)

    def _busy_timeout_ms(self, ms: int) -> None:
        super().execute(f"PRAGMA busy_timeout={int(ms)}")

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


def takes_write_lock(sql: str) -> bool:
    """Whether `sql`, run outside a transaction, takes the write lock (may wait for another writer)."""
    words = sql.split(None, 2)
    if not words:
        return False
    first = words[0].upper()
    if first == "BEGIN":
        return len(words) > 1 and words[1].upper().rstrip(";") in ("IMMEDIATE", "EXCLUSIVE")
    return first in _WRITES


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
