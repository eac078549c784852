"""Lazy thumbnails for the grid (the calibre cover-cache pattern).

`pixmap()` answers at once from a bounded LRU cache of QPixmaps, or returns None
(the caller draws a placeholder) and queues a request. The `Worker`'s threads take the
newest request first (what the user is looking at now), get the cached JPEG from
core's `thumbnail_for` (made from the photo if missing) and decode it into a
QImage. QPixmap is a GUI-thread object, so the QImage is sent over a queued signal
and turned into a pixmap here. Requests the user scrolled past are dropped when
the queue grows beyond `max_pending`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

from photoclip.core.errors import SkipFile
from photoclip.core.media.thumbnails import THUMBNAIL_SIZE, thumbnail_for
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.workers import Worker

log = logging.getLogger(__name__)


class ThumbnailLoader(QObject):
    """Thumbnails by photo id; emits `ready(photo_id)` when one arrives in the cache."""

    ready = Signal(int)

    def __init__(
        self,
        cache_dir: Path,
        capacity: int = 1500,
        workers: int = 2,
        max_pending: int = 400,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache_dir = Path(cache_dir)
        self.capacity = capacity
        self.max_pending = max_pending
        # Images arrive scaled to the grid's cell (in device pixels), so painting never scales.
        self.edge = THUMBNAIL_SIZE
        self._pixmaps: OrderedDict[int, tuple[QPixmap, int]] = OrderedDict()  # id -> (pixmap, edge made for)
        self._failed: dict[int, str] = {}
        self._stopping = False
        # Newest request first (what the user is looking at now); one job per photo at a time.
        self._worker = Worker("thumb", threads=workers, newest_first=True, max_pending=max_pending, parent=self)

    # -- GUI thread -----------------------------------------------------------

    def pixmap(self, photo_id: int, path: str) -> QPixmap | None:
        """The cached pixmap, or None after queueing a request for it."""
        cached = self._pixmaps.get(photo_id)
        if cached is not None:
            pixmap, made_for = cached
            self._pixmaps.move_to_end(photo_id)
            if self._stale(pixmap, made_for):
                self._request(photo_id, path)  # the cell size changed: keep showing this one meanwhile
            return pixmap
        if photo_id not in self._failed:
            self._request(photo_id, path)
        return None

    def set_edge(self, edge: int) -> None:
        """The longest side thumbnails should have, in device pixels."""
        self.edge = max(16, int(edge))
        # Bound memory, not a count: about 96 MB of pixmaps whatever the cell size.
        self.capacity = max(200, (96 << 20) // (self.edge * self.edge * 4))

    def _stale(self, pixmap: QPixmap, made_for: int) -> bool:
        """Whether loading again at the current edge would give a different image."""
        longest = max(pixmap.width(), pixmap.height())
        if longest < made_for:  # the source itself is this small: only a smaller cell changes it
            return self.edge < longest
        return self.edge != made_for

    def failure(self, photo_id: int) -> str | None:
        """Why a thumbnail could not be made (shown in the cell's tooltip)."""
        return self._failed.get(photo_id)

    def forget(self, photo_id: int) -> None:
        self._pixmaps.pop(photo_id, None)
        self._failed.pop(photo_id, None)

    def drop_pending(self) -> None:
        """A new result set replaced the old one: its queued requests are stale."""
        self._worker.clear_pending()

    def clear(self) -> None:
        self.drop_pending()
        self._pixmaps.clear()
        self._failed.clear()

    @property
    def cached(self) -> int:
        return len(self._pixmaps)

    @property
    def pending(self) -> int:
        return self._worker.pending

    def _request(self, photo_id: int, path: str) -> None:
        self._worker.submit(
            lambda _cancel: self._load(path),
            lambda loaded: self._on_loaded(photo_id, *loaded),
            lambda exc: self._on_failed(photo_id, exc),
            key=photo_id,
        )

    def _load(self, path: str) -> tuple[QImage, int]:
        """Worker thread: a QImage (never a QPixmap off the GUI thread) at the current edge."""
        edge = self.edge
        return load_thumbnail_image(self.cache_dir, path, edge), edge

    def _on_loaded(self, photo_id: int, image: QImage, edge: int) -> None:
        if self._stopping:
            return
        self._pixmaps[photo_id] = (QPixmap.fromImage(image), edge)
        while len(self._pixmaps) > self.capacity:
            self._pixmaps.popitem(last=False)
        emit(self.ready, photo_id)

    def _on_failed(self, photo_id: int, exc: BaseException) -> None:
        if self._stopping:
            return
        if isinstance(exc, SkipFile):
            reason = exc.reason
        else:
            log.warning("thumbnail failed for photo %s: %s", photo_id, exc)
            reason = f"{type(exc).__name__}: {exc}"
        self._failed[photo_id] = reason
        emit(self.ready, photo_id)

    def shutdown(self) -> None:
        """Stop the workers and wait for them (each finishes its current thumbnail)."""
        self._stopping = True
        self._worker.shutdown()


def load_thumbnail_image(cache_dir: Path, path: str, edge: int = THUMBNAIL_SIZE) -> QImage:
    """Worker-thread part: the cached JPEG (made if missing) decoded and fitted into `edge`."""
    thumb = thumbnail_for(cache_dir, path, THUMBNAIL_SIZE)
    reader = QImageReader(str(thumb))
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > edge:
        # JPEG decoders scale while decoding: cheaper than decoding full size, then scaling.
        reader.setScaledSize(size.scaled(QSize(edge, edge), Qt.AspectRatioMode.KeepAspectRatio))
    reader.setQuality(90)
    image = reader.read()
    if image.isNull():
        raise SkipFile("the cached thumbnail could not be read")
    return image
