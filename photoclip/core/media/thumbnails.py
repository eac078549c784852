"""The thumbnail cache on disk: one small JPEG per (path, size, mtime), written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from PIL import Image

from photoclip.core.errors import SkipFile
from photoclip.core.media.decode import open_image

THUMBNAIL_SIZE = 320


def thumbnail_path(cache: Path, path: str, size: int, mtime_ns: int) -> Path:
    """Cache file for a photo: keyed by path, file size and mtime, so edits are noticed."""
    key = hashlib.blake2b(os.fsencode(path) + f"|{size}|{mtime_ns}".encode(), digest_size=16).hexdigest()
    return cache / key[:2] / f"{key}.jpg"


def save_thumbnail(img: Image.Image, target: Path, edge: int = THUMBNAIL_SIZE) -> Path:
    """Write a thumbnail atomically: a temp file in the same folder, then rename."""
    thumb = img.copy()
    thumb.thumbnail((edge, edge), Image.Resampling.LANCZOS, reducing_gap=3.0)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
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
