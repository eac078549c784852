"""Sidecar files on disk: where they are, and reading and replacing them safely.

Files are `photo.ext.xmp` beside the photo (darktable's and digiKam's naming); when
reading we also look at `photo.xmp` (Lightroom's naming for raw files). The image
file itself is never written.

A sidecar name may hold anything: a named pipe (a plain open() would wait forever),
a device or a link to one (/dev/zero never ends), a folder, a huge file. Only regular
files of at most MAX_SIDECAR_BYTES are read; only a regular file, or nothing, is
replaced, and never through a symbolic link. Anything else is reported as a
SidecarError that says what the path is, and left exactly as it was.
"""

from __future__ import annotations

import os
import stat

from photoclip.core.db import display_path
from photoclip.core.errors import PhotoclipError
from photoclip.core.paths import NotAPlainFile, file_kind, read_regular_file, remove_stale_temps, write_atomically

# Real sidecars are kilobytes (a long darktable history is a few hundred); this is far above any of them.
MAX_SIDECAR_BYTES = 16 * 2**20


class SidecarError(PhotoclipError):
    """An existing sidecar could not be read or replaced; it was left as it was."""


def sidecar_path(photo_path: str | os.PathLike[str]) -> str:
    """Where photoclip writes a photo's sidecar: `photo.ext.xmp`."""
    return os.fspath(photo_path) + ".xmp"


def find_sidecar(photo_path: str | os.PathLike[str]) -> str | None:
    """An existing sidecar for the photo: `photo.ext.xmp` first, then `photo.xmp`.

    A regular file is preferred; when only something else has a sidecar's name (a
    pipe, a device, a folder), that path is returned so reading it reports why it is skipped.
    """
    photo = os.fspath(photo_path)
    stem = os.path.splitext(photo)[0]
    candidates = (photo + ".xmp", photo + ".XMP", stem + ".xmp", stem + ".XMP")
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    for candidate in candidates:
        if os.path.lexists(candidate):
            return candidate
    return None


def read_sidecar(path: str) -> bytes:
    """The bytes of an existing sidecar, or SidecarError saying why it cannot be read."""
    try:
        return read_regular_file(path, MAX_SIDECAR_BYTES)
    except NotAPlainFile as exc:
        raise SidecarError(f"{display_path(path)} {exc}: left alone") from exc
    except OSError as exc:
        raise SidecarError(f"Cannot read {display_path(path)}: {exc.strerror or exc}") from exc


def sidecar_exists(path: str) -> bool:
    """Whether a sidecar is there to merge into (False: free to create).

    SidecarError when the name holds something photoclip must not replace: a symbolic
    link (replacing it would cut the link; writing through it would change a file
    elsewhere), a pipe, a device or a folder.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise SidecarError(f"Cannot read {display_path(path)}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise SidecarError(f"{display_path(path)} is {file_kind(st.st_mode)}, not a regular file: left alone")
    return True


def replace_sidecar(path: str, data: bytes, existed: bool) -> None:
    """Write `data` as the sidecar at `path` through a temp file and a rename.

    `existed` is what sidecar_exists said when the old content was read: if the name
    changed kind since (a pipe swapped in), nothing is written.
    """
    if sidecar_exists(path) != existed:
        # Another program created or deleted it since we read it: its version wins.
        raise SidecarError(f"{display_path(path)} changed while it was being updated: left alone")
    if existed:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    else:
        # A new sidecar gets its photo's permissions (without execute bits).
        photo = path[: -len(".xmp")]
        mode = stat.S_IMODE(os.stat(photo).st_mode) & 0o666 if os.path.isfile(photo) else 0o644
    try:
        write_atomically(path, data, mode)
    except OSError as exc:
        raise SidecarError(f"Cannot write {display_path(path)}: {exc.strerror or exc}") from exc


def clean_folder(folder: str) -> list[str]:
    """Remove temp files of sidecar writes that were killed midway (their process is gone)."""
    return remove_stale_temps(folder)
