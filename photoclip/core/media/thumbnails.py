"""The thumbnail cache on disk: one small JPEG per (path, size, mtime), written atomically."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PIL import Image

from photoclip.core.errors import SkipFile
from photoclip.core.media.decode import open_image
from photoclip.core.paths import remove_stale_temps, temp_path_for

THUMBNAIL_SIZE = 320


def thumbnail_path(cache: Path, path: str, size: int, mtime_ns: int) -> Path:
    """Cache file for a photo: keyed by path, file size and mtime, so edits are noticed."""
    key = hashlib.blake2b(os.fsencode(path) + f"|{size}|{mtime_ns}".encode(), digest_size=16).hexdigest()
    return cache / key[:2] / f"{key}.jpg"


# Cache folders this process has cleared of the temp files of killed writers (each once).
_cleaned: set[Path] = set()


def save_thumbnail(img: Image.Image, target: Path, edge: int = THUMBNAIL_SIZE) -> Path:
    """Write a thumbnail atomically: a temp file in the same folder, then rename.

    The temp name carries the writer's pid (paths.temp_path_for), so the temp file of an
    index killed mid-write is recognised and removed by a later writer in that folder;
    before, each kill left its `.tmp-*.jpg` files in the cache for good.
    """
    thumb = img.copy()
    thumb.thumbnail((edge, edge), Image.Resampling.LANCZOS, reducing_gap=3.0)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    if folder not in _cleaned:
        _cleaned.add(folder)
        remove_stale_temps(folder)
    tmp = temp_path_for(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            thumb.save(fh, "JPEG", quality=85)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return target


def thumbnail_for(cache: Path, path: str, edge: int = THUMBNAIL_SIZE) -> Path:
    """The cached thumbnail of a photo, made now if missing. Raises SkipFile if unreadable."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SkipFile("file is missing") from exc
    target = thumbnail_path(cache, path, st.st_size, st.st_mtime_ns)
    if target.exists():
        return target
    img, _, _, _ = open_image(path, edge)
    return save_thumbnail(img, target, edge)
