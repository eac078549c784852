"""The decode workers' side of the pipeline: read one photo, with no database access.

A worker opens the file once (regular files only: a FIFO or device put in a photo's
place must not hang it), fingerprints it, decodes it, writes its thumbnail and
prepares the model's input. Everything it finds goes back to the pipeline's thread,
the only one that writes to the library.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoclip.core.errors import SkipFile
from photoclip.core.ingest.fingerprint import fingerprint
from photoclip.core.media.decode import decode_photo, open_regular_file, prepare_for_model, read_jpeg
from photoclip.core.media.metadata import Metadata
from photoclip.core.media.thumbnails import THUMBNAIL_SIZE, save_thumbnail, thumbnail_path

log = logging.getLogger(__name__)


@dataclass
class WorkItem:
    """One photo the pipeline must read, as the database listed it."""

    photo_id: int
    path: str
    size: int
    mtime_ns: int
    needs_vector: bool


@dataclass
class DecodedItem:
    work: WorkItem
    meta: Metadata | None = None
    pixels: np.ndarray | None = None
    skip: str | None = None
    digest: str | None = None  # the content fingerprint, when the file could be read
    # A JPEG left for the model's device to decode (see model/jpeg_device.py): its bytes,
    # its EXIF orientation, and where its thumbnail goes when one must be made.
    encoded: bytes | None = None
    orientation: int = 1
    thumbnail: Path | None = None

    @property
    def embeddable(self) -> bool:
        """Whether the model can take it: pixels prepared here, or a JPEG for its device."""
        return self.pixels is not None or self.encoded is not None


MAX_DECODE_WORKERS = 32  # each holds one photo reduced by draft() at a time: memory stays small


# JPEGs left for a GPU to decode are only read here (fingerprint, header): four readers keep
# it fed. More only fight the pipeline's thread for the GIL: on 16 cores and an H200,
# 322 photos/s with 4 readers, 312 with 8, 270 with 16 (benchmarks/bench_gpu_index.py).
DEVICE_JPEG_READERS = 4


def usable_cores() -> int:
    """The cores this process may run on (a container or `taskset` may allow fewer than exist)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers() -> int:
    """One decoder per usable core. Fewer (the old cap was 4) starves a GPU, which embeds
    faster than four cores decode 12-MP JPEGs; on a CPU the model shares the same cores,
    and the bounded look-ahead keeps extra decoders from running far ahead of it."""
    return max(1, min(MAX_DECODE_WORKERS, usable_cores()))


def decode_item(work: WorkItem, size: int | None, thumbs: Path | None, leave_jpeg: bool = False) -> DecodedItem:
    """Read one photo: never raises; anything unreadable comes back with a skip reason.
    With `leave_jpeg`, a JPEG that needs a vector is read but not decoded: the model's
    device decodes it (a GPU's decoder outruns the CPU's many times over)."""
    digest = None
    try:
        min_side = max(size or 0, THUMBNAIL_SIZE if thumbs else 0) or THUMBNAIL_SIZE
        with open_regular_file(work.path) as fh:
            st = os.fstat(fh.fileno())
            if st.st_size != work.size or st.st_mtime_ns != work.mtime_ns:
                # Changed since the scan: the next scan sees it as changed and it is read then.
                raise SkipFile("file changed while indexing; rescan to pick it up")
            try:
                digest = fingerprint(fh, work.size)
                fh.seek(0)
            except OSError as exc:
                raise SkipFile(f"cannot read: {exc.strerror or exc}") from exc
            jpeg = read_jpeg(work.path, fh) if leave_jpeg and size and work.needs_vector else None
            if jpeg is not None:
                target = thumbnail_path(thumbs, work.path, work.size, work.mtime_ns) if thumbs is not None else None
                wanted = target if target is not None and not target.exists() else None
                return DecodedItem(work, jpeg.meta, digest=digest, encoded=jpeg.data, orientation=jpeg.orientation, thumbnail=wanted)
            fh.seek(0)
            decoded = decode_photo(work.path, min_side, fh)
        if thumbs is not None:
            target = thumbnail_path(thumbs, work.path, work.size, work.mtime_ns)
            if not target.exists():
                try:
                    save_thumbnail(decoded.image, target)
                except OSError as exc:
                    log.warning("could not write thumbnail for %s: %s", work.path, exc)
        pixels = prepare_for_model(decoded.image, size) if size and work.needs_vector else None
        return DecodedItem(work, decoded.meta, pixels, digest=digest)
    except SkipFile as exc:
        return DecodedItem(work, skip=exc.reason, digest=digest)
    except FileNotFoundError:
        return DecodedItem(work, skip="file vanished before it could be read", digest=digest)
    except MemoryError:
        return DecodedItem(work, skip="image too large to decode in the available memory", digest=digest)
    except Exception as exc:
        log.exception("unexpected error decoding %s", work.path)
        return DecodedItem(work, skip=f"unexpected error while reading: {type(exc).__name__}: {exc}", digest=digest)


class DecodeGate:
    """Keeps decode workers and a CPU model from running at the same time.

    A model on the CPU already uses every core. Decoders running beside it preempt its
    threads, and at each parallel step the others wait for the preempted one: so while
    a batch is in the model no decode runs, and between batches the decoders have the
    cores to themselves. Measured on 2 cores (benchmarks/bench_index.py): ~10% less
    CPU per photo and ~10% more photos/s than overlapping them. On a GPU they overlap.
    Decoders wait while a batch is in the model; the model waits for decodes already
    started (useful work: photos of later batches) so that its threads find the cores free.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._cond = threading.Condition()
        self._model = False
        self._decoding = 0

    @contextmanager
    def decoding(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._cond:
            while self._model:
                self._cond.wait()
            self._decoding += 1
        try:
            yield
        finally:
            with self._cond:
                self._decoding -= 1
                self._cond.notify_all()

    @contextmanager
    def model_running(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._cond:
            self._model = True
            while self._decoding:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._model = False
                self._cond.notify_all()
