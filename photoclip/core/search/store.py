"""The in-memory vector store: every vector of one model as one matrix, and top-k over it.

Vectors are loaded once and topped up from the database as indexing adds rows
(`refresh`), never reloaded per query. A query is one matrix-vector product plus a
partial sort. Search and tagging both read this store, so it knows nothing of
queries or filters beyond an allow-mask.

The rows are held as float32, which the exact scan reads fastest, or as float16 (`hold_as`)
for a library searched through the approximate index, which reads only a shortlist of
rows: half the memory (1 GB at 1M photos, not 2), and nothing lost, because the database
stores float16 (core/db/vectors.py) and float32 held only its values widened. Every score
is computed in float32 either way.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from photoclip.core.db import Library
from photoclip.core.db.filters import change_token, presence_version, present_among, present_photo_ids, vectors_removed_version


@dataclass(frozen=True)
class Hit:
    photo_id: int
    score: float


def _no_ids() -> np.ndarray:
    return np.empty(0, np.int64)


def _no_rows() -> np.ndarray:
    return np.empty((0, 0), np.float32)


# Shortlist rows up to this many (approximate.MIN_FETCH) are gathered and widened in buffers
# kept by the index (24 MB at 512-d, beside 1 GB of rows at 1M photos); longer ones (a
# filter or a bigger library asks for more) in fresh arrays.
KEPT_SHORTLIST = 8192
SCORE_BLOCK = 65_536  # rows widened at a time when they are held as float16 (16 MB of float32 at 512-d)


def _no_flags() -> np.ndarray:
    return np.empty(0, bool)


@dataclass
class VectorIndex:
    """All vectors of one model, in memory, with the ids of the photos they belong to."""

    model_id: str
    ids: np.ndarray = field(default_factory=_no_ids)
    matrix: np.ndarray = field(default_factory=_no_rows)
    last_rowid: int = 0
    present: np.ndarray = field(default_factory=_no_flags)  # per row: the photo's file is there
    # What the database looked like at the last refresh: an unchanged token means nothing
    # to do; an unchanged presence version means only new rows need their presence read.
    seen_token: tuple[int, int] | None = None
    seen_presence: int | None = None
    seen_removed: int | None = None  # the vector-deletion counter, read before the rows (the approximate index's snapshot)
    holds: np.dtype = field(default_factory=lambda: np.dtype(np.float32))  # how rows are held (see the module's docstring)
    _spare: np.ndarray | None = field(default=None, repr=False)  # `matrix` is a view of its first rows
    _row_table: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32), repr=False)  # see rows_of_ids
    _table_of: np.ndarray | None = field(default=None, repr=False)  # the `ids` array the table was made for
    _shortlist_buffers: tuple[Any, Any] | None = field(default=None, repr=False)  # see _widened

    @classmethod
    def load(cls, lib: Library, model_id: str, holds: type = np.float32) -> VectorIndex:
        index = cls(model_id, holds=np.dtype(holds))
        index.refresh(lib)
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def refresh(self, lib: Library) -> int:
        """Take in vectors added since the last call; returns how many arrived.

        Costs two O(1) reads when the library has not changed since the last call, so
        every search can call it. Both marks are read before the data, so a change that
        lands while the data is read is seen again by the next call.
        """
        token = change_token(lib)
        if token == self.seen_token:
            return 0
        presence = presence_version(lib)
        removed = vectors_removed_version(lib)
        rebuild_presence = presence != self.seen_presence or presence < 0
        if len(self.ids) != 0 and removed != self.seen_removed and not self._take_out(lib, removed):
            # Deleted beyond what the log of removals reaches: start over.
            self.ids, self.matrix, self.last_rowid, self.present = _no_ids(), _no_rows(), 0, _no_flags()
            self._spare = None
            rebuild_presence = True
        ids, matrix, self.last_rowid = lib.load_vectors(self.model_id, self.last_rowid, self.holds.type)
        if len(ids):
            if len(self.ids):
                self._take_in(ids, matrix)
            else:
                self.ids, self.matrix, self._spare = ids, matrix.astype(self.holds, copy=False), None
                rebuild_presence = True
        if rebuild_presence:
            self.present = np.isin(self.ids, present_photo_ids(lib))
        elif len(ids):
            arrived = np.isin(self.ids, ids)  # new rows and re-embedded ones
            self.present[arrived] = present_among(lib, self.ids[arrived])
        self.seen_token, self.seen_presence, self.seen_removed = token, presence, removed
        return len(ids)

    def _take_out(self, lib: Library, removed: int) -> bool:
        """Drop the rows of vectors deleted since the last refresh (a changed file, a purge);
        False when the log of removals (m011) does not reach back that far.

        At 1M photos this copies the matrix once (~1 s) where reloading it from SQLite took
        ~10 s. A photo in the log may have a vector again, one this store already holds
        (deleted and re-embedded before the last load): that row is read back and kept.
        """
        if self.seen_removed is None:
            return False
        gone = lib.removed_vector_ids(self.model_id, self.seen_removed, removed)
        if gone is None:
            return False
        if not len(gone):
            return True
        keep = ~np.isin(self.ids, gone)
        if not keep.all():
            self.ids, self.matrix, self.present = self.ids[keep], self.matrix[keep], self.present[keep]
            self._spare = None
        back_ids, back = lib.vectors_of(self.model_id, gone, self.last_rowid)
        if len(back_ids):
            self._take_in(back_ids, back)
            rows = np.isin(self.ids, back_ids)
            self.present[rows] = present_among(lib, self.ids[rows])
        return True

    def _take_in(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        """Add rows without copying the whole matrix each time (at 1M photos it is 2 GB).

        A re-embedded photo comes back with a new rowid: its row is overwritten in place.
        New rows go into spare capacity at the end, grown by an eighth when it runs out, so
        an index refreshed after every batch of an indexing run copies the matrix rarely.
        """
        again = np.isin(ids, self.ids)
        if again.any():
            where = {int(pid): row for row, pid in enumerate(self.ids.tolist())} if again.sum() > 64 else None
            for pid, vec in zip(ids[again].tolist(), matrix[again], strict=True):
                row = where[pid] if where is not None else int(np.flatnonzero(self.ids == pid)[0])
                self.matrix[row] = vec
            ids, matrix = ids[~again], matrix[~again]
        if not len(ids):
            return
        n, k = len(self.ids), len(ids)
        if self._spare is None or self._spare.shape[0] < n + k or self._spare.shape[1] != matrix.shape[1]:
            grown = np.empty((n + k + (n + k) // 8, matrix.shape[1]), self.holds)
            grown[:n] = self.matrix
            self._spare = grown
        self._spare[n : n + k] = matrix
        self.matrix = self._spare[: n + k]
        self.ids = np.concatenate([self.ids, ids])
        self.present = np.concatenate([self.present, np.zeros(k, bool)])

    def hold_as(self, dtype: type) -> None:
        """Hold the rows as float32 or float16 from now on (a copy of the matrix once)."""
        wanted = np.dtype(dtype)
        if wanted == self.holds:
            return
        self.holds = wanted
        self.matrix = self.matrix.astype(wanted)
        self._spare = None

    def rows_of_ids(self, photo_ids: np.ndarray) -> np.ndarray:
        """The row of each photo id (any shape; -1 where this index has no such photo).

        Through a table indexed by id rather than a binary search of the sorted ids: 8,192
        lookups took 4 ms searched in scan order at 1M photos, 0.1 ms here. Photo ids are
        SQLite row ids, handed out in turn, so the table is about as long as the library
        has ever been (4 bytes an id, against 1-2 KB of vector a photo). Made again
        whenever the ids change (a refresh assigns a new array)."""
        if self._table_of is not self.ids:
            self._row_table = np.full(int(self.ids.max()) + 1 if len(self.ids) else 0, -1, np.int32)
            self._row_table[self.ids] = np.arange(len(self.ids), dtype=np.int32)
            self._table_of = self.ids
        keys = np.asarray(photo_ids, np.int64)
        rows = np.full(keys.shape, -1, np.int64)
        inside = (keys >= 0) & (keys < len(self._row_table))
        rows[inside] = self._row_table[keys[inside]]
        return rows

    def rows(self, which: np.ndarray) -> np.ndarray:
        """These rows as float32 (gathered; `which` may be any shape of row numbers)."""
        return np.asarray(self.matrix[which], np.float32)

    def score_rows(self, which: np.ndarray, query: np.ndarray) -> np.ndarray:
        """The scores of these rows (a 1-d array of row numbers) against `query`, in float32,
        computed as `scores` computes them (the same numbers to the bit)."""
        scores: np.ndarray = np.einsum("ij,j->i", self._widened(which), np.asarray(query, np.float32))  # einsum: see scores()
        return scores

    def _widened(self, which: np.ndarray) -> np.ndarray:
        """These rows as float32; possibly a view of a buffer the next call overwrites."""
        torch = sys.modules.get("torch")
        if self.matrix.dtype != np.float16 or torch is None or not self.matrix.flags.writeable:
            return self.rows(which)
        # NumPy widens float16 one number at a time: the 8,192 rows of a shortlist took 4 ms
        # at 512-d, half of an approximate search. torch widens them with SIMD in under 1.
        # It is only used where it is loaded already (the app and the worker hold a model):
        # importing it for this would cost seconds. A shortlist of usual length is gathered
        # and widened into buffers kept for the next search: fresh ones cost the kernel's
        # page faults, 2 ms a search at 1M photos (bench_ann.py).
        count, dim = len(which), self.matrix.shape[1]
        picked = torch.from_numpy(np.asarray(which, np.int64))
        if count > KEPT_SHORTLIST:
            widened: np.ndarray = torch.from_numpy(self.matrix)[picked].float().numpy()
            return widened
        if self._shortlist_buffers is None or self._shortlist_buffers[0].shape[1] != dim:
            self._shortlist_buffers = (torch.empty((KEPT_SHORTLIST, dim), dtype=torch.float16), torch.empty((KEPT_SHORTLIST, dim)))
        halves, floats = self._shortlist_buffers
        torch.index_select(torch.from_numpy(self.matrix), 0, picked, out=halves[:count])
        floats[:count].copy_(halves[:count])
        kept: np.ndarray = floats[:count].numpy()
        return kept

    def scores(self, query: np.ndarray) -> np.ndarray:
        if len(self.ids) == 0:
            return np.empty(0, np.float32)
        query = query.astype(np.float32, copy=False)
        # einsum's own SIMD loop reads the matrix once at memory speed; OpenBLAS's
        # sgemv (what `@` calls for a matrix times a vector) ran ~4x slower here
        # (benchmarks/bench_search.py).
        if self.matrix.dtype == np.float32:
            scores: np.ndarray = np.einsum("ij,j->i", self.matrix, query)
            return scores
        # Rows held as float16 are widened a block at a time: float16 arithmetic would lose
        # the third decimal of every score.
        scores = np.empty(len(self.matrix), np.float32)
        for start in range(0, len(self.matrix), SCORE_BLOCK):
            block = self.matrix[start : start + SCORE_BLOCK].astype(np.float32)
            scores[start : start + len(block)] = np.einsum("ij,j->i", block, query)
        return scores

    def top(self, query: np.ndarray, limit: int, mask: np.ndarray | None = None, min_score: float | None = None) -> list[Hit]:
        """The `limit` best present rows (within `mask`, at or above `min_score`), best first."""
        if limit <= 0:
            return []
        scores = self.scores(query)
        allowed = self.present if mask is None else (self.present & mask)
        if min_score is not None:
            allowed = allowed & (scores >= min_score)
        candidates: np.ndarray | None
        if len(allowed) and allowed.all():
            # The common case (no filter, nothing missing): no index list, no gather.
            candidates, picked = None, scores
        else:
            candidates = np.flatnonzero(allowed)
            if len(candidates) == 0:
                return []
            picked = scores[candidates]
        if limit < len(picked):
            part = np.argpartition(-picked, limit - 1)[:limit]
            candidates, picked = (part if candidates is None else candidates[part]), picked[part]
        elif candidates is None:
            candidates = np.arange(len(picked))
        order = np.argsort(-picked, kind="stable")
        return [Hit(int(self.ids[candidates[i]]), float(picked[i])) for i in order]

    def vector_of(self, photo_id: int) -> np.ndarray | None:
        where = np.flatnonzero(self.ids == photo_id)
        return self.rows(where[0]) if len(where) else None
