"""Lazy thumbnails for the grid (the calibre cover-cache pattern).

`pixmap()` answers at once from a bounded LRU cache of QPixmaps, or returns None
(the caller draws a placeholder) and queues a request. Worker threads take the
newest request first (what the user is looking at now), get the cached JPEG from
core's `thumbnail_for` (made from the photo if missing) and decode it into a
QImage. QPixmap is a GUI-thread object, so the QImage is sent over a queued signal
and turned into a pixmap here. Requests the user scrolled past are dropped when
the queue grows beyond `max_pending`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal, Slot
from PySide6.QtGui import QImage, QImageReader, QPixmap

from photoclip.core.errors import SkipFile
from photoclip.core.media.images import THUMBNAIL_SIZE, thumbnail_for
from photoclip.gui.qtcompat import emit

log = logging.getLogger(__name__)


class _Bridge(QObject):
    loaded = Signal(int, QImage, int)  # photo id, image, the edge it was scaled for
    failed = Signal(int, str)


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
        self._pending: OrderedDict[int, str] = OrderedDict()  # newest at the end
        self._in_flight: set[int] = set()
        self._cond = threading.Condition()
        self._stopping = False
        self._bridge = _Bridge()
        self._bridge.loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)
        self._bridge.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self._threads = [threading.Thread(target=self._work, name=f"photoclip-thumb-{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

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
        with self._cond:
            self._pending.clear()

    def clear(self) -> None:
        self.drop_pending()
        self._pixmaps.clear()
        self._failed.clear()

    @property
    def cached(self) -> int:
        return len(self._pixmaps)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending) + len(self._in_flight)

    def _request(self, photo_id: int, path: str) -> None:
        with self._cond:
            if photo_id in self._in_flight:
                return
            self._pending[photo_id] = path
            self._pending.move_to_end(photo_id)
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)  # the oldest: scrolled out of view long ago
            self._cond.notify()

    @Slot(int, QImage, int)
    def _on_loaded(self, photo_id: int, image: QImage, edge: int) -> None:
        with self._cond:
            self._in_flight.discard(photo_id)
        if self._stopping:
            return
        self._pixmaps[photo_id] = (QPixmap.fromImage(image), edge)
        while len(self._pixmaps) > self.capacity:
            self._pixmaps.popitem(last=False)
        emit(self.ready, photo_id)

    @Slot(int, str)
    def _on_failed(self, photo_id: int, reason: str) -> None:
        with self._cond:
            self._in_flight.discard(photo_id)
        if self._stopping:
            return
        self._failed[photo_id] = reason
        emit(self.ready, photo_id)

    def shutdown(self) -> None:
        """Stop the workers and wait for them (each finishes its current thumbnail)."""
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()

    # -- worker threads ---------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                photo_id, path = self._pending.popitem(last=True)  # newest first
                self._in_flight.add(photo_id)
                edge = self.edge
            try:
                image = load_thumbnail_image(self.cache_dir, path, edge)
            except SkipFile as exc:
                emit(self._bridge.failed, photo_id, exc.reason)
            except Exception as exc:
                log.warning("thumbnail failed for %s: %s", path, exc)
                emit(self._bridge.failed, photo_id, f"{type(exc).__name__}: {exc}")
            else:
                emit(self._bridge.loaded, photo_id, image, edge)


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
