"""The one transaction style of the library: `with lib.transaction():`.

The outermost block opens `BEGIN IMMEDIATE`, which takes the write lock at once (a
deferred BEGIN that upgrades later can fail with "database is locked" without waiting).
A block inside it is a SAVEPOINT: on success it is released into the outer
transaction, on an exception it is rolled back to where it started and the outer
transaction carries on, so a failed step leaves the rest of the work intact. An
exception escaping the outermost block rolls everything back.

Keep write transactions short: a connection in a transaction blocks every other
writer (the viewer's tag edit, the tagger, a second CLI) for as long as it is open.

`begin()` / `commit()` remain for code that streams writes in chunks (the indexing
pipeline) and open and close the same outermost transaction; new code uses
`transaction()`.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

# Savepoint names only need to be unique among the open ones; a process-wide counter is.
_savepoint_numbers = itertools.count(1)


class TransactionalStore:
    """The transaction machinery shared by the library's table mixins."""

    conn: sqlite3.Connection
    # How many transaction() blocks are open on this object: commit() inside one is a bug.
    _open_blocks: int = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes; nested blocks are savepoints. Commits on success, rolls back on any exception."""
        conn = self.conn
        self._open_blocks += 1
        try:
            if conn.in_transaction:
                with self._savepoint(conn):
                    yield
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                except BaseException:
                    _rollback(conn)
                    raise
                _commit(conn)
        finally:
            self._open_blocks -= 1

    @staticmethod
    @contextmanager
    def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
        name = f"photoclip_{next(_savepoint_numbers)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            # Some errors (a full disk, an I/O error) end the whole transaction, savepoints
            # included; rolling back to a savepoint that is gone would hide the real error.
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        conn.execute(f"RELEASE SAVEPOINT {name}")

    def begin(self) -> None:
        """Open the outermost write transaction unless one is open. Prefer transaction()."""
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """End the transaction begin() opened, making its writes visible to other connections."""
        self._refuse_inside_block("commit")
        if self.conn.in_transaction:
            _commit(self.conn)

    def rollback(self) -> None:
        """Drop the writes since begin()."""
        self._refuse_inside_block("rollback")
        _rollback(self.conn)

    def _refuse_inside_block(self, what: str) -> None:
        if self._open_blocks:
            # Ending the transaction under an open block would break the block's all-or-nothing promise.
            raise RuntimeError(f"{what}() called inside a `with lib.transaction()` block")

    def integrity_ok(self) -> bool:
        return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def _commit(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)  # a COMMIT that fails (disk full) must not leave the transaction open
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")
