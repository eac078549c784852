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

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from photoclip.core.errors import SkipFile
from photoclip.core.images import THUMBNAIL_SIZE, thumbnail_for

from .qtcompat import emit

log = logging.getLogger(__name__)


class _Bridge(QObject):
    loaded = Signal(int, QImage)
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
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._failed: dict[int, str] = {}
        self._pending: OrderedDict[int, str] = OrderedDict()  # newest at the end
        self._in_flight: set[int] = set()
        self._cond = threading.Condition()
        self._stopping = False
        self._bridge = _Bridge()
        self._bridge.loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)
        self._bridge.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self._threads = [
            threading.Thread(target=self._work, name=f"photoclip-thumb-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    # -- GUI thread -----------------------------------------------------------

    def pixmap(self, photo_id: int, path: str) -> QPixmap | None:
        """The cached pixmap, or None after queueing a request for it."""
        pixmap = self._pixmaps.get(photo_id)
        if pixmap is not None:
            self._pixmaps.move_to_end(photo_id)
            return pixmap
        if photo_id not in self._failed:
            self._request(photo_id, path)
        return None

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

    @Slot(int, QImage)
    def _on_loaded(self, photo_id: int, image: QImage) -> None:
        with self._cond:
            self._in_flight.discard(photo_id)
        if self._stopping:
            return
        self._pixmaps[photo_id] = QPixmap.fromImage(image)
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
            try:
                image = load_thumbnail_image(self.cache_dir, path)
            except SkipFile as exc:
                emit(self._bridge.failed, photo_id, exc.reason)
            except Exception as exc:  # noqa: BLE001 - one bad file must not kill the worker
                log.warning("thumbnail failed for %s: %s", path, exc)
                emit(self._bridge.failed, photo_id, f"{type(exc).__name__}: {exc}")
            else:
                emit(self._bridge.loaded, photo_id, image)


def load_thumbnail_image(cache_dir: Path, path: str, edge: int = THUMBNAIL_SIZE) -> QImage:
    """Worker-thread part: the cached JPEG (made if missing) decoded into a QImage."""
    thumb = thumbnail_for(cache_dir, path, edge)
    image = QImage(str(thumb))
    if image.isNull():
        raise SkipFile("the cached thumbnail could not be read")
    return image
