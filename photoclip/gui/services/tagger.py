"""Tagging the library in the background, with progress and cancel.

A run wraps the `run_tagging` use case (a generator over core's `apply_labels`) on a
`Worker` thread of its own with its own
`Library` (sqlite connections belong to the thread that opened them), so the app's
library thread stays free for searches while thousands of tags are written. Runs
asked for while one is going are queued and run in order; each may first change
something (a label's threshold) in the same thread, so the run sees the change.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from photoclip.app.tag_runs import Prepare, TagOutcome, TagRun, run_tagging
from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.errors import PhotoclipError
from photoclip.core.model import Embedder
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.workers import Worker

log = logging.getLogger(__name__)


class TagController(QObject):
    """Runs tagging passes one at a time; the window shows `progress` and offers `cancel`."""

    progress = Signal(int, int)  # photos done, total
    finished = Signal(object)  # TagOutcome of a run that completed or was cancelled
    failed = Signal(str)
    sidecars_stale = Signal(object)  # set of photo ids, after any run (even a failed one) with write_xmp
    running_changed = Signal(bool)
    lock_waiting = Signal(bool)  # a write of the run waits for another process's write lock (see LibraryRunner)

    def __init__(self, db_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self._worker = Worker("tagging", threads=1, parent=self)
        self._queue: list[TagRun] = []
        self._cancel = CancelToken()
        self._busy = False
        self._closing = False

    @property
    def running(self) -> bool:
        return self._busy

    def start(self, embedder: Embedder, names: list[str] | None = None, *, prepare: Prepare | None = None, write_xmp: bool = False) -> None:
        """Tag the library with these labels (all for None), now or after the run in progress."""
        if self._closing:
            return
        self._queue.append(TagRun(embedder, None if names is None else list(names), prepare, write_xmp))
        if not self._busy:
            self._next()

    def cancel(self) -> None:
        """Stop the current run between chunks (what was written stays) and drop the queue."""
        self._queue.clear()
        self._cancel.cancel()

    def shutdown(self) -> None:
        self._closing = True
        self.cancel()
        self._worker.shutdown()

    def _next(self) -> None:
        if not self._queue or self._closing:
            if self._busy:
                self._busy = False
                emit(self.running_changed, False)
            return
        run = self._queue.pop(0)
        self._cancel = CancelToken()
        if not self._busy:
            self._busy = True
            emit(self.running_changed, True)
        emit(self.progress, 0, 0)
        self._worker.submit(lambda cancel: self._job(run, cancel), self._done, self._failed, on_progress=self._moved, cancel=self._cancel)

    def _job(self, run: TagRun, cancel: CancelToken) -> Generator[tuple[int, int], None, TagOutcome]:
        # The run's own Library, opened in the tagging thread: the library thread stays free.
        with Library(self.db_path) as lib:
            lib.conn.lock_wait = lambda waiting: emit(self.lock_waiting, waiting)
            return (yield from run_tagging(lib, run, cancel))

    def _moved(self, step: tuple[int, int]) -> None:
        if self._busy and not self._closing:
            emit(self.progress, *step)

    def _done(self, outcome: TagOutcome) -> None:
        if outcome.stale_sidecars:
            emit(self.sidecars_stale, outcome.stale_sidecars)
        if outcome.error is not None:
            emit(self.failed, outcome.error)
        else:
            emit(self.finished, outcome)
        self._next()

    def _failed(self, exc: BaseException) -> None:
        # run_tagging reports its own errors; this is only for a failure to open the library.
        log.error("tagging failed", exc_info=exc)
        emit(self.failed, str(exc) if isinstance(exc, PhotoclipError) else f"Tagging failed: {type(exc).__name__}: {exc}")
        self._next()
