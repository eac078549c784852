"""Approximate search for big libraries: the compressed codes of every vector scanned, the
best few thousand re-scored exactly.

Below `approximate_from` vectors (a setting; by default where the exact scan passes
~50 ms on the project's 2-core CPU) search stays exact (store.VectorIndex.top). Above it
the codes of core/search/compressed.py (FAISS's 4-bit product quantization, "fast scan")
propose a shortlist, which is re-scored exactly against the vectors in memory, so every
score shown is exact and only the choice of candidates is approximate. Every code is
scanned: there is no partition or graph that can miss the true neighbours of a query far
from everything (benchmarks/bench_ann.py: at 1M random vectors recall@10 0.98, where
usearch's graph, used before, reached 0.35 at 100k and took most of an hour to build).
Why FAISS and this index: README.md.

Here the index is kept current: loaded from its file beside the library (one per model),
written whole through a temp file and a rename, with a header saying what it covers: the
model, the dimension, the database's vector-deletion counter (migration m009) and the
highest vector rowid taken in. A file whose header does not match, whose checksum fails
or that FAISS cannot read is never used: the index is rebuilt in a background thread
while search stays exact. Vectors added later (higher rowids) are coded with the same
codebooks as they arrive; vectors deleted later (a purged photo, a re-embedded one) are
read from the database's log of deletions (m011) and marked dead. A dead code still
takes a place in the scan and may take one in a shortlist, so once removals reach
compressed.REBUILD_SHARE of the index a fresh one (with codebooks trained again) is built
in the background while the worn one keeps answering.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from photoclip.core import paths
from photoclip.core.db import Library
from photoclip.core.db.filters import vectors_removed_version
from photoclip.core.search.compressed import CompressedIndex, Coverage, UnusableIndexFile, faiss_available
from photoclip.core.search.store import Hit, VectorIndex

log = logging.getLogger(__name__)

# Candidates asked of the scan, before exact re-scoring: at least MIN_FETCH, and more in
# proportion to the library (one in SHORTLIST_SHARE), since the codes' errors let more
# photos overtake a true top 10 the more photos there are. On random vectors (the hardest
# case; bench_ann.py, round 19) 8,192 held 0.98 of the true top 10 at 1M; at 10M 8,192
# held 0.91, 24,576 0.96, 78,125 0.99. Real photos, which form groups, need fewer.
MIN_FETCH = 8192
SHORTLIST_SHARE = 400
MAX_FETCH = 262_144
# A filter that lets through at most this many photos is answered exactly over just those
# photos: cheaper than asking the scan for enough candidates to survive it.
EXACT_SUBSET = 50_000
# Codebooks trained on one vector have 16 identical centroids, which leave FAISS's lookup
# tables no range and it finds nothing: from two vectors on (a smaller library is exact).
MIN_VECTORS = 2
MAX_FILE_BYTES = 1 << 40
# An index file is read whole: one far bigger than this library's codes could make (a link
# to a video, a file from another library) is refused unread, not taken into memory. A code
# and its id take under dim + 16 bytes whatever the codes' size; room for four times the
# library's vectors (dead codes, photos purged since), and for the header and codebooks.
FILE_SLACK = 64 << 20


def file_limit(dim: int, vectors: int) -> int:
    """The most bytes an index file of a library of `vectors` vectors of `dim` dimensions is read for."""
    return min(MAX_FILE_BYTES, FILE_SLACK + 4 * vectors * (dim + 16))


def approximate_wanted(approximate_from: int, vectors: int) -> bool:
    """Whether a library of this many vectors is searched through the index under the setting
    (0: always exact); the searcher and the indexer's keeper ask the same question."""
    return approximate_from > 0 and max(approximate_from, MIN_VECTORS) <= vectors and faiss_available()


def shortlist_size(vectors: int) -> int:
    """Candidates the scan proposes for one query in a library of this many vectors."""
    return min(MAX_FETCH, max(MIN_FETCH, vectors // SHORTLIST_SHARE))


def index_path(db_path: Path, model_id: str) -> Path:
    """The index file for one model, beside the library file (model ids hold any characters)."""
    return db_path.with_name(f"{db_path.name}.ann-{_digest(model_id)}.faiss")


def old_index_path(db_path: Path, model_id: str) -> Path:
    """Where earlier versions kept a usearch graph: deleted once the new index file is written."""
    return db_path.with_name(f"{db_path.name}.ann-{_digest(model_id)}.usearch")


def _digest(model_id: str) -> str:
    return hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:16]


class ApproximateSearch:
    """The compressed index of one model for one Searcher: loaded, built, kept current, asked.

    Not thread-safe, like the Searcher that owns it; the only other thread is the
    background build, which works on its own snapshot and hands over its index through
    `_built`.
    """

    def __init__(self, db_path: Path | None, model_id: str, approximate_from: int) -> None:
        self.path = index_path(db_path, model_id) if db_path is not None else None
        self._old_path = old_index_path(db_path, model_id) if db_path is not None else None
        self.model_id = model_id
        self.approximate_from = approximate_from
        self.compressed: CompressedIndex | None = None
        self.answered = "exact"  # how the last query was answered: "exact" or "approximate"
        self._building: threading.Thread | None = None
        self._built: CompressedIndex | None = None
        self._built_event = threading.Event()
        self._build_failed = False  # not retried in this session: the exact path answers
        self._unsaved = 0

    def enabled_for(self, index: VectorIndex) -> bool:
        return approximate_wanted(self.approximate_from, len(index))

    def wait_built(self, timeout: float) -> bool:
        """Wait for a background build to finish (tests, and a command that wants the index now)."""
        return self._built_event.wait(timeout)

    def save_now(self) -> None:
        """Write the index if it took in vectors since it was last written (before a process exits)."""
        if self.compressed is not None and self._unsaved:
            self._save(self.compressed)

    @property
    def rebuilding(self) -> bool:
        """A build runs in the background (the index is missing, stale or worn out)."""
        return self._building is not None

    def sync(self, lib: Library, index: VectorIndex) -> None:
        """Bring the index up to the library after `index.refresh`: adopt, load, build, catch up."""
        if not self.enabled_for(index):
            self.compressed = None
            index.hold_as(np.float32)  # the exact scan reads float32 fastest
            return
        index.hold_as(np.float16)  # only shortlists are read: half the memory (see store.py)
        removed = vectors_removed_version(lib)
        self._adopt_built()
        if self.compressed is not None and not self._take_out_removed(lib, self.compressed, removed):
            log.info("Vectors were removed since the search index was made and the database no longer says which; rebuilding it")
            self.compressed = None
        if self.compressed is None and self._building is None and not self._build_failed:
            loaded = self._load(index.matrix.shape[1], len(index))
            if loaded is not None and loaded.coverage.last_rowid <= index.last_rowid and self._take_out_removed(lib, loaded, removed):
                self.compressed = loaded
            else:
                if loaded is not None:
                    log.info("The search index file %s is out of date; rebuilding it", self.path)
                self._start_build(index, lib)
        compressed = self.compressed
        if compressed is None:
            return
        if compressed.coverage.last_rowid < index.last_rowid:
            ids, matrix, last = lib.load_vectors(self.model_id, compressed.coverage.last_rowid)
            compressed.take(ids, matrix)
            compressed.coverage = replace(compressed.coverage, last_rowid=max(last, compressed.coverage.last_rowid))
            self._unsaved += len(ids)
        if compressed.worn_out() and self._building is None and not self._build_failed:
            log.info("Many photos left the search index since it was made; rebuilding it in the background")
            self._start_build(index, lib)  # the worn index answers meanwhile
        if self._unsaved >= max(10_000, len(compressed) // 20):  # a whole index is big: write it now and then
            self._save(compressed)

    def index_now(self, lib: Library, index: VectorIndex, timeout: float = 24 * 3600.0) -> CompressedIndex | None:
        """The compressed index, current, waiting for a build if there is none yet; None below the setting
        (or when the build failed). For work that costs far more without one than a build
        does, such as comparing every photo with every other (duplicates)."""
        self.sync(lib, index)
        if self.compressed is None and self.rebuilding and self.wait_built(timeout):
            self.sync(lib, index)
        return self.compressed

    def _take_out_removed(self, lib: Library, compressed: CompressedIndex, removed: int) -> bool:
        """Take out of `compressed` the vectors deleted since it was made; False when the database
        cannot say which (an index from before migration m011, or a library restored from an
        older copy): only a rebuild can tell then."""
        covered = compressed.coverage
        if covered.removed == removed:
            return True
        gone = lib.removed_vector_ids(self.model_id, covered.removed, removed)
        if gone is None:
            return False
        compressed.drop(gone)
        # A re-embedded photo's new vector may be among the rows the index covers already
        # (it was written between two reads of the database): put that one back.
        ids, matrix = lib.vectors_of(self.model_id, gone, covered.last_rowid)
        compressed.take(ids, matrix)
        compressed.coverage = replace(compressed.coverage, removed=removed)
        self._unsaved += len(gone)
        return True

    def top(self, index: VectorIndex, query: np.ndarray, limit: int, mask: np.ndarray | None, min_score: float | None) -> list[Hit] | None:
        """The best `limit` hits as `index.top` gives them, or None when only the exact scan can say."""
        self.answered = "exact"
        compressed = self.compressed
        if compressed is None or not self.enabled_for(index) or limit <= 0:
            return None
        allowed = index.present if mask is None else (index.present & mask)
        share = int(np.count_nonzero(allowed))
        if share == 0:
            return []
        # A filter letting through a share of the photos keeps about that share of the
        # candidates, so the shortlist grows by the inverse share; where that passes
        # MAX_FETCH, scoring the filter's photos exactly is the cheaper way.
        fetch = max(shortlist_size(len(index)), 2 * limit) * len(index) // share
        exact = share <= EXACT_SUBSET or fetch > MAX_FETCH
        if exact:
            rows = np.flatnonzero(allowed)
        else:
            rows = self._rows_of(index, compressed.nearest(query, fetch))
            rows = rows[allowed[rows]]
        scores = index.score_rows(rows, query)
        if min_score is not None:
            keep = scores >= min_score
            rows, scores = rows[keep], scores[keep]
        if len(rows) < limit and not exact:
            return None  # the candidates ran out: they cannot prove there are no more results
        order = np.argsort(-scores, kind="stable")[:limit]
        self.answered = "approximate"
        return [Hit(int(index.ids[rows[i]]), float(scores[i])) for i in order]

    def _rows_of(self, index: VectorIndex, keys: np.ndarray) -> np.ndarray:
        """Rows of `index` holding these photo ids (ids the index no longer has are dropped),
        in ascending order, so the exact re-scoring reads the matrix front to back. A photo
        has one live code at most, so no row comes twice: sorted, not made unique (which
        took 1 ms of a search at 8,192 candidates)."""
        rows = index.rows_of_ids(keys)
        return np.sort(rows[rows >= 0])

    def _load(self, dim: int, vectors: int | None = None) -> CompressedIndex | None:
        if self.path is None:
            return None
        try:
            data = paths.read_regular_file(self.path, MAX_FILE_BYTES if vectors is None else file_limit(dim, vectors))
        except FileNotFoundError:
            return None
        except (OSError, paths.NotAPlainFile) as exc:
            log.warning("Not using the search index file %s: %s", self.path, exc)
            return None
        try:
            return CompressedIndex.from_bytes(data, self.model_id, dim)
        except UnusableIndexFile as exc:
            log.warning("Not using the search index file %s: %s; rebuilding it", self.path, exc)
            return None

    def _save(self, compressed: CompressedIndex) -> None:
        """Write the index in use (the searcher's thread). Not while a build runs: the build
        writes its own index, and a worn one written after it would replace the fresh file."""
        if self.rebuilding:
            return
        if self._write(compressed):
            self._unsaved = 0

    def _write(self, compressed: CompressedIndex) -> bool:
        if self.path is None:
            return False
        try:
            paths.write_atomically(self.path, compressed.to_bytes(), 0o600)
            if self._old_path is not None:
                with contextlib.suppress(OSError):  # an earlier version's graph, replaced by this file
                    self._old_path.unlink(missing_ok=True)
        except OSError as exc:  # a full disk costs a rebuild next time, never a search
            log.warning("Could not write the search index file %s: %s", self.path, exc)
            return False
        return True

    def _start_build(self, index: VectorIndex, lib: Library) -> None:
        # A snapshot: the rows there now. Rows added or re-embedded meanwhile carry higher
        # rowids than `last_rowid` and are taken in when the index is adopted. The deletion
        # counter is the one read before the index read its rows: deletions that came while
        # it read them are taken out again, which is harmless (see _take_out_removed).
        removed = index.seen_removed if index.seen_removed is not None else vectors_removed_version(lib)
        coverage = Coverage(self.model_id, int(index.matrix.shape[1]), removed, index.last_rowid)
        ids, matrix = index.ids.copy(), index.matrix
        self._built_event.clear()

        def build() -> None:
            try:
                compressed = CompressedIndex(coverage)
                compressed.take(ids, matrix)
                self._write(compressed)
                self._built = compressed
            except Exception:  # the exact path keeps answering; say why there is no index
                log.exception("Building the search index failed")
                self._build_failed = True
            finally:
                self._built_event.set()

        self._building = threading.Thread(target=build, name="photoclip-ann-build", daemon=True)
        self._building.start()

    def _adopt_built(self) -> None:
        # The event, not is_alive(): the thread sets it a moment before it ends.
        if self._building is None or not self._built_event.is_set():
            return
        self._building = None
        if self._built is not None:  # a failed rebuild leaves a worn index answering
            self.compressed, self._built = self._built, None
