"""The indexing pipeline: scan, then decode in a small thread pool while the model embeds.

`index_library` is a generator of `IndexProgress` events. The CLI turns them into a
tqdm bar; the GUI's worker turns them into signals. It checks a `CancelToken`
between items, and commits every few seconds, so a crash or cancel loses at most
the batch in flight and a rerun resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.errors import SkipFile
from photoclip.core.ingest.scan import ScanResult, scan_library
from photoclip.core.media.images import THUMBNAIL_SIZE, Metadata, decode_photo, prepare_for_model, save_thumbnail, thumbnail_path
from photoclip.core.model import Embedder

log = logging.getLogger(__name__)


@dataclass
class IndexProgress:
    phase: str  # "scan", "index" or "done"
    done: int = 0  # photos processed in this run (embedded, catalogued or skipped)
    total: int = 0  # photos this run had to process
    embedded: int = 0
    catalogued: int = 0  # metadata read without a model (or a moved photo's new metadata)
    skipped: int = 0
    seen: int = 0  # files seen by the scan
    rate: float = 0.0  # photos per second, recent
    eta: float | None = None  # seconds
    skipped_files: list[tuple[str, str]] = field(default_factory=list)  # since the previous event
    committed_ids: list[int] = field(default_factory=list)  # photos whose vectors were committed
    message: str = ""
    scan: ScanResult | None = None
    cancelled: bool = False


@dataclass
class _Work:
    photo_id: int
    path: str
    size: int
    mtime_ns: int
    needs_vector: bool


@dataclass
class _Decoded:
    work: _Work
    meta: Metadata | None = None
    pixels: np.ndarray | None = None
    skip: str | None = None


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class _RateMeter:
    """Photos per second over the last ~20 seconds, for a stable ETA."""

    def __init__(self) -> None:
        self._marks: deque[tuple[float, int]] = deque()

    def update(self, done: int) -> float:
        now = time.monotonic()
        self._marks.append((now, done))
        while len(self._marks) > 2 and now - self._marks[0][0] > 20:
            self._marks.popleft()
        t0, d0 = self._marks[0]
        return (done - d0) / (now - t0) if now > t0 else 0.0


def _decode_one(work: _Work, size: int | None, thumbs: Path | None) -> _Decoded:
    try:
        st = os.stat(work.path)
        if st.st_size != work.size or st.st_mtime_ns != work.mtime_ns:
            # Changed since the scan: the next scan sees it as changed and it is read then.
            raise SkipFile("file changed while indexing; rescan to pick it up")
        min_side = max(size or 0, THUMBNAIL_SIZE if thumbs else 0) or THUMBNAIL_SIZE
        decoded = decode_photo(work.path, min_side)
        if thumbs is not None:
            target = thumbnail_path(thumbs, work.path, work.size, work.mtime_ns)
            if not target.exists():
                try:
                    save_thumbnail(decoded.image, target)
                except OSError as exc:
                    log.warning("could not write thumbnail for %s: %s", work.path, exc)
        pixels = prepare_for_model(decoded.image, size) if size and work.needs_vector else None
        return _Decoded(work, decoded.meta, pixels)
    except SkipFile as exc:
        return _Decoded(work, skip=exc.reason)
    except FileNotFoundError:
        return _Decoded(work, skip="file vanished before it could be read")
    except MemoryError:
        return _Decoded(work, skip="image too large to decode in the available memory")
    except Exception as exc:
        log.exception("unexpected error decoding %s", work.path)
        return _Decoded(work, skip=f"unexpected error while reading: {type(exc).__name__}: {exc}")


def index_library(
    lib: Library,
    embedder: Embedder | None,
    *,
    cancel: CancelToken | None = None,
    scan: bool = True,
    batch_size: int = 16,
    workers: int | None = None,
    commit_every: float = 2.0,
    thumbnails: Path | None = None,
    after_commit: Callable[[Sequence[int]], None] | None = None,
    after_pass: Callable[[], object] | None = None,
) -> Generator[IndexProgress, None, IndexProgress]:
    """Scan the folders, then read metadata and embed every pending photo.

    With `embedder=None` photos are still catalogued (metadata, thumbnails) and
    embedding waits for a model. `after_commit` is called with the ids whose vectors
    were just committed (the tagging hook); `after_pass` once the pass has gone through
    every pending photo, not after a cancel (tagging recalibrates its provisional thresholds).
    """
    cancel = cancel or CancelToken()
    scan_result = None
    if scan:
        scanner = scan_library(lib, commit_every=commit_every)
        try:
            while True:
                step = next(scanner)
                yield IndexProgress("scan", seen=step.seen, message=step.folder)
                if cancel.cancelled:
                    scanner.close()
                    return (yield from _finish(IndexProgress("done", cancelled=True)))
        except StopIteration as stop:
            scan_result = stop.value
    model_id = embedder.model_id if embedder else None
    if embedder is not None:
        lib.register_model(model_id, embedder.dim, type(embedder).__name__)
    work = [_Work(*row) for row in lib.pending_work(model_id)]
    size = embedder.input_size if embedder else None
    progress = IndexProgress("index", total=len(work), scan=scan_result)
    if scan_result:
        progress.seen = scan_result.seen
        progress.skipped_files = list(scan_result.problems)
    yield progress
    final = yield from _run_pipeline(
        lib,
        embedder,
        work,
        size,
        cancel,
        batch_size,
        workers or default_workers(),
        commit_every,
        thumbnails,
        after_commit,
        progress,
    )
    if after_pass is not None and not final.cancelled:
        after_pass()
    return (yield from _finish(final))


def _finish(progress: IndexProgress) -> Generator[IndexProgress, None, IndexProgress]:
    progress.phase = "done"
    progress.eta = 0.0
    yield progress
    return progress


def _run_pipeline(
    lib: Library,
    embedder: Embedder | None,
    work: list[_Work],
    size: int | None,
    cancel: CancelToken,
    batch_size: int,
    workers: int,
    commit_every: float,
    thumbnails: Path | None,
    after_commit: Callable[[Sequence[int]], None] | None,
    progress: IndexProgress,
) -> Generator[IndexProgress, None, IndexProgress]:
    meter = _RateMeter()
    # Enough decoded photos queued that the model never waits, few enough to bound memory.
    lookahead = batch_size * 2 + workers
    # A model on the CPU already uses every core. Decoders running beside it preempt its
    # threads, and at each parallel step the others wait for the preempted one: so while
    # a batch is in the model no decode runs, and between batches the decoders have the
    # cores to themselves. Measured on 2 cores (benchmarks/bench_index.py): ~10% less
    # CPU per photo and ~10% more photos/s than overlapping them. On a GPU they overlap.
    gate = _DecodeGate(enabled=embedder is not None and getattr(embedder, "device", None) == "cpu")

    def decode(item: _Work) -> _Decoded:
        with gate.decoding():
            return _decode_one(item, size, thumbnails)

    pending: deque[Future[_Decoded]] = deque()
    queue = iter(work)
    batch: list[_Decoded] = []
    uncommitted: list[int] = []
    last_commit = time.monotonic()
    last_event = 0.0

    def commit() -> None:
        nonlocal last_commit
        lib.commit()
        last_commit = time.monotonic()
        if uncommitted:
            progress.committed_ids.extend(uncommitted)
            if after_commit is not None:
                after_commit(list(uncommitted))
            uncommitted.clear()

    def flush_batch() -> bool:
        if not batch:
            return False
        pixels = np.stack([d.pixels for d in batch])
        with gate.model_running():
            vectors = embedder.embed_images(pixels)  # type: ignore[union-attr]
        lib.begin()
        for d in batch:
            assert d.meta is not None
            _write_metadata(lib, d.work.photo_id, d.meta)
        lib.put_vectors(embedder.model_id, [d.work.photo_id for d in batch], vectors)  # type: ignore[union-attr]
        uncommitted.extend(d.work.photo_id for d in batch)
        progress.embedded += len(batch)
        progress.done += len(batch)
        batch.clear()
        return True

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photoclip-decode") as pool:
        try:
            while True:
                cancel.wait_if_paused()
                if cancel.cancelled:
                    progress.cancelled = True
                    break
                while len(pending) < lookahead:
                    item = next(queue, None)
                    if item is None:
                        break
                    pending.append(pool.submit(decode, item))
                if not pending:
                    break
                decoded = pending.popleft().result()
                flushed = False
                if decoded.skip is not None:
                    lib.begin()
                    lib.mark_skipped(decoded.work.photo_id, decoded.skip)
                    progress.skipped += 1
                    progress.done += 1
                    progress.skipped_files.append((decoded.work.path, decoded.skip))
                elif decoded.pixels is not None:
                    batch.append(decoded)
                    if len(batch) >= batch_size:
                        flushed = flush_batch()
                else:
                    lib.begin()
                    _write_metadata(lib, decoded.work.photo_id, decoded.meta)  # type: ignore[arg-type]
                    progress.catalogued += 1
                    progress.done += 1
                if time.monotonic() - last_commit >= commit_every:
                    commit()
                now = time.monotonic()
                # Every batch is news (the GUI shows it); in between, at most four events a second.
                if flushed or now - last_event >= 0.25:
                    last_event = now
                    progress.rate = meter.update(progress.done)
                    remaining = progress.total - progress.done
                    progress.eta = remaining / progress.rate if progress.rate > 0 else None
                    yield progress
                    progress = _fresh_event(progress)
            if not progress.cancelled:
                flush_batch()
        finally:
            for future in pending:
                future.cancel()
            if lib.conn.in_transaction:
                commit()
    return progress


class _DecodeGate:
    """Keeps decode workers and a CPU model from running at the same time.

    Decoders wait while a batch is in the model; the model waits for decodes already
    started (useful work: photos of later batches) so that its threads find the cores
    free.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._cond = threading.Condition()
        self._model = False
        self._decoding = 0

    @contextmanager
    def decoding(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._cond:
            while self._model:
                self._cond.wait()
            self._decoding += 1
        try:
            yield
        finally:
            with self._cond:
                self._decoding -= 1
                self._cond.notify_all()

    @contextmanager
    def model_running(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._cond:
            self._model = True
            while self._decoding:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._model = False
                self._cond.notify_all()


def _fresh_event(previous: IndexProgress) -> IndexProgress:
    """The next event carries the running totals but only the new per-event lists."""
    return IndexProgress(
        phase=previous.phase,
        done=previous.done,
        total=previous.total,
        embedded=previous.embedded,
        catalogued=previous.catalogued,
        skipped=previous.skipped,
        seen=previous.seen,
        rate=previous.rate,
        eta=previous.eta,
        scan=previous.scan,
    )


def _write_metadata(lib: Library, photo_id: int, meta: Metadata) -> None:
    lib.set_metadata(
        photo_id,
        width=meta.width,
        height=meta.height,
        taken_at=meta.taken_at,
        taken_source=meta.taken_source,
        camera=meta.camera,
        gps_lat=meta.gps_lat,
        gps_lon=meta.gps_lon,
    )
