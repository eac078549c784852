"""Indexing in the background: one worker object on one QThread.

The worker wraps core's `index_library` generator (superqt's GeneratorWorker idea):
each yielded `IndexProgress` becomes a `progress` signal, skipped files become
`item_failed`, and the end becomes `finished` or `failed`. It opens its own
`Library` inside its thread, because sqlite3 connections are bound to the thread
that opened them. Cancel and pause are cooperative, through core's `CancelToken`;
the thread is stopped with `quit()` + `wait()`, never `terminate()`.
"""

from __future__ import annotations

import copy
import logging
import weakref
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from photoclip.app.sync import new_photo_tagger
from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.errors import PhotoclipError
from photoclip.core.ingest.pipeline import IndexProgress, index_library
from photoclip.gui.qtcompat import emit

log = logging.getLogger(__name__)

# Every indexing QThread ever started, so tests (and close) can check none is left running.
_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()


def running_qthreads() -> list[QThread]:
    return [t for t in list(_THREADS) if _alive(t) and t.isRunning()]


def _alive(obj: QObject) -> bool:
    try:
        obj.objectName()
    except RuntimeError:  # the C++ object is already deleted
        return False
    return True


class IndexWorker(QObject):
    """Runs one indexing pass when `run` is called in its thread."""

    progress = Signal(object)  # IndexProgress (a private copy)
    item_failed = Signal(str, str)  # path, reason
    finished = Signal(object)  # the final IndexProgress (cancelled=True when stopped early)
    failed = Signal(str)  # a message for people
    sidecars_due = Signal(object)  # ids of photos just auto-tagged, whose sidecars the app should write

    def __init__(
        self,
        db_path: Path,
        embedder: object | None,
        thumbnails: Path | None,
        cancel: CancelToken,
        write_xmp: bool = False,
    ) -> None:
        super().__init__()
        self.write_xmp = write_xmp
        self.db_path = Path(db_path)
        self.embedder = embedder
        self.thumbnails = thumbnails
        self.cancel = cancel

    @Slot()
    def run(self) -> None:
        try:
            with Library(self.db_path) as lib:
                final = IndexProgress("done")
                for event in index_library(
                    lib,
                    self.embedder,
                    cancel=self.cancel,
                    thumbnails=self.thumbnails,
                    after_commit=self._after_commit(lib),
                ):
                    snapshot = _snapshot(event)
                    for path, reason in snapshot.skipped_files:
                        emit(self.item_failed, path, reason)
                    emit(self.progress, snapshot)
                    final = snapshot
        except PhotoclipError as exc:
            emit(self.failed, str(exc))
        except Exception as exc:
            log.exception("indexing failed")
            emit(self.failed, f"Indexing stopped by an internal error: {type(exc).__name__}: {exc}")
        else:
            emit(self.finished, final)

    def _after_commit(self, lib: Library):
        """New photos get the user's labels here; their sidecars are left to the app's library
        thread, where every other sidecar write happens (two threads merging into one file
        could lose a change)."""
        tag_new = new_photo_tagger(lib, self.embedder)
        if tag_new is None:
            return None

        def after_commit(photo_ids: list[int]) -> None:
            counts = tag_new(photo_ids)
            if self.write_xmp and isinstance(counts, dict) and sum(counts.values()):
                emit(self.sidecars_due, list(photo_ids))

        return after_commit


def _snapshot(event: IndexProgress) -> IndexProgress:
    """A copy for the GUI thread: the generator keeps mutating its own object."""
    out = copy.copy(event)
    out.skipped_files = list(event.skipped_files)
    out.committed_ids = list(event.committed_ids)
    return out


class IndexController(QObject):
    """Starts, pauses, resumes and cancels indexing; at most one pass at a time.

    A request made while a pass runs (a new folder, the model became ready) is
    remembered and run when the current pass ends.
    """

    started = Signal()
    progress = Signal(object)
    item_failed = Signal(str, str)
    finished = Signal(object)
    failed = Signal(str)
    sidecars_due = Signal(object)
    running_changed = Signal(bool)
    paused_changed = Signal(bool)

    def __init__(self, db_path: Path, thumbnails: Path | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.thumbnails = thumbnails
        self.embedder: object | None = None
        self.write_xmp = False  # new photos' tags go to their sidecars too (the user's setting)
        self._thread: QThread | None = None
        self._worker: IndexWorker | None = None
        self._cancel: CancelToken | None = None
        self._again = False
        self._closing = False

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def paused(self) -> bool:
        return bool(self._cancel and self._cancel.paused)

    def set_embedder(self, embedder: object | None) -> None:
        """Index with this model from the next pass on (None: catalogue only)."""
        self.embedder = embedder

    def start(self) -> None:
        """Run a pass now, or right after the current one."""
        if self._closing:
            return
        if self.running:
            self._again = True
            return
        self._again = False
        self._cancel = CancelToken()
        thread = QThread()
        thread.setObjectName("photoclip-index")
        worker = IndexWorker(self.db_path, self.embedder, self.thumbnails, self._cancel, self.write_xmp)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.item_failed.connect(self.item_failed)
        worker.sidecars_due.connect(self.sidecars_due)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        # The worker's last signal is queued before quit, so the GUI sees it first.
        worker.finished.connect(thread.quit)
        worker.failed.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        _THREADS.add(thread)
        thread.start()
        emit(self.started)
        emit(self.running_changed, True)

    def pause(self) -> None:
        if self._cancel is not None:
            self._cancel.pause()
            emit(self.paused_changed, True)

    def resume(self) -> None:
        if self._cancel is not None:
            self._cancel.resume()
            emit(self.paused_changed, False)

    def cancel(self) -> None:
        """Stop after the item in flight; what was done stays committed."""
        self._again = False
        if self._cancel is not None:
            self._cancel.cancel()
            emit(self.paused_changed, False)

    def shutdown(self) -> None:
        """Cancel and wait for the thread (on window close)."""
        self._closing = True
        self.cancel()
        thread = self._thread
        if thread is not None:
            thread.quit()
            thread.wait()
            self._cleanup()

    @Slot(object)
    def _on_finished(self, final: IndexProgress) -> None:
        if not self._closing:
            emit(self.finished, final)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._again = False
        if not self._closing:
            emit(self.failed, message)

    @Slot()
    def _on_thread_finished(self) -> None:
        self._cleanup()
        if self._again and not self._closing:
            self.start()

    def _cleanup(self) -> None:
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        self._cancel = None
        if thread is None:
            return
        thread.wait()
        if worker is not None:
            worker.deleteLater()
        thread.deleteLater()
        emit(self.running_changed, False)
