"""Error types.

`PhotoclipError` and its subclasses are *environmental* problems a user can act on
(no model, unreadable folder, newer database). They carry a message meant for people.
Anything else escaping the core is a bug and is reported as one.
"""

from __future__ import annotations


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
