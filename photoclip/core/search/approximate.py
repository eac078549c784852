"""Approximate search for big libraries: a usearch HNSW graph over one model's vectors.

Below `approximate_from` vectors (a setting; by default where the exact scan passes
~50 ms on the project's 2-core CPU) search stays exact (store.VectorIndex.top). Above it
the graph proposes a few hundred candidates, which are re-scored exactly against the
vectors in memory, so every score shown is exact and only the choice of candidates is
approximate. Why usearch: README.md and benchmarks/bench_ann.py.

The graph is kept in a file beside the library (one per model), written whole through a
temp file and a rename, with a header saying what it covers: the model, the dimension,
the database's vector-deletion counter (migration m009) and the highest vector rowid
taken in. A file whose header does not match, whose checksum fails or that usearch
cannot read is never used: the graph is rebuilt in a background thread while search
stays exact. Vectors added later (higher rowids) are taken in as they arrive; vectors
deleted later (a purged photo, a re-embedded one) are read from the database's log of
deletions (m011) and taken out. HNSW leaves a removed node behind as a tombstone that
searches still walk through, so once removals reach REBUILD_SHARE of the graph a fresh
one is built in the background while the worn one keeps answering.
"""

from __future__ import annotations

import hashlib
import json
import logging
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

# HNSW settings chosen with benchmarks/bench_ann.py (see README.md).
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 256
# Candidates asked of the graph, before exact re-scoring: enough that a filter letting
# through a fair share of the library still leaves `limit` results.
MIN_FETCH = 256
MAX_FETCH = 4096
# A filter that lets through at most this many photos is answered exactly over just those
# photos: cheaper than asking the graph for enough candidates to survive it.
EXACT_SUBSET = 50_000
# Threads for adding vectors; 0 is every core. A parallel build is not repeatable, and on
# tight groups of photos about 1 query in 60 misses a member of its own group among 40
# candidates, where a one-at-a-time build misses none; tests that need exact answers set 1.
BUILD_THREADS = 0
# Removed keys (tombstones) past this share of the graph: build a fresh one.
REBUILD_SHARE = 0.2
MAGIC = b"PHOTOCLIP-ANN-1\n"
MAX_FILE_BYTES = 1 << 40


def usearch_available() -> bool:
    try:
        import usearch.index  # noqa: F401
    except ImportError:
        return False
    return True


def index_path(db_path: Path, model_id: str) -> Path:
    """The graph file for one model, beside the library file (model ids hold any characters)."""
    digest = hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:16]
    return db_path.with_name(f"{db_path.name}.ann-{digest}.usearch")


@dataclass(frozen=True)
class Coverage:
    """What a graph holds: every vector of `model_id` up to `last_rowid`, as of `removed` deletions.

    `worn` counts the keys removed from the graph since it was built (tombstones)."""

    model_id: str
    dim: int
    removed: int
    last_rowid: int
    worn: int = 0


class UnusableIndexFile(Exception):
    """The file is not a graph this library can trust."""


class Graph:
    """A usearch index keyed by photo id, and what it covers."""

    def __init__(self, coverage: Coverage, index: Any = None) -> None:
        from usearch.index import Index

        self.coverage = coverage
        self.index: Any = index or Index(ndim=coverage.dim, metric="ip", dtype="i8", connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD)

    def __len__(self) -> int:
        return len(self.index)

    def take(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Add vectors; a photo already in the graph (re-embedded) is replaced."""
        if not len(ids):
            return
        self.drop(ids)
        self.index.add(ids.astype(np.uint64), np.ascontiguousarray(matrix, np.float32), threads=BUILD_THREADS)

    def drop(self, ids: np.ndarray) -> int:
        """Remove these photos from the graph (those it holds); returns how many it held."""
        if not len(ids):
            return 0
        keys = ids.astype(np.uint64)
        there = np.asarray(self.index.contains(keys), bool).reshape(-1)
        held = int(np.count_nonzero(there))
        if held:
            self.index.remove(keys[there])
            self.coverage = replace(self.coverage, worn=self.coverage.worn + held)
        return held

    def worn_out(self) -> bool:
        return self.coverage.worn > REBUILD_SHARE * max(len(self), 1)

    def nearest(self, query: np.ndarray, count: int) -> np.ndarray:
        self.index.expansion_search = max(EXPANSION_SEARCH, count)
        keys = self.index.search(np.ascontiguousarray(query, np.float32), count).keys
        return np.asarray(keys, np.int64).reshape(-1)

    def nearest_many(self, queries: np.ndarray, count: int) -> np.ndarray:
        """The `count` nearest keys of each query row, one row each; -1 where fewer were found."""
        self.index.expansion_search = max(EXPANSION_SEARCH, count)
        found = self.index.search(np.ascontiguousarray(queries, np.float32), count)
        keys = np.full((len(queries), count), -1, np.int64)
        if not hasattr(found, "counts"):  # one query: usearch answers with its found keys alone
            got = np.asarray(found.keys, np.uint64).astype(np.int64).reshape(-1)
            keys[0, : len(got)] = got
            return keys
        rows: np.ndarray = np.asarray(found.keys, np.uint64).astype(np.int64).reshape(len(queries), -1)[:, :count]
        counts = np.asarray(found.counts).reshape(-1, 1)
        keys[:, : rows.shape[1]] = np.where(np.arange(rows.shape[1])[None, :] < counts, rows, -1)
        return keys

    def to_bytes(self) -> bytes:
        body = bytes(self.index.save())
        header = json.dumps({**self.coverage.__dict__, "bytes": len(body), "crc32": zlib.crc32(body)}).encode("utf-8")
        return MAGIC + len(header).to_bytes(4, "little") + header + body

    @classmethod
    def from_bytes(cls, data: bytes, model_id: str, dim: int) -> Graph:
        from usearch.index import Index

        if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
            raise UnusableIndexFile("not a photoclip index file")
        start = len(MAGIC) + 4
        size = int.from_bytes(data[len(MAGIC) : start], "little")
        try:
            header = json.loads(data[start : start + size].decode("utf-8"))
            coverage = Coverage(
                str(header["model_id"]), int(header["dim"]), int(header["removed"]), int(header["last_rowid"]), int(header.get("worn", 0))
            )
            length, crc = int(header["bytes"]), int(header["crc32"])
        except (UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
            raise UnusableIndexFile(f"unreadable header ({exc})") from exc
        if coverage.model_id != model_id or coverage.dim != dim:
            raise UnusableIndexFile(f"made for model {coverage.model_id} ({coverage.dim} dims)")
        body = data[start + size :]
        # The checksum comes before usearch sees the bytes: a damaged graph is never parsed.
        if len(body) != length or zlib.crc32(body) != crc:
            raise UnusableIndexFile("damaged (checksum)")
        try:
            index = Index.restore(body)
        except (RuntimeError, ValueError) as exc:
            raise UnusableIndexFile(f"usearch cannot read it ({exc})") from exc
        if index is None or index.ndim != dim:
            raise UnusableIndexFile("usearch cannot read it")
        return cls(coverage, index)


class ApproximateSearch:
    """The graph of one model for one Searcher: loaded, built, kept current, asked.

    Not thread-safe, like the Searcher that owns it; the only other thread is the
    background build, which works on its own snapshot and hands over its graph through
    `_built`.
    """

    def __init__(self, db_path: Path | None, model_id: str, approximate_from: int) -> None:
        self.path = index_path(db_path, model_id) if db_path is not None else None
        self.model_id = model_id
        self.approximate_from = approximate_from
        self.graph: Graph | None = None
        self.answered = "exact"  # how the last query was answered: "exact" or "approximate"
        self._building: threading.Thread | None = None
        self._built: Graph | None = None
        self._built_event = threading.Event()
        self._build_failed = False  # not retried in this session: the exact path answers
        self._unsaved = 0
        self._mapped_ids: np.ndarray | None = None
        self._sorted_ids = np.empty(0, np.int64)
        self._sorted_rows = np.empty(0, np.int64)

    def enabled_for(self, index: VectorIndex) -> bool:
        return 0 < self.approximate_from <= len(index) and usearch_available()

    def wait_built(self, timeout: float) -> bool:
        """Wait for a background build to finish (tests, and a command that wants the graph now)."""
        return self._built_event.wait(timeout)

    def save_now(self) -> None:
        """Write the graph if it took in vectors since it was last written (before a process exits)."""
        if self.graph is not None and self._unsaved:
            self._save(self.graph)

    @property
    def rebuilding(self) -> bool:
        """A build runs in the background (the graph is missing, stale or worn out)."""
        return self._building is not None

    def sync(self, lib: Library, index: VectorIndex) -> None:
        """Bring the graph up to the library after `index.refresh`: adopt, load, build, catch up."""
        if not self.enabled_for(index):
            self.graph = None
            return
        removed = vectors_removed_version(lib)
        self._adopt_built()
        if self.graph is not None and not self._take_out_removed(lib, self.graph, removed):
            log.info("Vectors were removed since the search index was made and the database no longer says which; rebuilding it")
            self.graph = None
        if self.graph is None and self._building is None and not self._build_failed:
            loaded = self._load(index.matrix.shape[1])
            if loaded is not None and loaded.coverage.last_rowid <= index.last_rowid and self._take_out_removed(lib, loaded, removed):
                self.graph = loaded
            else:
                if loaded is not None:
                    log.info("The search index file %s is out of date; rebuilding it", self.path)
                self._start_build(index, lib)
        graph = self.graph
        if graph is None:
            return
        if graph.coverage.last_rowid < index.last_rowid:
            ids, matrix, last = lib.load_vectors(self.model_id, graph.coverage.last_rowid)
            graph.take(ids, matrix)
            graph.coverage = replace(graph.coverage, last_rowid=max(last, graph.coverage.last_rowid))
            self._unsaved += len(ids)
        if graph.worn_out() and self._building is None and not self._build_failed:
            log.info("Many photos left the search index since it was made; rebuilding it in the background")
            self._start_build(index, lib)  # the worn graph answers meanwhile
        if self._unsaved >= max(10_000, len(graph) // 20):  # a whole graph is big: write it now and then
            self._save(graph)

    def graph_now(self, lib: Library, index: VectorIndex, timeout: float = 24 * 3600.0) -> Graph | None:
        """The graph, current, waiting for a build if there is none yet; None below the setting
        (or when the build failed). For work that costs far more without a graph than a build
        does, such as comparing every photo with every other (duplicates)."""
        self.sync(lib, index)
        if self.graph is None and self.rebuilding and self.wait_built(timeout):
            self.sync(lib, index)
        return self.graph

    def _take_out_removed(self, lib: Library, graph: Graph, removed: int) -> bool:
        """Take out of `graph` the vectors deleted since it was made; False when the database
        cannot say which (a graph from before migration m011, or a library restored from an
        older copy): only a rebuild can tell then."""
        covered = graph.coverage
        if covered.removed == removed:
            return True
        gone = lib.removed_vector_ids(self.model_id, covered.removed, removed)
        if gone is None:
            return False
        graph.drop(gone)
        # A re-embedded photo's new vector may be among the rows the graph covers already
        # (it was written between two reads of the database): put that one back.
        ids, matrix = lib.vectors_of(self.model_id, gone, covered.last_rowid)
        graph.take(ids, matrix)
        graph.coverage = replace(graph.coverage, removed=removed)
        self._unsaved += len(gone)
        return True

    def top(self, index: VectorIndex, query: np.ndarray, limit: int, mask: np.ndarray | None, min_score: float | None) -> list[Hit] | None:
        """The best `limit` hits as `index.top` gives them, or None when only the exact scan can say."""
        self.answered = "exact"
        graph = self.graph
        if graph is None or not self.enabled_for(index) or limit <= 0:
            return None
        allowed = index.present if mask is None else (index.present & mask)
        share = int(np.count_nonzero(allowed))
        if share == 0:
            return []
        if share <= EXACT_SUBSET:
            rows = np.flatnonzero(allowed)
        else:
            fetch = min(MAX_FETCH, max(MIN_FETCH, 2 * limit * len(index) // share))
            rows = self._rows_of(index, graph.nearest(query, fetch))
            rows = rows[allowed[rows]]
        scores = index.matrix[rows] @ query.astype(np.float32, copy=False)
        if min_score is not None:
            keep = scores >= min_score
            rows, scores = rows[keep], scores[keep]
        if len(rows) < limit and share > EXACT_SUBSET:
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

    def _load(self, dim: int) -> Graph | None:
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
            return Graph.from_bytes(data, self.model_id, dim)
        except UnusableIndexFile as exc:
            log.warning("Not using the search index file %s: %s; rebuilding it", self.path, exc)
            return None

    def _save(self, graph: Graph) -> None:
        if self.path is None:
            return
        try:
            paths.write_atomically(self.path, graph.to_bytes(), 0o600)
            self._unsaved = 0
        except OSError as exc:  # a full disk costs a rebuild next time, never a search
            log.warning("Could not write the search index file %s: %s", self.path, exc)

    def _start_build(self, index: VectorIndex, lib: Library) -> None:
        # A snapshot: the rows there now. Rows added or re-embedded meanwhile carry higher
        # rowids than `last_rowid` and are taken in when the graph is adopted. The deletion
        # counter is the one read before the index read its rows: deletions that came while
        # it read them are taken out again, which is harmless (see _take_out_removed).
        removed = index.seen_removed if index.seen_removed is not None else vectors_removed_version(lib)
        coverage = Coverage(self.model_id, int(index.matrix.shape[1]), removed, index.last_rowid)
        ids, matrix = index.ids.copy(), index.matrix
        self._built_event.clear()

        def build() -> None:
            try:
                graph = Graph(coverage)
                graph.take(ids, matrix)
                self._save(graph)
                self._built = graph
            except Exception:  # the exact path keeps answering; say why there is no graph
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
        if self._built is not None:  # a failed rebuild leaves a worn graph answering
            self.graph, self._built = self._built, None
