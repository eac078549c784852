"""What `photoclip PATH...` (the desktop's "Open with photoclip") means for each path.

A photo opens with the photos that look like it; a folder is offered to the library.
Which of the two, and whether the photo is already one of the library's, is decided
here, Qt-free, so the window only carries it out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from photoclip.core.db import Library

PHOTO, FOLDER, MISSING = "photo", "folder", "missing"


@dataclass(frozen=True)
class Opened:
    path: str  # absolute
    kind: str  # PHOTO, FOLDER or MISSING
    photo_id: int | None = None  # the library's photo at that path, when there is one
    in_library_folder: bool = False  # a photo under a library folder (indexing will add it), or a folder already tracked


def _under(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def classify(lib: Library, paths: list[str]) -> list[Opened]:
    folders = [os.path.abspath(f.path) for f in lib.folders()]
    out: list[Opened] = []
    for raw in paths:
        path = os.path.abspath(os.path.expanduser(raw))
        if os.path.isdir(path):
            out.append(Opened(path, FOLDER, None, any(_under(path, f) for f in folders)))
        elif os.path.isfile(path):
            photo = lib.photo_by_path(path)
            out.append(Opened(path, PHOTO, photo.id if photo else None, any(_under(path, f) for f in folders)))
        else:
            out.append(Opened(path, MISSING))
    return out


# Qt's own options that take a value: their value must not be taken for a path to open.
QT_OPTIONS_WITH_VALUE = frozenset(
    {
        "-platform",
        "-platformpluginpath",
        "-platformtheme",
        "-plugin",
        "-qwindowgeometry",
        "-qwindowicon",
        "-qwindowtitle",
        "-style",
        "-stylesheet",
        "-display",
        "-geometry",
        "-session",
        "-name",
        "-title",
        "-visual",
    }
)


def split_qt_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """(photoclip's arguments, Qt's options with their values)."""
    ours: list[str] = []
    qt: list[str] = []
    take_value = False
    for arg in argv:
        if take_value:
            qt.append(arg)
            take_value = False
        elif arg in QT_OPTIONS_WITH_VALUE:
            qt.append(arg)
            take_value = True
        else:
            ours.append(arg)
    return ours, qt
