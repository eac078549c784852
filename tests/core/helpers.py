"""Small builders for core tests: images written to disk in many modes and states."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def drain(gen):
    """Run a generator (an indexing pass) to its end; what it returns."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def write_jpeg(path: Path, size: tuple[int, int] = (320, 240), seed: int = 0, exif: Image.Exif | None = None, **kw) -> Path:
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((w, h), Image.Resampling.BICUBIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    if exif is not None:
        kw["exif"] = exif
    img.save(path, "JPEG", quality=90, **kw)
    return path


def jpeg_bytes(size: tuple[int, int] = (320, 240), seed: int = 0) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()
