"""The one way the app runs work off the GUI thread.

A `Worker` owns a few long-lived threads and a queue of jobs. A job is a callable
given the job's `CancelToken`; it returns a value, or it is a generator (core's
long jobs are: indexing, tagging), in which case each yielded item becomes a
progress callback and the generator's return value the result (superqt's
`GeneratorWorker` idea). The job checks its token where stopping is safe (core's
generators do, between commits), so a paused job never holds the database. Exactly one of `on_done(result)` / `on_error(exc)` then runs on
the GUI thread, delivered by a queued signal of a QObject living there.

Everything background in the app goes through this class: the library thread
(`LibraryRunner`: one thread, so the sqlite connection it opens never changes
thread), short jobs (`TaskRunner`: model loading, image decoding, downloads), the
indexer and the tagger (one thread each, generator jobs), and thumbnails (two
threads, newest request first, stale ones dropped). Threads are plain Python
threads, joined on `shutdown()`; nothing is ever killed.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from photoclip.core.cancel import CancelToken
from photoclip.gui.qtcompat import emit

if TYPE_CHECKING:
    from photoclip.core.db import Library
    from photoclip.core.model import Embedder
    from photoclip.core.search import Searcher

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]
Progress = Callable[[Any], None]
Job = Callable[[CancelToken], Any]

# Every worker thread ever started, so tests (and close) can check none is left running.
_THREADS: set[threading.Thread] = set()
_THREADS_LOCK = threading.Lock()


def running_worker_threads() -> list[str]:
    with _THREADS_LOCK:
        return sorted(t.name for t in _THREADS if t.is_alive())


@dataclass
class _Entry:
    token: int
    job: Job
    cancel: CancelToken
    key: Hashable | None
    on_done: Done | None = None
    on_error: Failed | None = None
    on_progress: Progress | None = None


class _Bridge(QObject):
    # Emitted from a worker thread, delivered on the GUI thread (where the bridge lives).
    progressed = Signal(int, object)
    finished = Signal(int, object, object)


class Worker(QObject):
    """Worker threads taking jobs from one queue; results come back on the GUI thread."""

    def __init__(
        self,
        name: str,
        threads: int = 1,
        *,
        newest_first: bool = False,
        max_pending: int | None = None,
        may_abandon: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.newest_first = newest_first  # thumbnails: what the user looks at now comes first
        self.max_pending = max_pending  # beyond it, the oldest waiting jobs are dropped
        self.unhandled: Failed | None = None  # where errors go when a job has no on_error
        self._pending: OrderedDict[int, _Entry] = OrderedDict()
        self._running: dict[int, _Entry] = {}
        self._callbacks: dict[int, _Entry] = {}  # jobs whose result the GUI still wants
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._closed = False
        self._bridge = _Bridge()
        self._bridge.progressed.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._bridge.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        # `may_abandon`: jobs that write nothing the library needs (loading a model) and cannot be
        # interrupted; their threads are daemons, so a quit need not wait for them (`shutdown(wait_s)`).
        self._threads = [threading.Thread(target=self._loop, name=f"photoclip-{name}-{i}", daemon=may_abandon) for i in range(threads)]
        with _THREADS_LOCK:
            _THREADS.update(self._threads)
        for thread in self._threads:
            thread.start()

    # -- GUI thread -------------------------------------------------------------------

    def submit(
        self,
        job: Job,
        on_done: Done | None = None,
        on_error: Failed | None = None,
        *,
        on_progress: Progress | None = None,
        key: Hashable | None = None,
        cancel: CancelToken | None = None,
    ) -> int:
        """Queue `job(cancel_token)`; returns a token for `discard`/`cancel` (-1 after shutdown).

        With a `key`, a job already waiting under that key is moved to the front of the
        queue instead of queued twice, and one running under it makes this request a no-op.
        """
        if self._closed:
            log.debug("%s: job dropped, the worker was shut down", self.name)
            return -1
        with self._cond:
            if key is not None:
                for entry in self._running.values():
                    if entry.key == key:
                        return entry.token
                for token, entry in self._pending.items():
                    if entry.key == key:
                        self._pending.move_to_end(token)
                        return token
            token = next(self._ids)
            entry = _Entry(token, job, cancel or CancelToken(), key, on_done, on_error, on_progress)
            self._pending[token] = entry
            self._callbacks[token] = entry
            while self.max_pending is not None and len(self._pending) > self.max_pending:
                dropped, _ = self._pending.popitem(last=False)
                self._callbacks.pop(dropped, None)
            self._cond.notify()
        return token

    def discard(self, token: int) -> None:
        """Forget a job's callbacks (a stale request): it is dropped if still waiting."""
        with self._cond:
            self._pending.pop(token, None)
            self._callbacks.pop(token, None)

    def cancel(self, token: int) -> None:
        """Ask a job to stop between items (generator jobs); its callbacks still run."""
        with self._cond:
            entry = self._running.get(token) or self._pending.get(token)
        if entry is not None:
            entry.cancel.cancel()

    def clear_pending(self) -> None:
        """Drop every job still waiting (their callbacks never run)."""
        with self._cond:
            for token in self._pending:
                self._callbacks.pop(token, None)
            self._pending.clear()

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending) + len(self._running)

    def shutdown(self, wait_s: float | None = None) -> None:
        """Drop waiting jobs, cancel running ones and wait for the threads to end.

        `wait_s` bounds the wait, only for a worker made with `may_abandon` (daemon threads):
        a job still running then is left to end with the process; its result is dropped.
        """
        if self._closed:
            return
        deadline = None if wait_s is None or not self._threads[0].daemon else time.monotonic() + wait_s
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._callbacks.clear()
            for entry in self._running.values():
                entry.cancel.cancel()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.info("%s: left a running job to end with the process", thread.name)

    @Slot(int, object)
    def _on_progress(self, token: int, item: object) -> None:
        entry = self._callbacks.get(token)
        if entry is not None and entry.on_progress is not None and not self._closed:
            entry.on_progress(item)

    @Slot(int, object, object)
    def _on_finished(self, token: int, result: object, error: object) -> None:
        entry = self._callbacks.pop(token, None)
        if entry is None or self._closed:
            return
        if isinstance(error, BaseException):
            if entry.on_error is not None:
                entry.on_error(error)
            elif self.unhandled is not None:
                self.unhandled(error)
            else:
                log.error("%s: background job failed", self.name, exc_info=error)
        elif entry.on_done is not None:
            entry.on_done(result)

    # -- worker threads -------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._pending and not self._closed:
                        self._cond.wait()
                    if self._closed:
                        return
                    token, entry = self._pending.popitem(last=self.newest_first)
                    self._running[token] = entry
                try:
                    result, error = self._run(entry), None
                except BaseException as exc:
                    result, error = None, exc
                with self._cond:
                    self._running.pop(token, None)
                if not self._closed:
                    emit(self._bridge.finished, token, result, error)
        finally:
            self.thread_ending()

    def _run(self, entry: _Entry) -> Any:
        outcome = entry.job(entry.cancel)
        if not isinstance(outcome, Generator):
            return outcome
        # A generator job: every item is progress. Cancel and pause are left to the job, which
        # holds the token: core checks it where stopping is safe (after a commit, never with a
        # write transaction open), and a cancelled job still returns what it did.
        try:
            while True:
                item = next(outcome)
                if not self._closed and entry.on_progress is not None:
                    emit(self._bridge.progressed, entry.token, item)
        except StopIteration as stop:
            return stop.value

    def thread_ending(self) -> None:
        """Called in each worker thread as it ends (the library thread closes its database)."""


class TaskRunner(Worker):
    """Short jobs that need no cancel token: `run(fn, on_done, on_error)`."""

    def __init__(self, name: str, max_workers: int = 2, parent: QObject | None = None, *, may_abandon: bool = False) -> None:
        super().__init__(name, threads=max_workers, may_abandon=may_abandon, parent=parent)

    def run(self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None) -> int:
        return self.submit(lambda _cancel: fn(), on_done, on_error)


class LibraryContext:
    """What a job on the library thread gets: that thread's Library and Searcher."""

    def __init__(self, db_path: Path, lock_wait: Callable[[bool], None] | None = None) -> None:
        self.db_path = db_path
        self.lock_wait = lock_wait  # see core/db/connection.py: a write waiting for another photoclip
        self._lib: Library | None = None
        self._searcher: Searcher | None = None

    @property
    def lib(self) -> Library:
        if self._lib is None:
            from photoclip.core.db import Library

            self._lib = Library(self.db_path)
            self._lib.conn.lock_wait = self.lock_wait
        return self._lib

    def searcher(self, embedder: Embedder) -> Searcher:
        """A Searcher for this model, refreshed so vectors committed by the indexer count."""
        from photoclip.core.search import Searcher

        if self._searcher is None or self._searcher.embedder.model_id != embedder.model_id:
            self._searcher = Searcher(self.lib, embedder)
        else:
            # The same model's vectors, asked through another embedder (the text tower, then
            # the full model): the loaded matrix stays.
            self._searcher.embedder = embedder
            self._searcher.refresh()
        return self._searcher

    def close(self) -> None:
        self._searcher = None
        if self._lib is not None:
            self._lib.close()
            self._lib = None


class LibraryRunner(Worker):
    """One thread that owns the app's Library: every DB call of the GUI goes through here."""

    # True while a write waits (past LOCK_NOTICE_S) for another process's write lock, False after.
    lock_waiting = Signal(bool)

    def __init__(self, db_path: Path, parent: QObject | None = None) -> None:
        self.context = LibraryContext(Path(db_path), lambda waiting: emit(self.lock_waiting, waiting))
        super().__init__("library", threads=1, parent=parent)

    def call(self, fn: Callable[[LibraryContext], Any], on_done: Done | None = None, on_error: Failed | None = None) -> int:
        return self.submit(lambda _cancel: fn(self.context), on_done, on_error)

    def run(self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None) -> int:
        return self.submit(lambda _cancel: fn(), on_done, on_error)

    def thread_ending(self) -> None:
        self.context.close()  # in the thread that opened it: sqlite connections stay on theirs
