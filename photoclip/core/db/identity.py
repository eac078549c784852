"""Is this file a photoclip library? Decided before a single byte of it is written.

Given another application's SQLite file by mistake (`--db ~/.mozilla/.../places.sqlite`),
photoclip used to add its tables and switch the file to WAL. Now the file is looked at
first, without writing anything:

- a path that does not exist yet, or an empty (zero-byte or table-less) SQLite file,
  becomes a new library;
- a file whose header carries photoclip's `application_id` is ours;
- a file made by an older photoclip, before the id was set, is ours when its
  sqlite-utils migrations table lists the 'photoclip' migration set;
- anything else (another app's database, a file that is not SQLite, a folder, a pipe,
  a device) is refused with `ForeignDatabase`.

The schema is read through an `immutable` read-only connection, which takes no locks and
creates no -wal or -shm file beside a stranger's database. Only when a -wal file already
holds changes (the database is open elsewhere, or its writer crashed) is a plain read-only
connection used, so those changes are seen too.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from photoclip.core.db.errors import DatabaseUnavailable, ForeignDatabase, shown

# Written into the SQLite header (offset 68) of every library: "PcLp".
APPLICATION_ID = 0x50634C70
MIGRATION_SET = "photoclip"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100


def check_library_file(path: Path) -> bool:
    """Raise unless `path` may be opened as a library. Returns True when it will be a new one."""
    where = shown(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise ForeignDatabase(f"{where} is a link to a file that does not exist; give the library's real path.") from None
        return True
    except OSError as exc:
        raise DatabaseUnavailable(f"Cannot look at the library {where}: {exc.strerror or exc}.") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ForeignDatabase(f"{where} is a folder, not a photoclip library; give the path of the library file.")
    if not stat.S_ISREG(info.st_mode):
        raise ForeignDatabase(f"{where} is not a regular file (a pipe, socket or device), so it is not a photoclip library.")
    if info.st_size == 0:
        return True
    if _header_application_id(path, where) == APPLICATION_ID:
        return False
    return _check_schema(path, where)


def _header_application_id(path: Path, where: str) -> int:
    try:
        with open(path, "rb") as file:
            header = file.read(_HEADER_SIZE)
    except OSError as exc:
        raise DatabaseUnavailable(f"Cannot read the library {where}: {exc.strerror or exc}.") from exc
    if len(header) < _HEADER_SIZE or not header.startswith(_SQLITE_MAGIC):
        raise ForeignDatabase(f"{where} is not a photoclip library (it is not a SQLite database at all); it was left untouched.")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id not in (0, APPLICATION_ID):
        raise ForeignDatabase(
            f"{where} is not a photoclip library: it belongs to another application (id {app_id:#x}); it was left untouched."
        )
    return app_id


def _check_schema(path: Path, where: str) -> bool:
    """True for an empty database, False for a photoclip library; ForeignDatabase otherwise."""
    wal = Path(f"{path}-wal")
    live_wal = wal.exists() and wal.stat().st_size > 0
    uri = path.absolute().as_uri() + ("?mode=ro" if live_wal else "?mode=ro&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"Cannot read the library {where}: {exc}.") from exc
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if app_id == APPLICATION_ID:
            return False
        if app_id != 0:
            raise ForeignDatabase(f"{where} is not a photoclip library: it belongs to another application; it was left untouched.")
        if not names:
            return True
        if (
            "_sqlite_migrations" in names
            and conn.execute("SELECT 1 FROM _sqlite_migrations WHERE migration_set = ? LIMIT 1", (MIGRATION_SET,)).fetchone()
        ):
            return False
    except sqlite3.DatabaseError as exc:
        raise ForeignDatabase(f"{where} is damaged or is not a photoclip library ({exc}); it was left untouched.") from exc
    finally:
        conn.close()
    raise ForeignDatabase(
        f"{where} is not a photoclip library: it is another application's database "
        f"(tables {', '.join(sorted(names)[:5])}{', ...' if len(names) > 5 else ''}); it was left untouched. "
        "Choose a new file for the library."
    )
