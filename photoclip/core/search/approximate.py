"""Approximate search for big libraries: every vector compressed to a short code, scanned fast.

Below `approximate_from` vectors (a setting; by default where the exact scan passes
~50 ms on the project's 2-core CPU) search stays exact (store.VectorIndex.top). Above it
FAISS's product quantizer with 4-bit codes, scanned with SIMD shuffles ("fast scan"),
proposes a shortlist of a few thousand candidates, which are re-scored exactly against the
vectors in memory, so every score shown is exact and only the choice of candidates is
approximate. Every code is scanned: there is no partition or graph that can miss the true
neighbours of a query far from everything (benchmarks/bench_ann.py: at 1M random vectors
recall@10 0.97 where usearch's graph, used before, reached 0.35 at 100k and took most of
an hour to build). Why FAISS and this index: README.md.

The index is kept in a file beside the library (one per model), written whole through a
temp file and a rename, with a header saying what it covers: the model, the dimension,
the database's vector-deletion counter (migration m009) and the highest vector rowid
taken in. A file whose header does not match, whose checksum fails or that FAISS cannot
read is never used: the index is rebuilt in a background thread while search stays
exact. Vectors added later (higher rowids) are coded with the same codebooks as they
arrive; vectors deleted later (a purged photo, a re-embedded one) are read from the
database's log of deletions (m011) and marked dead. A dead code still takes a place in
the scan and may take one in a shortlist, so once removals reach REBUILD_SHARE of the
index a fresh one (with codebooks trained again) is built in the background while the
worn one keeps answering.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from photoclip.core import paths
from photoclip.core.db import Library
from photoclip.core.db.filters import vectors_removed_version
from photoclip.core.search.store import Hit, VectorIndex

log = logging.getLogger(__name__)

# Dimensions per 4-bit code: 512-d vectors become 128 codes, 64 bytes (1/16 of float16).
# Chosen with benchmarks/bench_ann.py: 8 dimensions a code halves the scan but the
# shortlist then misses a third of the true top 10 at 1M random vectors.
DIMS_PER_CODE = 4
# Vectors the codebooks are trained on (a sample of the library: k-means of 16 centroids
# per code settles long before this, and training on all of 1M would take minutes).
TRAIN_SAMPLE = 65_536
ADD_STEP = 65_536  # vectors coded at once
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
# Dead codes (removed vectors) past this share of the index: build a fresh one.
REBUILD_SHARE = 0.2
MAGIC = b"PHOTOCLIP-ANN-2\n"
MAX_FILE_BYTES = 1 << 40


def shortlist_size(vectors: int) -> int:
    """Candidates the scan proposes for one query in a library of this many vectors."""
    return min(MAX_FETCH, max(MIN_FETCH, vectors // SHORTLIST_SHARE))


def faiss_available() -> bool:
    try:
        load_faiss()
    except ImportError:
        return False
    return True


def load_faiss() -> Any:
    """Import FAISS. On macOS torch and faiss-cpu each bring their own OpenMP runtime, and the
    second to start aborts the process ("OMP: Error #15") unless told a duplicate is
    acceptable; FAISS's parallel kernels can then crash, so there it runs on one thread
    (faiss-wheels issue 73; other projects that load both do the same). Untested on a Mac."""
    if sys.platform == "darwin":
        os.environ.setdefault("KMP_DUPLICATE_LIB_OK", "TRUE")
    import faiss

    if sys.platform == "darwin":
        faiss.omp_set_num_threads(1)
    return faiss


def index_path(db_path: Path, model_id: str) -> Path:
    """The index file for one model, beside the library file (model ids hold any characters)."""
    return db_path.with_name(f"{db_path.name}.ann-{_digest(model_id)}.faiss")


def old_index_path(db_path: Path, model_id: str) -> Path:
    """Where earlier versions kept a usearch graph: deleted once the new index file is written."""
    return db_path.with_name(f"{db_path.name}.ann-{_digest(model_id)}.usearch")


def _digest(model_id: str) -> str:
    return hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Coverage:
    """What an index holds: every vector of `model_id` up to `last_rowid`, as of `removed` deletions.

    `worn` counts the dead codes: vectors taken out since the index was built."""

    model_id: str
    dim: int
    removed: int
    last_rowid: int
    worn: int = 0


class UnusableIndexFile(Exception):
    """The file is not an index this library can trust."""


def _codes_for(dim: int) -> int:
    """How many 4-bit codes a vector gets: one per DIMS_PER_CODE dimensions, fewer dimensions
    a code where the dimension does not divide (FAISS needs a whole number per code)."""
    for per_code in (DIMS_PER_CODE, 2, 1):
        if dim % per_code == 0:
            return dim // per_code
    return dim


def _new_faiss_index(dim: int) -> Any:
    faiss = load_faiss()
    index = faiss.IndexPQFastScan(dim, _codes_for(dim), 4, faiss.METRIC_INNER_PRODUCT)
    # Small libraries have fewer than FAISS's 39 training points per centroid: train anyway
    # (the codes only choose candidates) instead of printing a warning to the user's terminal.
    index.pq.cp.min_points_per_centroid = 1
    return index


class CompressedIndex:
    """FAISS fast-scan codes of a library's vectors, the photo id of each code, and what it covers.

    Codes are never taken out of FAISS's index (their places are positions): a removed
    photo's code is marked dead, and dead codes are dropped from every answer."""

    def __init__(self, coverage: Coverage, index: Any = None, keys: np.ndarray | None = None, alive: np.ndarray | None = None) -> None:
        self.coverage = coverage
        self.index: Any = index if index is not None else _new_faiss_index(coverage.dim)
        self._keys = keys if keys is not None else np.empty(0, np.int64)  # photo id of each code, by position
        self._alive = alive if alive is not None else np.empty(0, bool)

    def __len__(self) -> int:
        """Live codes: the photos the index can propose."""
        return int(np.count_nonzero(self._alive))

    def live_keys(self) -> np.ndarray:
        """The photo ids of the live codes."""
        live: np.ndarray = self._keys[self._alive]
        return live

    def take(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Add vectors; a photo already in the index (re-embedded) is replaced. The first
        vectors taken train the codebooks (a fresh build takes the whole library at once)."""
        if not len(ids):
            return
        self.drop(ids)
        if not self.index.is_trained:
            rng = np.random.default_rng(0)
            some = np.sort(rng.choice(len(matrix), TRAIN_SAMPLE, replace=False)) if len(matrix) > TRAIN_SAMPLE else None
            picked = matrix if some is None else matrix[some]
            sample = np.ascontiguousarray(picked, np.float32)
            # k-means needs as many points as centroids (16): a tiny library repeats its own.
            self.index.train(np.resize(sample, (max(len(sample), 16), sample.shape[1])))
        # In steps: a float16 matrix (or a slice of one) is never copied whole as float32.
        # The ids of the steps coded are kept even if a later step fails (memory), so codes
        # and ids stay in line.
        coded = 0
        try:
            for start in range(0, len(matrix), ADD_STEP):
                self.index.add(np.ascontiguousarray(matrix[start : start + ADD_STEP], np.float32))
                coded = min(len(matrix), start + ADD_STEP)
        finally:
            self._keys = np.concatenate([self._keys, ids[:coded].astype(np.int64)])
            self._alive = np.concatenate([self._alive, np.ones(coded, bool)])

    def drop(self, ids: np.ndarray) -> int:
        """Mark these photos' codes dead (those it holds); returns how many it held."""
        if not len(ids) or not len(self._keys):
            return 0
        there = self._alive & np.isin(self._keys, ids.astype(np.int64))
        held = int(np.count_nonzero(there))
        if held:
            self._alive[there] = False
            self.coverage = replace(self.coverage, worn=self.coverage.worn + held)
        return held

    def worn_out(self) -> bool:
        return self.coverage.worn > REBUILD_SHARE * max(len(self), 1)

    def nearest(self, query: np.ndarray, count: int) -> np.ndarray:
        """The photo ids of the (about) `count` best codes for `query`, best first."""
        best: np.ndarray = self.nearest_many(np.asarray(query, np.float32).reshape(1, -1), count)[0]
        return best

    def nearest_many(self, queries: np.ndarray, count: int) -> np.ndarray:
        """The `count` best photo ids of each query row, one row each; -1 where fewer were found."""
        total = int(self.index.ntotal)
        if total == 0 or count <= 0:
            return np.full((len(queries), max(count, 0)), -1, np.int64)
        rows = np.ascontiguousarray(queries, np.float32)
        # Dead codes take places in a shortlist: ask for more, and twice as many again while
        # a row still holds fewer than `count` live ones (dead copies crowding one photo's
        # neighbourhood), until every code has been asked for.
        asked = min(total, count + min(self.coverage.worn, count))
        while True:
            _, places = self.index.search(rows, asked)
            places = np.asarray(places, np.int64)
            found = places >= 0
            safe = np.where(found, places, 0)
            live = found & self._alive[safe]
            if asked >= total or not self.coverage.worn or (live.sum(axis=1) >= count).all():
                break
            asked = min(total, 2 * asked)
        keys = np.where(live, self._keys[safe], -1)
        # Live keys first in each row, in the scan's order, then cut to `count`.
        order = np.argsort(~live, axis=1, kind="stable")
        return np.take_along_axis(keys, order, axis=1)[:, :count]

    def to_bytes(self) -> bytes:
        codes = bytes(load_faiss().serialize_index(self.index))
        body = codes + self._keys.astype("<i8").tobytes() + self._alive.astype(np.uint8).tobytes()
        fields = {**self.coverage.__dict__, "codes": len(codes), "count": len(self._keys), "bytes": len(body), "crc32": zlib.crc32(body)}
        header = json.dumps(fields).encode("utf-8")
        return MAGIC + len(header).to_bytes(4, "little") + header + body

    @classmethod
    def from_bytes(cls, data: bytes, model_id: str, dim: int) -> CompressedIndex:
        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
            raise UnusableIndexFile("not a photoclip index file")
        start = len(MAGIC) + 4
        size = int.from_bytes(data[len(MAGIC) : start], "little")
        try:
            header = json.loads(data[start : start + size].decode("utf-8"))
            coverage = Coverage(
                str(header["model_id"]), int(header["dim"]), int(header["removed"]), int(header["last_rowid"]), int(header.get("worn", 0))
            )
            length, crc, code_bytes, count = int(header["bytes"]), int(header["crc32"]), int(header["codes"]), int(header["count"])
        except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise UnusableIndexFile(f"unreadable header ({exc})") from exc
        if coverage.model_id != model_id or coverage.dim != dim:
            raise UnusableIndexFile(f"made for model {coverage.model_id} ({coverage.dim} dims)")
        body = data[start + size :]
        # The checksum and the sizes come before FAISS sees the bytes: a damaged file is never parsed.
        if len(body) != length or zlib.crc32(body) != crc:
            raise UnusableIndexFile("damaged (checksum)")
        if not 0 <= code_bytes <= length or count < 0 or code_bytes + 9 * count != length:
            raise UnusableIndexFile("damaged (sizes)")
        return cls(coverage, *_restore(body, code_bytes, count, dim))


def _restore(body: bytes, code_bytes: int, count: int, dim: int) -> tuple[Any, np.ndarray, np.ndarray]:
    faiss = load_faiss()
    try:
        index = faiss.deserialize_index(np.frombuffer(body, np.uint8, code_bytes))
    except (RuntimeError, MemoryError, ValueError) as exc:  # a size inside FAISS's bytes can ask for terabytes
        raise UnusableIndexFile(f"FAISS cannot read it ({type(exc).__name__}: {exc})") from exc
    if (
        not isinstance(index, faiss.IndexPQFastScan)
        or index.d != dim
        or index.ntotal != count
        or not index.is_trained
        or index.metric_type != faiss.METRIC_INNER_PRODUCT
        or _codes_for(dim) != index.pq.M
        or index.pq.nbits != 4
    ):
        raise UnusableIndexFile("FAISS reads something else in it")
    keys = np.frombuffer(body, "<i8", count, code_bytes).astype(np.int64)
    alive = np.frombuffer(body, np.uint8, count, code_bytes + 8 * count).astype(bool)
    return index, keys, alive


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
        self._mapped_ids: np.ndarray | None = None
        self._sorted_ids = np.empty(0, np.int64)
        self._sorted_rows = np.empty(0, np.int64)

    def enabled_for(self, index: VectorIndex) -> bool:
        return self.approximate_from > 0 and max(self.approximate_from, MIN_VECTORS) <= len(index) and faiss_available()

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
            return
        removed = vectors_removed_version(lib)
        self._adopt_built()
        if self.compressed is not None and not self._take_out_removed(lib, self.compressed, removed):
            log.info("Vectors were removed since the search index was made and the database no longer says which; rebuilding it")
            self.compressed = None
        if self.compressed is None and self._building is None and not self._build_failed:
            loaded = self._load(index.matrix.shape[1])
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
        scores = index.matrix[rows] @ query.astype(np.float32, copy=False)
        if min_score is not None:
            keep = scores >= min_score
            rows, scores = rows[keep], scores[keep]
        if len(rows) < limit and not exact:
            return None  # the candidates ran out: they cannot prove there are no more results
        order = np.argsort(-scores, kind="stable")[:limit]
        self.answered = "approximate"
        return [Hit(int(index.ids[rows[i]]), float(scores[i])) for i in order]

    def _rows_of(self, index: VectorIndex, keys: np.ndarray) -> np.ndarray:
        """Rows of `index` holding these photo ids (ids the index no longer has are dropped)."""
        if self._mapped_ids is not index.ids:
            self._sorted_rows = np.argsort(index.ids, kind="stable")
            self._sorted_ids = index.ids[self._sorted_rows]
            self._mapped_ids = index.ids
        keys = keys[keys >= 0]
        where = np.searchsorted(self._sorted_ids, keys)
        where = np.minimum(where, max(len(self._sorted_ids) - 1, 0))
        found = self._sorted_ids[where] == keys if len(self._sorted_ids) else np.zeros(len(keys), bool)
        return np.unique(self._sorted_rows[where[found]])

    def _load(self, dim: int) -> CompressedIndex | None:
        if self.path is None:
            return None
        try:
            data = paths.read_regular_file(self.path, MAX_FILE_BYTES)
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
