"""While the app runs it keeps the library current, and it never indexes beside another photoclip.

The open window is the library's worker, as `photoclip watch` would be: it holds the
worker lock, follows the folders with the daemon's own `FolderFollower` (debounced the
same way; its blocking wait runs on a `Worker` thread) and publishes the same status
file, so `photoclip status` describes the app. When another process holds the library
(a `photoclip watch`, a window of another session), the app indexes nothing and shows
that process's progress, read from its status file and from the database on a timer
off the GUI thread; when that process stops, the app takes over. A `photoclip index`
run holds only the indexer lock: the app's pass then waits for it, the same way.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.errors import PhotoclipError
from photoclip.core.ingest.lock import IndexLock
from photoclip.core.ingest.pipeline import IndexProgress
from photoclip.core.model import Embedder, ModelChoice, model_id_for
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.indexer import IndexController
from photoclip.gui.services.serving import AppQueries
from photoclip.gui.services.workers import Worker
from photoclip.worker import runtime, status
from photoclip.worker.client import model_identity
from photoclip.worker.watcher import FolderFollower, FollowTiming

log = logging.getLogger(__name__)

POLL_MS = 1000  # how often the other process's progress is read while it holds the library
PUBLISH_INTERVAL_S = 0.5  # as the daemon: often enough for a progress bar


@dataclass(frozen=True)
class OtherIndexer:
    """Another photoclip at work on this library: from its lock, its status file and the database."""

    kind: str  # "watcher" (photoclip watch), "app" (another window) or "indexer" (photoclip index)
    pid: int | None
    phase: str | None = None  # what it published: "scan", "index", "waiting"; None when idle or unknown
    done: int = 0
    total: int = 0
    photos: int = 0  # in the library now, and how many of them are searchable (the database)
    searchable: int = 0

    @property
    def who(self) -> str:
        """Short enough for the status bar of a 1024-pixel screen; the process is in `explanation`."""
        return {"watcher": "The background watcher", "app": "photoclip in another window"}.get(self.kind, "Another photoclip")

    @property
    def busy(self) -> bool:
        return self.kind == "indexer" or self.phase in ("scan", "index")

    def sentence(self) -> str:
        """What the status bar says, in a photographer's words."""
        if self.phase == "scan":
            return f"{self.who} is looking for new photos…"
        if self.phase == "index" and self.total:
            return f"{self.who} is adding photos: {self.done:,} of {self.total:,}"
        if self.busy:
            return f"{self.who} is adding photos: {self.searchable:,} of {self.photos:,} searchable"
        return f"{self.who} keeps this library up to date"

    def explanation(self) -> str:
        """The longer story, for a tooltip: which process, and what the window does meanwhile."""
        process = {"watcher": "photoclip watch", "app": "photoclip (another window)"}.get(self.kind, "photoclip index")
        pid = f" (process {self.pid})" if self.pid else ""
        return (
            f"Only one photoclip adds photos to a library at a time, and now {process}{pid} does. "
            "This window shows its progress, and takes over watching your folders when it stops."
        )

    def progress(self) -> tuple[int, int]:
        """(done, total) for a progress bar; (0, 0) when there is nothing to count."""
        if self.phase == "index" and self.total:
            return self.done, self.total
        if self.busy and self.photos:
            return self.searchable, self.photos
        return 0, 0


@dataclass
class _Followed:
    """One report of the follower thread: the folders' state, and whether a pass is due."""

    due: bool = False
    notes: list[str] = field(default_factory=list)
    watched: list[str] = field(default_factory=list)
    rescanned: dict[str, str] = field(default_factory=dict)


class LibraryWatch(QObject):
    """Owner of the library while the window is open, or the watcher of whoever owns it."""

    other_changed = Signal(object)  # an OtherIndexer, or None when the app itself does the work
    note = Signal(str)  # a folder that cannot be watched (rescanned periodically instead)
    owner_changed = Signal(bool)
    others_wrote = Signal(bool)  # the other process added photos or vectors (True: and it has finished)

    def __init__(
        self,
        db_path: Path,
        indexer: IndexController,
        choice: Callable[[], ModelChoice],
        loaded_model_id: Callable[[], str | None],
        timing: FollowTiming | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.indexer = indexer
        self.timing = timing or FollowTiming()
        self._choice = choice
        self._loaded_model_id = loaded_model_id  # the ready model's id; None while none is loaded
        self.owner = False
        self.other: OtherIndexer | None = None
        self.follower: FolderFollower | None = None
        self.passes_due = 0  # bursts the follower reported (tests await a change by it)
        self._lock = status.WorkerLock(self.db_path)
        self._indexing: dict[str, Any] | None = None
        self._folders: _Followed = _Followed()
        self._last_publish = 0.0
        self._closed = False
        self.queries = AppQueries(self.db_path)  # the worker socket, answered while the app owns the library
        # Locks, status files and database counts are read on this thread, never the GUI's.
        self._probe = _ProbeWorker(self.db_path, parent=self)
        self._follow = Worker("watch", threads=1, parent=self)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        indexer.set_blocked(True)  # until the claim below says whether another photoclip owns the library
        indexer.busy.connect(self._indexer_busy)
        indexer.progress.connect(self._indexer_progress)
        indexer.running_changed.connect(self._indexer_running)
        self._probe.submit(lambda _cancel: self._claim(), lambda got: self._claimed(got, catch_up=False), self._claim_failed)

    @property
    def watched(self) -> list[str]:
        """The folders the app follows by notifications now (the follower's last report)."""
        return list(self._folders.watched)

    # -- who owns the library -------------------------------------------------------------

    def _claim(self) -> bool:
        """Take the worker lock (probe thread). On a first run the library's folder does not
        exist yet (the database is created lazily on the library thread): make it, or the
        lock file cannot be created and the app would never index."""
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        return self._lock.acquire()

    def _claim_failed(self, exc: BaseException) -> None:
        """The worker lock could not be taken at all (not: taken by another process). Index
        anyway rather than never: the indexer's own lock still keeps two passes apart."""
        self._probe_failed(exc)
        if not self._closed:
            self.indexer.set_blocked(False)

    def _claimed(self, acquired: bool, *, catch_up: bool) -> None:
        if self._closed:
            return
        if acquired:
            self._become_owner(catch_up)
        else:
            self._poll()
            self._timer.start()

    def _become_owner(self, catch_up: bool) -> None:
        self.owner = True
        self._timer.stop()
        self._set_other(None)
        self.follower = follower = FolderFollower(self.timing)
        self._follow.submit(lambda cancel: self._follow_folders(follower, cancel), on_progress=self._followed, on_error=self._probe_failed)
        emit(self.owner_changed, True)
        self.publish(force=True)
        self._probe.submit(lambda _cancel: self.queries.start(), on_error=self._probe_failed)
        self.indexer.set_blocked(False)  # a pass asked for meanwhile (the model became ready) runs now
        if catch_up and not self.indexer.running:
            self.indexer.start()  # the other process may have stopped halfway, or the folders changed meanwhile

    def _poll(self) -> None:
        """Ask (off the GUI thread) who holds the library now; the answer comes to `_polled`."""
        if self._closed:
            return
        owner, choice, model_id = self.owner, self._choice(), self._loaded_model_id()
        self._probe.submit(lambda _cancel: self._probe.look(owner, choice, model_id), self._polled, self._probe_failed, key="poll")

    def _polled(self, found: OtherIndexer | None) -> None:
        if self._closed:
            return
        if found is not None:
            self._set_other(found)
            return
        if self.owner:
            # The `photoclip index` run we waited for is done: our own pass goes on.
            self._timer.stop()
            self._set_other(None)
            self._indexing = None
            self.indexer.set_blocked(False)
            self.publish(force=True)
        else:
            # The other worker has gone: try to take the library over.
            self._probe.submit(lambda _cancel: self._claim(), lambda got: self._claimed(got, catch_up=True), self._claim_failed)

    def _set_other(self, other: OtherIndexer | None) -> None:
        previous = self.other
        if other == previous:
            return
        self.other = other
        emit(self.other_changed, other)
        if previous is None:
            return
        finished = previous.busy and not (other is not None and other.busy)
        counts = (other.photos, other.searchable) if other is not None else None
        if finished or (counts is not None and counts != (previous.photos, previous.searchable)):
            emit(self.others_wrote, finished)

    def _probe_failed(self, exc: BaseException) -> None:
        if isinstance(exc, PhotoclipError):
            emit(self.note, str(exc))
        else:
            log.error("watching the library failed", exc_info=exc)

    # -- the app's own indexer -------------------------------------------------------------

    def _indexer_busy(self, pid: int | None) -> None:
        """A `photoclip index` holds the indexer lock: show it, and look again every second."""
        self._indexing = {"phase": "waiting", "holder": pid}
        self.publish(force=True)
        self._set_other(OtherIndexer("indexer", pid))
        self._poll()
        self._timer.start()

    def _indexer_progress(self, event: IndexProgress) -> None:
        self._indexing = {
            "phase": event.phase,
            "done": event.done,
            "total": event.total,
            "embedded": event.embedded,
            "skipped": event.skipped,
        }
        self.publish()

    def _indexer_running(self, running: bool) -> None:
        if not running and not self.indexer.blocked:
            self._indexing = None
            self.publish(force=True)
            if self.follower is not None:
                self.follower.wake()  # a pass may follow a folder added or removed: watch exactly the library's

    def model_changed(self, embedder: Embedder | None) -> None:
        """The app's model is ready (or gone while another loads): lend it to the socket, say so in the status."""
        self.queries.lend(embedder)
        self.publish(force=True)

    def folders_changed(self) -> None:
        if self.follower is not None:
            self.follower.wake()

    # -- the follower thread ---------------------------------------------------------------

    def _follow_folders(self, follower: FolderFollower, cancel: CancelToken) -> Generator[_Followed, None, None]:
        with Library(self.db_path) as lib:
            while not follower.closed and not cancel.cancelled:
                notes = follower.sync(folder for _, folder in lib.folder_paths())
                watcher = follower.watcher
                yield _Followed(False, notes, sorted(watcher.watched), dict(watcher.rescanned))
                if follower.wait():
                    yield _Followed(True, [], sorted(watcher.watched), dict(watcher.rescanned))

    def _followed(self, followed: _Followed) -> None:
        for sentence in followed.notes:
            emit(self.note, sentence)
        changed = (followed.watched, followed.rescanned) != (self._folders.watched, self._folders.rescanned)
        self._folders = followed
        if followed.due:
            self.passes_due += 1
            self.indexer.start()
        elif changed:
            self.publish(force=True)

    # -- the status `photoclip status` reads -----------------------------------------------

    def publish(self, *, force: bool = False) -> None:
        """Write the status file (off the GUI thread); at most twice a second unless `force`."""
        if not self.owner or self._closed:
            return
        now = time.monotonic()
        if not force and now - self._last_publish < PUBLISH_INTERVAL_S:
            return
        self._last_publish = now
        document = {
            "pid": os.getpid(),
            "kind": "app",
            "db": os.path.realpath(self.db_path),
            "model_loaded": self._loaded_model_id() is not None,
            "model": self.queries.model.identity or model_identity(self._choice()),
            "device": self.queries.model.device,  # where the model runs ("auto" says nothing): photoclip status
            "indexing": self._indexing,
            "watching": self._folders.watched,
            "rescanned": self._folders.rescanned,
            "passes": self.passes_due,
        }
        self._probe.submit(lambda _cancel: _publish(self.db_path, document), on_error=self._probe_failed)

    def shutdown(self) -> None:
        """Stop following, give the library back (status file withdrawn, then the lock)."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        if self.follower is not None:
            self.follower.close()
        self._follow.shutdown()
        self._probe.shutdown()
        self.queries.stop()  # before the lock goes: a `photoclip watch` started next binds the socket anew
        if self.owner:
            status.withdraw(self.db_path)
        self._lock.release()


def _publish(db_path: Path, document: dict[str, Any]) -> None:
    try:
        status.publish(db_path, document)
    except (OSError, runtime.NotPrivate):
        pass  # the status is a courtesy: a full disk must not stop the app


class _ProbeWorker(Worker):
    """One thread that reads locks, status files and counts; it keeps its own read connection."""

    def __init__(self, db_path: Path, parent: QObject | None = None) -> None:
        self.db_path = db_path
        self._lib: Library | None = None
        super().__init__("watch-probe", threads=1, parent=parent)

    def look(self, owner: bool, choice: ModelChoice, model_id: str | None) -> OtherIndexer | None:
        """Who else works on this library now, with its progress; None when nobody does.

        Not owning the library, the app looks for its worker (a watcher, another window);
        owning it, for a `photoclip index` run holding the indexer lock."""
        other: OtherIndexer | None = None
        if not owner:
            seen = status.worker_status(self.db_path)
            if seen["running"]:
                indexing = seen.get("indexing") or {}
                kind = "app" if seen.get("kind") == "app" else "watcher"
                other = OtherIndexer(
                    kind, seen.get("pid"), indexing.get("phase"), int(indexing.get("done") or 0), int(indexing.get("total") or 0)
                )
        else:
            lock = IndexLock(self.db_path)
            if lock.path.exists() and lock.taken():
                other = OtherIndexer("indexer", lock.holder())
        if other is None:
            return None
        counts = self._counts(choice, model_id)
        return OtherIndexer(other.kind, other.pid, other.phase, other.done, other.total, counts["photos"], counts["embedded"])

    def _counts(self, choice: ModelChoice, model_id: str | None) -> dict[str, int]:
        """The library's photos and how many are searchable with the app's model (by the loaded
        model's id, else the chosen model's: a weights file's id costs a few reads, done here)."""
        if self._lib is None:
            self._lib = Library(self.db_path)
        if model_id is None:
            try:
                model_id = model_id_for(choice)
            except PhotoclipError:
                model_id = None
        return self._lib.counts(model_id)

    def thread_ending(self) -> None:
        if self._lib is not None:
            self._lib.close()  # in the thread that opened it
            self._lib = None
