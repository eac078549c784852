"""Run short jobs off the GUI thread and get result-or-error back on it.

The shape follows Picard's `run_task` and Anki's `QueryOp`: a callable goes to a
thread pool; when it ends, exactly one of `on_done(result)` / `on_error(exc)` runs
on the GUI thread. A bridge QObject living on the GUI thread receives a queued
signal emitted from the worker thread, which is how Qt hands data between threads.

`LibraryRunner` is the same with a single, long-lived thread that owns the GUI's
own `Library` (sqlite3 connections are bound to the thread that opened them) and
the `Searcher`, so every read, write and search of the app's database happens there.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from photoclip.gui.qtcompat import emit

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class _Bridge(QObject):
    # token, result, error: emitted from a worker thread, delivered on the GUI thread.
    finished = Signal(int, object, object)


class TaskRunner(QObject):
    """A small thread pool whose results come back to the GUI thread."""

    def __init__(self, name: str, max_workers: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=f"photoclip-{name}")
        self._bridge = _Bridge()
        self._bridge.finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._callbacks: dict[int, tuple[Done | None, Failed | None]] = {}
        self._ids = itertools.count(1)
        self._closed = False
        self.unhandled: Failed | None = None  # where errors go when a job has no on_error

    def run(self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None) -> int:
        """Run `fn()` in the pool; returns a token (its callbacks run at most once).

        After shutdown (the window is closing) a request is dropped and -1 returned:
        late signals from other workers may still ask for work while the app quits.
        """
        if self._closed:
            log.debug("task dropped: the runner was shut down")
            return -1
        token = next(self._ids)
        self._callbacks[token] = (on_done, on_error)
        self._pool.submit(self._call, token, fn)
        return token

    def discard(self, token: int) -> None:
        """Forget a job's callbacks: its result, when it comes, is dropped (a stale request)."""
        self._callbacks.pop(token, None)

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def _call(self, token: int, fn: Callable[[], Any]) -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:
            result, error = None, exc
        if not self._closed:
            emit(self._bridge.finished, token, result, error)

    @Slot(int, object, object)
    def _deliver(self, token: int, result: object, error: object) -> None:
        on_done, on_error = self._callbacks.pop(token, (None, None))
        if self._closed:
            return
        if error is not None:
            if on_error is not None:
                on_error(error)  # type: ignore[arg-type]
            elif self.unhandled is not None:
                self.unhandled(error)  # type: ignore[arg-type]
            else:
                log.error("background task failed", exc_info=error)  # type: ignore[arg-type]
        elif on_done is not None:
            on_done(result)

    def shutdown(self) -> None:
        """Stop taking jobs, drop queued ones, wait for the running ones (they are short)."""
        if self._closed:
            return
        self._closed = True
        self._callbacks.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)


class LibraryContext:
    """What a job on the library thread gets: that thread's Library and Searcher."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._lib = None
        self._searcher = None

    @property
    def lib(self):
        if self._lib is None:
            from photoclip.core.db import Library

            self._lib = Library(self.db_path)
        return self._lib

    def searcher(self, embedder):
        """A Searcher for this model, refreshed so vectors committed by the indexer count."""
        from photoclip.core.search import Searcher

        if self._searcher is None or self._searcher.embedder is not embedder:
            self._searcher = Searcher(self.lib, embedder)
        else:
            self._searcher.refresh()
        return self._searcher

    def close(self) -> None:
        self._searcher = None
        if self._lib is not None:
            self._lib.close()
            self._lib = None


class LibraryRunner(TaskRunner):
    """One thread that owns the app's Library: every DB call of the GUI goes through here."""

    def __init__(self, db_path: Path, parent: QObject | None = None) -> None:
        super().__init__("library", max_workers=1, parent=parent)
        self.context = LibraryContext(Path(db_path))
        self._thread_id: int | None = None

    def call(
        self,
        fn: Callable[[LibraryContext], Any],
        on_done: Done | None = None,
        on_error: Failed | None = None,
    ) -> int:
        return self.run(lambda: self._in_thread(fn), on_done, on_error)

    def _in_thread(self, fn: Callable[[LibraryContext], Any]) -> Any:
        # One worker thread only, so the context (and its sqlite connection) never changes thread.
        ident = threading.get_ident()
        assert self._thread_id in (None, ident), "library jobs must stay on one thread"
        self._thread_id = ident
        return fn(self.context)

    def shutdown(self) -> None:
        if not self._closed:
            try:
                self._pool.submit(self.context.close).result()
            except RuntimeError:
                pass
        super().shutdown()
