"""Error types.

`PhotoclipError` and its subclasses are *environmental* problems a user can act on
(no model, unreadable folder, newer database). They carry a message meant for people.
Anything else escaping the core is a bug and is reported as one.
"""

from __future__ import annotations

import errno

# OS errors that are about the user's disk or permissions, never about photoclip's code.
ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted",
}
# These are only the user's mistake when they name a path (a bug rarely does).
PATH_ERRORS = {
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "not a folder",
    errno.EISDIR: "is a folder",
    errno.ENAMETOOLONG: "the name is too long",
}


def os_problem(exc: OSError) -> str:
    """What went wrong with a file, in the same words everywhere ("the disk is full")."""
    code = exc.errno or 0
    return ENVIRONMENT_ERRORS.get(code) or PATH_ERRORS.get(code) or (exc.strerror or str(exc)).lower()


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str, keep: str = "") -> str:
    """`text` with control characters shown as escapes (\\n, \\x1b): a message naming a
    file called "a\\nb.jpg" stays one line, and a name holding terminal escape sequences
    cannot retitle or clear the user's terminal when it is printed. `keep`: characters
    left as they are (the tab between the columns of a result line)."""
    if text.isprintable():
        return text
    return "".join(c if c in keep else _ESCAPES.get(c) or (f"\\x{ord(c):02x}" if _control(c) else c) for c in text)


def _control(c: str) -> bool:
    return ord(c) < 32 or 127 <= ord(c) < 160


class PhotoclipError(Exception):
    """A problem the user can understand and fix; its message is shown as is."""


class DatabaseTooNew(PhotoclipError):
    pass


class ModelUnavailable(PhotoclipError):
    """The CLIP model could not be loaded or downloaded."""


class FolderError(PhotoclipError):
    pass


class SkipFile(Exception):
    """Raised while reading one file: the file is recorded as skipped with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
