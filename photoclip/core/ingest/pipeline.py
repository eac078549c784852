"""The indexing pipeline: scan, then decode in a small thread pool while the model embeds.

`index_library` is a generator of `IndexProgress` events. The CLI turns them into a
tqdm bar; the GUI's worker turns them into signals. It checks a `CancelToken`
between items and commits before every event and before pausing (see writer.py), so
a crash or cancel loses at most the batch in flight, a rerun resumes where it
stopped, and other writers are never locked out while it waits. One indexer runs
per library at a time (lock.py).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.errors import ModelUnavailable
from photoclip.core.ingest.decoding import DEVICE_JPEG_READERS, DecodedItem, DecodeGate, WorkItem, decode_item, default_workers
from photoclip.core.ingest.embedding import embed_items
from photoclip.core.ingest.lock import IndexerBusy, IndexLock
from photoclip.core.ingest.places import assign_places
from photoclip.core.ingest.progress import IndexProgress, RateMeter, fresh_event
from photoclip.core.ingest.scan import scan_library
from photoclip.core.ingest.writer import IndexWriter
from photoclip.core.media.decode import JPEG_EXTENSIONS, extension
from photoclip.core.model import Embedder

__all__ = ["IndexProgress", "IndexerBusy", "default_workers", "index_library"]

# How often a second indexer looks again whether the first one has finished.
_LOCK_POLL = 0.1
# Photos decoded ahead while the model loads (imports and weights take seconds, during
# which the cores are mostly free): 160 x 256x256 RGB is ~31 MB, what about 4 s of
# decoding on two cores fills.
LOADING_LOOKAHEAD = 160


# Photos per model batch. On a CPU a batch of 16 already keeps every core busy; on a GPU
# the device's JPEG decoder wants more (H200: 366 photos/s in batches of 16, 462 of 32,
# 481 of 64), and 32 decoded 12-MP photos take ~1.2 GB of its memory, which small cards have.
CPU_BATCH = 16
GPU_BATCH = 32


def index_library(
    lib: Library,
    embedder: Embedder | None,
    *,
    cancel: CancelToken | None = None,
    scan: bool = True,
    batch_size: int | None = None,
    workers: int | None = None,
    commit_every: float = 2.0,
    thumbnails: Path | None = None,
    after_commit: Callable[[Sequence[int]], None] | None = None,
    after_pass: Callable[[], object] | None = None,
    wait: bool = False,
    decode_on_device: bool = True,
) -> Generator[IndexProgress, None, IndexProgress]:
    """Scan the folders, then read metadata and embed every pending photo.

    With `embedder=None` photos are still catalogued (metadata, thumbnails) and
    embedding waits for a model. `after_commit` is called with the ids whose vectors
    were just committed (the tagging hook); `after_pass` once the pass has gone through
    every pending photo, not after a cancel (tagging recalibrates its provisional
    thresholds). When another indexer holds this library,
    raises IndexerBusy, or with `wait=True` yields "waiting" events until it is done
    (a cancel stops the wait). `decode_on_device=False` keeps JPEG decoding on the CPU
    where the model runs on a GPU (benchmarks compare the two).
    """
    cancel = cancel or CancelToken()
    lock = IndexLock(lib.path)
    try:
        if not lock.acquire():
            if not wait:
                raise IndexerBusy(lock.holder())
            while not lock.acquire():
                yield IndexProgress("scan", message=f"waiting for another photoclip (pid {lock.holder() or '?'}) to finish indexing")
                if cancel.cancelled:
                    return (yield from _finish(IndexProgress("done", cancelled=True)))
                time.sleep(_LOCK_POLL)
        return (
            yield from _index_locked(
                lib, embedder, cancel, scan, batch_size, workers, commit_every, thumbnails, after_commit, after_pass, decode_on_device
            )
        )
    finally:
        lock.release()


def _index_locked(
    lib: Library,
    embedder: Embedder | None,
    cancel: CancelToken,
    scan: bool,
    batch_size: int | None,
    workers: int | None,
    commit_every: float,
    thumbnails: Path | None,
    after_commit: Callable[[Sequence[int]], None] | None,
    after_pass: Callable[[], object] | None,
    decode_on_device: bool,
) -> Generator[IndexProgress, None, IndexProgress]:
    scan_result = None
    if scan:
        scanner = scan_library(lib, commit_every=commit_every, cancel=cancel)
        try:
            while True:
                step = next(scanner)
                yield IndexProgress("scan", seen=step.seen, message=step.folder)
                cancel.wait_if_paused()  # the scan commits before each event: nothing is held locked
                if cancel.cancelled:
                    scanner.close()
                    return (yield from _finish(IndexProgress("done", cancelled=True)))
        except StopIteration as stop:
            scan_result = stop.value
    model_id = embedder.model_id if embedder else None
    registered_dim = None
    if embedder is not None:
        registered_dim = _shape(embedder)[0]
        with lib.transaction():
            lib.register_model(embedder.model_id, registered_dim, type(embedder).__name__)
    work = [WorkItem(*row) for row in lib.pending_work(model_id)]
    progress = IndexProgress("index", total=len(work), scan=scan_result)
    if scan_result:
        progress.seen = scan_result.seen
        progress.skipped_files = list(scan_result.problems)
    yield progress
    run = _Run(lib, embedder, IndexWriter(lib, model_id, scan_result), cancel, batch_size, commit_every, after_commit)
    run.model_dim = registered_dim
    run.decode_on_device = decode_on_device
    final = yield from run.pipeline(work, workers or default_workers(), thumbnails, fresh_event(progress))
    # Places of the photos of this pass (and of any indexed before places existed).
    assign_places(lib, cancel)
    if after_pass is not None and not final.cancelled:
        after_pass()
    return (yield from _finish(final))


def _shape(embedder: Embedder) -> tuple[int, int]:
    """(dim, input size): planned from the config while a model still loads on its thread,
    so that decoding starts at once; checked against the loaded model at the first batch."""
    planned = getattr(embedder, "planned_shape", None)
    if planned is not None and not getattr(embedder, "loaded", True):
        shape = planned()
        if shape is not None:
            return (int(shape[0]), int(shape[1]))
    return embedder.dim, embedder.input_size


def _finish(progress: IndexProgress) -> Generator[IndexProgress, None, IndexProgress]:
    progress.phase = "done"
    progress.eta = 0.0
    yield progress
    return progress


class _Run:
    """One pass over the pending work: decode ahead, embed in batches, flush, report."""

    def __init__(
        self,
        lib: Library,
        embedder: Embedder | None,
        writer: IndexWriter,
        cancel: CancelToken,
        batch_size: int | None,
        commit_every: float,
        after_commit: Callable[[Sequence[int]], None] | None,
    ) -> None:
        self.lib = lib
        self.embedder = embedder
        self.writer = writer
        self.cancel = cancel
        # None: chosen by where the model runs, once it is loaded (see _check_model).
        self.batch_size = batch_size or CPU_BATCH
        self.batch_size_chosen = batch_size is not None
        self.commit_every = commit_every
        self.after_commit = after_commit
        self.batch: list[tuple[DecodedItem, int]] = []
        self.last_commit = time.monotonic()
        # A model on the CPU runs alone (see DecodeGate); on a GPU decoding overlaps it. Off
        # until the model is loaded (its device known): decoders run alone while it loads.
        self.gate = DecodeGate(enabled=False)
        self.size: int | None = None  # the input size decoders prepare photos at
        self.thumbnails: Path | None = None
        self.checked = False
        self.model_dim: int | None = None  # as registered in the library
        self.decode_on_device = True  # JPEGs left whole for a GPU to decode, where the model runs on one
        self.leave_jpegs = False  # known once the model is loaded: photos decoded while it loads use the CPU
        self.pool: ThreadPoolExecutor | None = None  # the decoders', which also write device-made thumbnails

    def commit(self, progress: IndexProgress) -> None:
        committed = self.writer.flush()
        self.last_commit = time.monotonic()
        if committed:
            progress.committed_ids.extend(committed)
            if self.after_commit is not None:
                self.after_commit(list(committed))

    def receive(self, decoded: DecodedItem, progress: IndexProgress) -> bool:
        """Take one decoded photo; True when it completed a batch that went through the model."""
        routed = self.writer.route(decoded)
        if routed is None:
            progress.done += 1  # its row is gone (trashed or its folder removed): nothing to write
            return False
        target, needs_vector = routed
        if decoded.skip is not None:
            self.writer.add(decoded, target)
            progress.skipped += 1
            progress.done += 1
            progress.skipped_files.append((decoded.work.path, decoded.skip))
        elif decoded.embeddable and needs_vector:
            self.batch.append((decoded, target))  # counted as done when its batch is embedded
            # While the model loads, photos wait in the batch, up to LOADING_LOOKAHEAD of them
            # (a first download can take minutes: memory must stay bounded meanwhile).
            if len(self.batch) >= self.batch_size and (len(self.batch) >= LOADING_LOOKAHEAD or not self.model_loading()):
                return self.embed_batch(progress)
        else:
            self.writer.add(decoded, target)
            progress.catalogued += 1
            progress.done += 1
        return False

    def model_loading(self) -> bool:
        """Whether the model is still loading on its thread: then photos are decoded ahead
        (up to LOADING_LOOKAHEAD) instead of waiting for it with idle cores."""
        return not self.checked and bool(getattr(self.embedder, "loading", False))

    def embed_batch(self, progress: IndexProgress) -> bool:
        """Embed the first batch_size photos waiting. After a model load more wait: they go
        a batch per call, so that commits and progress events come between batches."""
        waiting, self.batch = self.batch[self.batch_size :], self.batch[: self.batch_size]
        try:
            return self._embed_waiting(progress)
        finally:
            self.batch.extend(waiting)

    def _embed_waiting(self, progress: IndexProgress) -> bool:
        if not self.batch or self.embedder is None:
            return False
        if not self.checked:
            self._check_model()
        if any(d.pixels is not None and d.pixels.shape[0] != self.size for d, _ in self.batch):
            self._decode_again()
        if not self.batch:
            return False
        embedder = self.embedder

        def run_model(pixels: np.ndarray) -> np.ndarray:
            with self.gate.model_running():
                return embedder.embed_images(pixels)

        def decode_on_cpu(item: DecodedItem) -> DecodedItem:
            return decode_item(item.work, self.size, self.thumbnails)

        assert self.pool is not None
        embedded = embed_items(embedder, [d for d, _ in self.batch], decode_on_cpu, run_model, self.pool)
        for (decoded, vector), (_, target) in zip(embedded, self.batch):
            self.writer.add(decoded, target, vector)
            if vector is None:  # a JPEG the device refused and the CPU could not read either
                progress.skipped += 1
                progress.skipped_files.append((decoded.work.path, decoded.skip or "unreadable"))
            else:
                progress.embedded += 1
            progress.done += 1
        self.batch.clear()
        return True

    def _check_model(self) -> None:
        """First batch: wait for the model, then decode again any photo prepared at a planned
        size the loaded model does not have (a config that said otherwise)."""
        assert self.embedder is not None
        self.size = self.embedder.input_size  # waits for a model loading on its thread
        self.checked = True
        self.gate.enabled = getattr(self.embedder, "device", None) == "cpu"
        self.leave_jpegs = self.jpegs_to_device()
        if not self.batch_size_chosen and getattr(self.embedder, "device", None) == "cuda":
            self.batch_size = GPU_BATCH
        if self.model_dim is not None and self.embedder.dim != self.model_dim:
            raise ModelUnavailable(
                f"{self.embedder.model_id} gives {self.embedder.dim}-d vectors, not the {self.model_dim} its config says"
            )

    def jpegs_to_device(self) -> bool:
        """Whether decoders leave JPEGs whole for the model's device: known once it is loaded."""
        return self.decode_on_device and bool(getattr(self.embedder, "decodes_jpeg_on_device", False))

    def _decode_again(self) -> None:
        """Photos decoded at a planned input size the loaded model does not have: again, at
        its own (a photo that fails now is left pending for the next pass)."""
        again = [(decode_item(d.work, self.size, None), target) for d, target in self.batch]
        self.batch = [(d, target) for d, target in again if d.pixels is not None]

    def pipeline(
        self, work: list[WorkItem], workers: int, thumbnails: Path | None, progress: IndexProgress
    ) -> Generator[IndexProgress, None, IndexProgress]:
        self.size = _shape(self.embedder)[1] if self.embedder else None
        meter = RateMeter()
        gate = self.gate

        self.thumbnails = thumbnails
        if getattr(self.embedder, "loaded", False):
            self.leave_jpegs = self.jpegs_to_device()

        readers = threading.Semaphore(DEVICE_JPEG_READERS)

        def decode(item: WorkItem) -> DecodedItem:
            if self.leave_jpegs and extension(item.path) in JPEG_EXTENSIONS:
                with readers:
                    return decode_item(item, self.size, thumbnails, leave_jpeg=True)
            with gate.decoding():
                return decode_item(item, self.size, thumbnails)

        pending: deque[Future[DecodedItem]] = deque()
        queue = iter(work)
        last_event = 0.0
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photoclip-decode") as pool:
            self.pool = pool
            try:
                while True:
                    if self.cancel.paused:
                        self.commit(progress)  # never hold the library locked while paused
                        self.cancel.wait_if_paused()
                    if self.cancel.cancelled:
                        progress.cancelled = True
                        break
                    # Enough decoded photos queued that the model never waits, few enough to bound
                    # memory; while the model loads, more: cores would otherwise sit idle for seconds.
                    steady = self.batch_size * 2 + workers
                    lookahead = max(steady, LOADING_LOOKAHEAD - len(self.batch)) if self.model_loading() else steady
                    while len(pending) < lookahead:
                        item = next(queue, None)
                        if item is None:
                            break
                        pending.append(pool.submit(decode, item))
                    if pending:
                        embedded = self.receive(pending.popleft().result(), progress)
                    elif self.batch and self.embedder is not None:
                        embedded = self.embed_batch(progress)  # the last photos, a batch at a time
                    else:
                        break
                    now = time.monotonic()
                    if now - self.last_commit >= self.commit_every:
                        self.commit(progress)
                    # Every batch is news (the GUI shows it); in between, at most four events a second.
                    if embedded or now - last_event >= 0.25:
                        last_event = now
                        self.commit(progress)  # what an event reports is in the library
                        progress.rate = meter.update(progress.done)
                        remaining = progress.total - progress.done
                        progress.eta = remaining / progress.rate if progress.rate > 0 else None
                        yield progress
                        progress = fresh_event(progress)
            finally:
                for future in pending:
                    future.cancel()
                self.commit(progress)
        return progress
