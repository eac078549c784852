"""Indexing in the background: core's `index_library` generator as a `Worker` job.

The pass opens its own `Library` inside its thread, because sqlite3 connections are
bound to the thread that opened them. Cancel and pause are cooperative, through
core's `CancelToken`; the thread is joined on shutdown, never killed.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Generator, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from photoclip.app.sync import new_pass_finisher, new_photo_tagger
from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.errors import PhotoclipError
from photoclip.core.ingest.pipeline import IndexerBusy, IndexProgress, index_library
from photoclip.core.model import Embedder
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.workers import Worker

log = logging.getLogger(__name__)


class IndexController(QObject):
    """Starts, pauses, resumes and cancels indexing; at most one pass at a time.

    A pass is a generator job on this controller's own `Worker` thread (opening its own
    `Library` there): each `IndexProgress` becomes `progress`, skipped files become
    `item_failed`, and the end becomes `finished` or `failed`. Pause and cancel go through
    the pass's `CancelToken`, which core checks where stopping is safe. A request made
    while a pass runs (a new folder, the model became ready) is remembered and run when
    the current pass ends; so is one made while the controller is `blocked` (another photoclip
    indexes this library: see services/watching.py), run once it is unblocked. A pass that finds
    another indexer at work emits `busy` and blocks itself instead of failing.
    """

    started = Signal()
    progress = Signal(object)
    item_failed = Signal(str, str)  # path, reason
    finished = Signal(object)  # the final IndexProgress (cancelled=True when stopped early)
    failed = Signal(str)  # a message for people
    sidecars_due = Signal(object)  # ids of photos just auto-tagged, whose sidecars the app should write
    running_changed = Signal(bool)
    paused_changed = Signal(bool)
    busy = Signal(object)  # the pid (or None) of another photoclip holding the indexer lock

    def __init__(self, db_path: Path, thumbnails: Path | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.thumbnails = thumbnails
        self.embedder: Embedder | None = None
        self.write_xmp = False  # new photos' tags go to their sidecars too (the user's setting)
        self._worker = Worker("index", threads=1, parent=self)
        self._cancel: CancelToken | None = None
        self._again = False
        self._closing = False
        self.blocked = False  # another photoclip indexes this library: passes wait (services/watching.py)

    @property
    def running(self) -> bool:
        return self._cancel is not None

    @property
    def paused(self) -> bool:
        return bool(self._cancel and self._cancel.paused)

    def set_embedder(self, embedder: Embedder | None) -> None:
        """Index with this model from the next pass on (None: catalogue only)."""
        self.embedder = embedder

    def set_blocked(self, blocked: bool) -> None:
        """Another process indexes this library (True): passes wait; False runs any that waited."""
        self.blocked = blocked
        if not blocked and self._again and not self.running:
            self.start()

    def start(self) -> None:
        """Run a pass now, or right after the current one (or once unblocked)."""
        if self._closing:
            return
        if self.running or self.blocked:
            self._again = True
            return
        self._again = False
        self._cancel = cancel = CancelToken()
        embedder, write_xmp = self.embedder, self.write_xmp
        self._worker.submit(
            lambda token: self._pass(embedder, write_xmp, token),
            self._on_finished,
            self._on_failed,
            on_progress=self._on_progress,
            cancel=cancel,
        )
        emit(self.started)
        emit(self.running_changed, True)

    def pause(self) -> None:
        """Pause after the current step; core commits before it waits, so other writers go on."""
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
        """Cancel and wait for the worker thread (on window close)."""
        self._closing = True
        self.cancel()
        self._worker.shutdown()
        self._ended()

    # -- the indexing thread -------------------------------------------------------------

    def _pass(self, embedder: Embedder | None, write_xmp: bool, cancel: CancelToken) -> Generator[IndexProgress, None, IndexProgress]:
        with Library(self.db_path) as lib:
            final = IndexProgress("done")
            # Thresholds first calibrated on the pass's early batches are provisional: the
            # pass's end recalibrates them, and the sidecars of photos whose tags moved follow.
            after_pass = new_pass_finisher(lib, embedder, stale_sidecars=self._sidecars_due if write_xmp else None)
            for event in index_library(
                lib,
                embedder,
                cancel=cancel,
                thumbnails=self.thumbnails,
                after_commit=self._after_commit(lib, embedder, write_xmp),
                after_pass=after_pass,
            ):
                final = _snapshot(event)
                yield final
            return final

    def _after_commit(self, lib: Library, embedder: Embedder | None, write_xmp: bool) -> Callable[[Sequence[int]], None] | None:
        """New photos get the user's labels here; their sidecars are left to the app's library
        thread, where every other sidecar write happens (two threads merging into one file
        could lose a change)."""
        tag_new = new_photo_tagger(lib, embedder)
        if tag_new is None:
            return None

        def after_commit(photo_ids: Sequence[int]) -> None:
            counts = tag_new(photo_ids)
            if write_xmp and isinstance(counts, dict) and sum(counts.values()):
                emit(self.sidecars_due, list(photo_ids))  # a queued signal: delivered on the GUI thread

        return after_commit

    def _sidecars_due(self, photo_ids: set[int]) -> None:
        if photo_ids:
            emit(self.sidecars_due, sorted(photo_ids))  # a queued signal: delivered on the GUI thread

    # -- GUI thread -------------------------------------------------------------------

    def _on_progress(self, event: IndexProgress) -> None:
        if self._closing:
            return
        for path, reason in event.skipped_files:
            emit(self.item_failed, path, reason)
        emit(self.progress, event)

    def _on_finished(self, final: IndexProgress) -> None:
        self._ended()
        if not self._closing:
            emit(self.finished, final)
            self._start_again()

    def _on_failed(self, exc: BaseException) -> None:
        if isinstance(exc, IndexerBusy) and not self._closing:
            # Another photoclip (`photoclip index`) is at work: not a failure. This pass
            # runs again once it is done (the watching service unblocks us).
            self.blocked = True
            self._again = True
            self._ended()
            emit(self.busy, exc.pid)
            return
        self._again = False
        self._ended()
        if isinstance(exc, PhotoclipError):
            message = str(exc)
        else:
            log.error("indexing failed", exc_info=exc)
            message = f"Indexing stopped by an internal error: {type(exc).__name__}: {exc}"
        if not self._closing:
            emit(self.failed, message)

    def _ended(self) -> None:
        if self._cancel is not None:
            self._cancel = None
            emit(self.running_changed, False)

    def _start_again(self) -> None:
        if self._again and not self._closing:
            self.start()


def _snapshot(event: IndexProgress) -> IndexProgress:
    """A copy for the GUI thread: the generator keeps mutating its own object."""
    out = copy.copy(event)
    out.skipped_files = list(event.skipped_files)
    out.committed_ids = list(event.committed_ids)
    return out
