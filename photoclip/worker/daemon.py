"""`photoclip watch`: scan at start, then keep the library current and answer queries warm.

One Worker per library (the worker lock). Indexing passes run on the calling thread;
the query server and the model's idle timer on threads of their own. Each pass
takes the indexer lock of core/ingest/lock.py only while it works, so `photoclip
index` or the app can still index between passes (and a pass waits for them).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photoclip.app.sync import new_pass_finisher, new_photo_tagger
from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.errors import ModelUnavailable
from photoclip.core.ingest.lock import IndexLock
from photoclip.core.ingest.pipeline import IndexProgress, index_library
from photoclip.core.ingest.scan import scan_library
from photoclip.core.model import Embedder, ModelChoice, model_id_for
from photoclip.worker import runtime, status
from photoclip.worker.client import model_identity
from photoclip.worker.index_keeper import IndexKeeper
from photoclip.worker.models import ModelHolder
from photoclip.worker.power import on_battery
from photoclip.worker.server import CommandRunner, QueryServer
from photoclip.worker.watcher import DEBOUNCE_S, MAX_DELAY_S, RESCAN_EVERY_S, Changes, FolderFollower, FollowTiming

# Status file updates while indexing: often enough for a progress bar, rarely enough to cost nothing.
PUBLISH_INTERVAL_S = 0.5


@dataclass
class WorkerOptions:
    idle_unload: float = 600.0  # seconds without work or queries before the model is given back
    debounce: float = DEBOUNCE_S  # quiet seconds that end a burst of changes
    max_delay: float = MAX_DELAY_S  # a burst that never ends still gets a pass this often
    rescan_every: float = RESCAN_EVERY_S  # for folders without notifications
    thumbnails: Path | None = None
    write_xmp: bool = False
    battery_check_every: float = 60.0
    run_command: CommandRunner | None = None  # whole CLI commands for quick clients (cli/served.py)


class Worker:
    def __init__(
        self,
        db_path: Path,
        choice: ModelChoice,
        load_model: Callable[[], Embedder],
        options: WorkerOptions,
        report: Callable[[str], None],
    ) -> None:
        self.db_path = db_path
        self.choice = choice
        self.options = options
        self.report = report
        self.stop_requested = threading.Event()
        self.cancel = CancelToken()
        self.changes = Changes()
        self.passes = 0  # completed passes (tests await it)
        self.pass_done = threading.Condition()
        self.ready = threading.Event()  # the socket is up and the first pass has begun
        self.holder = ModelHolder(load_model, options.idle_unload, on_change=self._publish_now, identity=model_identity(choice))
        self._indexing: dict[str, Any] | None = None
        self._last_publish = 0.0
        self._model_problem: str | None = None
        self._follower: FolderFollower | None = None
        self.index_keeper = IndexKeeper(db_path)  # the approximate index, current after each pass (big libraries only)

    # -- lifecycle -------------------------------------------------------------------

    def stop(self) -> None:
        """Ask for a clean stop (from a signal handler or another thread)."""
        self.stop_requested.set()
        self.cancel.cancel()
        self.changes.close()

    def run(self, on_started: Callable[[], None] | None = None) -> None:
        """Watch until stopped; `on_started` runs once the worker lock is held and the socket
        is up (so a caller says "watching" only when it is true)."""
        lock = status.WorkerLock(self.db_path)
        if not lock.acquire():
            raise status.WorkerRunning(lock.holder(), status.worker_status(self.db_path).get("kind"))
        with ExitStack() as cleanup:
            cleanup.callback(lock.release)
            cleanup.callback(status.withdraw, self.db_path)
            cleanup.callback(self.holder.close)
            lib = Library(self.db_path)
            cleanup.callback(lib.close)
            server = QueryServer(self.db_path, self.holder, self.options.run_command)
            server.start()
            cleanup.callback(server.stop)
            options = self.options
            self._follower = FolderFollower(FollowTiming(options.debounce, options.max_delay, options.rescan_every), self.changes)
            cleanup.callback(self._follower.close)
            self._publish_now()
            self.ready.set()
            if on_started is not None:
                on_started()
            self._loop(lib)

    def _loop(self, lib: Library) -> None:
        follower = self._follower
        assert follower is not None
        while not self.stop_requested.is_set():
            for sentence in follower.sync(folder for _, folder in lib.folder_paths()):
                self.report(sentence)
            if self.options.battery_check_every and on_battery():
                self.report("On battery: indexing waits for mains power.")
                while on_battery() and not self.stop_requested.wait(self.options.battery_check_every):
                    pass
                continue
            self._one_pass(lib)
            # A burst of changes, or the periodic rescan when some folder has no notifications.
            follower.wait()

    # -- one pass ----------------------------------------------------------------------

    def _one_pass(self, lib: Library) -> None:
        if not lib.folder_paths():
            self._finish_pass()
            return
        scanned = self._scan(lib)
        if scanned is None:
            self._finish_pass()
            return
        try:
            model_id: str | None = model_id_for(self.choice)
        except ModelUnavailable:
            model_id = None
        needs_model = any(row[4] for row in lib.pending_work(model_id)) or self.holder.loaded
        with ExitStack() as stack:
            embedder: Embedder | None = None
            if needs_model:
                try:
                    embedder = stack.enter_context(self.holder.use())
                    self._model_problem = None
                except ModelUnavailable as exc:
                    if str(exc) != self._model_problem:
                        self._model_problem = str(exc)
                        self.report(f"{exc}\nCataloguing files and metadata only; embedding waits for a model.")
            self._index(lib, embedder, scanned)
        if model_id is not None and not self.stop_requested.is_set():
            # Without waiting for a build: new photos must not wait behind it (it writes its file when done).
            self.index_keeper.after_pass(lib, model_id, stop=self.stop_requested.is_set, announce=self.report, wait=False)
        self._finish_pass()

    def _scan(self, lib: Library) -> bool | None:
        """Reconcile the folders with the disk under the indexer lock; None when stopped first."""
        lock = IndexLock(lib.path)
        announced = False
        while not lock.acquire():
            if not announced:
                self.report(f"Waiting for another photoclip (pid {lock.holder() or '?'}) to finish indexing.")
                announced = True
            self._set_indexing({"phase": "waiting", "holder": lock.holder()})
            if self.stop_requested.wait(0.2):
                return None
        try:
            self._set_indexing({"phase": "scan", "seen": 0})
            scanner = scan_library(lib, cancel=self.cancel)
            try:
                while True:
                    step = next(scanner)
                    self._set_indexing({"phase": "scan", "seen": step.seen})
                    if self.cancel.cancelled:
                        scanner.close()
                        return None
            except StopIteration:
                return True
        finally:
            lock.release()

    def _index(self, lib: Library, embedder: Embedder | None, scanned: bool) -> None:
        sidecars: list[str] = []
        problems: list[tuple[str, str]] = []
        write = self.options.write_xmp
        tag_new = new_photo_tagger(lib, embedder, write_xmp=write, sidecars=sidecars, problems=problems)
        after_pass = new_pass_finisher(lib, embedder, write_xmp=write, sidecars=sidecars, problems=problems)

        def tag_committed(photo_ids: Sequence[int]) -> None:
            if tag_new is not None:
                tag_new(photo_ids)

        final: IndexProgress | None = None
        for event in index_library(
            lib,
            embedder,
            cancel=self.cancel,
            scan=False,
            thumbnails=self.options.thumbnails,
            after_commit=tag_committed,
            after_pass=after_pass,
            wait=True,
        ):
            final = event
            self._set_indexing(
                {"phase": event.phase, "done": event.done, "total": event.total, "embedded": event.embedded, "skipped": event.skipped}
            )
        if final is not None and (final.embedded or final.catalogued or final.skipped):
            self.report(f"Indexed: embedded {final.embedded}, catalogued {final.catalogued}, skipped {final.skipped}.")
        for path, reason in problems:
            self.report(f"  sidecar not written: {path}: {reason}")

    def _finish_pass(self) -> None:
        self._set_indexing(None, force=True)
        with self.pass_done:
            self.passes += 1
            self.pass_done.notify_all()

    def wait_for_passes(self, count: int, timeout: float) -> bool:
        """Block until `count` passes have completed (tests, benchmarks)."""
        with self.pass_done:
            return self.pass_done.wait_for(lambda: self.passes >= count, timeout)

    # -- the published status --------------------------------------------------------

    def _set_indexing(self, indexing: dict[str, Any] | None, force: bool = False) -> None:
        self._indexing = indexing
        now = time.monotonic()
        if force or now - self._last_publish >= PUBLISH_INTERVAL_S:
            self._publish_now()

    def _publish_now(self) -> None:
        self._last_publish = time.monotonic()
        watcher = self._follower.watcher if self._follower else None
        try:
            status.publish(
                self.db_path,
                {
                    "pid": os.getpid(),
                    "kind": "watcher",
                    "db": os.path.realpath(self.db_path),
                    "model_loaded": self.holder.loaded,
                    "device": self.holder.device,
                    "model": model_identity(self.choice),
                    "indexing": self._indexing,
                    "watching": sorted(watcher.watched) if watcher else [],
                    "rescanned": dict(watcher.rescanned) if watcher else {},
                    "passes": self.passes,
                },
            )
        except (OSError, runtime.NotPrivate):
            pass  # the status is a courtesy: a full disk must not stop the indexing
