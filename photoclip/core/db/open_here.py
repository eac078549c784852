"""Which library files this process holds open, so that opening one more never reads its header.

Recognising a file (identity.py) reads its first 100 bytes with open() and close(). Closing
any descriptor of a file drops every POSIX lock the process holds on that file, the locks of
SQLite's open connections included (sqlite.org/howtocorrupt.html, section 2.2). The app opens
a Library on many threads; each opening dropped the shared lock its other connections held,
so a `photoclip tag` in a terminal, closing, believed itself the library's last user and
deleted the WAL the app was still reading and writing: the app then said "database disk image
is malformed", and what it wrote went into the deleted file, unseen by every other process.

A file this process already has open as a library is ours (it cannot become another
application's while open: replacing it makes a new inode), so it is not read again. The
check, the connection's opening and its registration happen under one lock, so no header is
read while another thread's connection to that file is being opened either.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
FileKey = tuple[int, int]

_lock = threading.Lock()
_open: Counter[FileKey] = Counter()


def _key(path: Path) -> FileKey | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def open_library_file(path: Path, check: Callable[[Path], object], connect: Callable[[Path], T]) -> tuple[T, FileKey | None]:
    """`connect(path)`, after `check(path)` unless this process has the file open already.

    Returns the connection and the key to hand to `closed` when it is closed."""
    with _lock:
        before = _key(path)
        if before is None or _open[before] == 0:
            check(path)
        connection = connect(path)
        key = _key(path)
        if key is not None:
            _open[key] += 1
        return connection, key


def closed(key: FileKey | None) -> None:
    """One connection opened by `open_library_file` is closed."""
    if key is None:
        return
    with _lock:
        _open[key] -= 1
        if _open[key] <= 0:
            del _open[key]
