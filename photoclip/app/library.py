"""Library use cases: add and remove folders, move photos to the trash (never a hard delete)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from photoclip.app.changes import Changes
from photoclip.app.words import plural
from photoclip.core import paths
from photoclip.core.db import Library, Photo, display_path


def covering_folder(lib: Library, folder: str) -> str | None:
    """The library folder that already holds `folder` (a folder inside it), or None.

    Its photos are the outer folder's already: added again, the inner folder was listed
    with 0 photos while it held some, which reads as a failed scan."""
    inner = os.path.abspath(folder)
    for _, path in lib.folder_paths():
        outer = os.path.abspath(path)
        if inner != outer and paths.within(inner, outer):
            return outer
    return None


def add_folder(lib: Library, folder: str) -> Changes:
    """Track a folder (indexing it is the caller's next step)."""
    outer = covering_folder(lib, folder)
    if outer is not None:
        return Changes(f"{display_path(folder)} is in the library already: it is inside {display_path(outer)}")
    lib.add_folder(folder)
    # The folder's name, as the sidebar lists it: a whole path left the status bar no room
    # beside the indexing progress at 1024 px ("Ad…", walk 22).
    name = os.path.basename(os.path.normpath(folder)) or display_path(folder)
    return Changes(f"Added “{name}”; reading its photos…", folders_changed=True)


def remove_folder(lib: Library, folder: str) -> Changes:
    """Stop tracking a folder: its photos and their tags are forgotten; no file is touched."""
    count = lib.remove_folder(folder)
    return Changes(f"Removed {display_path(folder)} ({plural(count, 'photo')} forgotten)", folders_changed=True, tags_changed=True)


def _send2trash(path: str) -> None:
    # Looked up at each call, so tests can put a stand-in for the desktop trash.
    from send2trash import send2trash

    send2trash(path)


def trash_photos(lib: Library, photos: Sequence[Photo], send: Callable[[str], None] | None = None) -> Changes:
    """Move photo files to the desktop trash; the ones that moved are marked missing.

    Missing, not forgotten, as any photo deleted outside photoclip is: put back (Edit → Undo
    move to trash, or the file manager's Restore) it is the same photo again, with its hand
    tags, answers and vectors. Forgotten, Undo brought back a new photo that had lost its
    tags and was embedded again (walk 24). `photoclip purge-missing` forgets them for good.
    A file that could not be moved stays in the library and is listed in `problems`.
    """
    send = send or _send2trash
    removed: set[int] = set()
    problems: list[tuple[str, str]] = []
    for photo in photos:
        try:
            send(photo.path)
        except Exception as exc:  # send2trash raises OSError and its own TrashPermissionError
            problems.append((display_path(photo.name), str(exc)))
            continue
        removed.add(photo.id)
    with lib.transaction():
        lib.mark_missing(sorted(removed))
    message = f"Moved {plural(len(removed), 'photo')} to the trash."
    if problems:
        message += f" {len(problems)} could not be moved: {problems[0][0]}: {problems[0][1]}"
    return Changes(message, photos_removed=removed, tags_changed=bool(removed), problems=problems)
