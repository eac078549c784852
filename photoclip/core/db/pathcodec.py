"""How file paths are stored: text when they are valid UTF-8, raw bytes otherwise.

POSIX file names are bytes; Python decodes the undecodable ones with surrogateescape.
Storing those as bytes (a BLOB in the same column) keeps odd names round-tripping
exactly, while ordinary names stay readable text in the database.
"""

from __future__ import annotations

import os


def db_path(path: str | os.PathLike[str]) -> str | bytes:
    """The value stored for a file path: text when it is valid UTF-8, raw bytes otherwise."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text)


def fs_path(value: str | bytes) -> str:
    """The inverse of `db_path`: a str usable with os and open()."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def display_path(path: str) -> str:
    """A printable form of a path that may hold undecodable bytes; never raises."""
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate no file name decodes to, e.g. from a JSON file
        raw = path.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")
