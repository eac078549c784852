"""What can go wrong with the library file, told in plain sentences.

SQLite reports a full disk, a read-only file or a lock held too long as an
`OperationalError` whose text ("attempt to write a readonly database") means little
to a person. Every statement run through a library connection has such errors
translated here into `PhotoclipError` subclasses that say what happened and what to
do. The translated errors also stay instances of the sqlite3 class they replace, so
code that catches `sqlite3.OperationalError` keeps working.
"""

from __future__ import annotations

import os
import sqlite3

from photoclip.core.db.pathcodec import display_path
from photoclip.core.errors import PhotoclipError


class DatabaseProblem(PhotoclipError):
    """The library file cannot be used as asked; the message says why and what to do."""


class ForeignDatabase(DatabaseProblem):
    """The file given as the library is something else: another app's database, not SQLite, a folder, a pipe or a device."""


class DatabaseDamaged(DatabaseProblem, sqlite3.DatabaseError):
    pass


class DatabaseReadOnly(DatabaseProblem, sqlite3.OperationalError):
    pass


class DatabaseFull(DatabaseProblem, sqlite3.OperationalError):
    pass


class DatabaseBusy(DatabaseProblem, sqlite3.OperationalError):
    pass


class DatabaseUnavailable(DatabaseProblem, sqlite3.OperationalError):
    pass


def shown(path: str | os.PathLike[str]) -> str:
    return display_path(os.fspath(path))


def _message(kind: type[DatabaseProblem], where: str, detail: str) -> str:
    if kind is DatabaseReadOnly:
        return (
            f"The library {where} cannot be changed: the file or its folder is read-only ({detail}). "
            "Make both writable for your user, or work on a writable copy."
        )
    if kind is DatabaseFull:
        return (
            f"The disk holding the library {where} is full: the last change was not saved and the library "
            "is as it was before it. Free some space and try again."
        )
    if kind is DatabaseBusy:
        return (
            f"The library {where} is busy: another program (perhaps another photoclip) has kept it locked "
            "for too long. Try again when it has finished."
        )
    if kind is DatabaseUnavailable:
        return (
            f"The library {where} cannot be read or written ({detail}). Check that the disk is connected "
            "and that you may read and write both the file and its folder."
        )
    return (
        f"{where} is damaged or is not a photoclip library ({detail}). If it is your library, restore it "
        "from one of the .bak copies beside it; otherwise choose another file."
    )


_KIND_BY_CODE: dict[str, type[DatabaseProblem]] = {
    "SQLITE_READONLY": DatabaseReadOnly,
    "SQLITE_FULL": DatabaseFull,
    "SQLITE_BUSY": DatabaseBusy,
    "SQLITE_LOCKED": DatabaseBusy,
    "SQLITE_CANTOPEN": DatabaseUnavailable,
    "SQLITE_IOERR": DatabaseUnavailable,
    "SQLITE_CORRUPT": DatabaseDamaged,
    "SQLITE_NOTADB": DatabaseDamaged,
}


def problem_kind(exc: sqlite3.Error) -> type[DatabaseProblem] | None:
    """The translated class for a SQLite error, or None for errors that are the caller's (constraints, SQL)."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    # Extended codes name their family first: SQLITE_READONLY_DBMOVED, SQLITE_IOERR_WRITE, ...
    for code, kind in _KIND_BY_CODE.items():
        if name == code or name.startswith(code + "_"):
            return kind
    return None


def translate(exc: sqlite3.Error, path: str | os.PathLike[str]) -> sqlite3.Error:
    """`exc` as a DatabaseProblem when it is one a person can act on; otherwise `exc` itself."""
    if isinstance(exc, DatabaseProblem):
        return exc
    kind = problem_kind(exc)
    if kind is None:
        return exc
    translated = kind(_message(kind, shown(path), str(exc)))
    translated.sqlite_errorcode = getattr(exc, "sqlite_errorcode", None)  # type: ignore[attr-defined]
    translated.sqlite_errorname = getattr(exc, "sqlite_errorname", None)  # type: ignore[attr-defined]
    assert isinstance(translated, sqlite3.Error)
    return translated
