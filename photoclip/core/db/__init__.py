"""The library database: folders, photos, vectors, labels and tags in one SQLite file.

All SQL of the project lives in this package, one module per job:

- connection.py   opening the file, its pragmas, translation of SQLite's errors
- errors.py       the DatabaseProblem errors with plain messages (read-only, full, busy, foreign, ...)
- identity.py     deciding, before writing a byte, that a file is a photoclip library
- open_here.py    the library files this process has open (their header is not read again:
                  closing a read of it would drop the open connections' locks)
- transactions.py the one transaction style: `with lib.transaction():` (SAVEPOINT nesting)
- migrations.py   the schema as named migrations, backup before migrating, refusing newer files
- pathcodec.py    paths stored as text, or as raw bytes when not valid UTF-8
- records.py      Photo, Folder and the photo status values
- folders.py, photos.py, vectors.py   the SQL of those tables (mixins of Library)
- library.py      the Library facade

Create one `Library` per thread: sqlite3 connections are not shared.
"""

from __future__ import annotations

from photoclip.core.db._without_pandas import Migrations  # first: sqlite_utils loads without pandas
from photoclip.core.db.errors import (
    DatabaseBusy,
    DatabaseDamaged,
    DatabaseFull,
    DatabaseProblem,
    DatabaseReadOnly,
    DatabaseUnavailable,
    ForeignDatabase,
)
from photoclip.core.db.identity import APPLICATION_ID
from photoclip.core.db.library import Library
from photoclip.core.db.migrations import MIGRATIONS, run_script
from photoclip.core.db.pathcodec import db_path, display_path, fs_path
from photoclip.core.db.records import MISSING, NEW, OK, SKIPPED, Folder, Photo
from photoclip.core.db.vectors import VECTOR_DTYPE

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "MISSING",
    "NEW",
    "OK",
    "SKIPPED",
    "VECTOR_DTYPE",
    "DatabaseBusy",
    "DatabaseDamaged",
    "DatabaseFull",
    "DatabaseProblem",
    "DatabaseReadOnly",
    "DatabaseUnavailable",
    "Folder",
    "ForeignDatabase",
    "Library",
    "Migrations",
    "Photo",
    "db_path",
    "display_path",
    "fs_path",
    "run_script",
]
