"""The SQL of the models and vectors tables: image vectors stored per model, loaded fast.

Every vector is stored with the id of the model that made it and its dimension, so
several models coexist in one library and switching back and forth throws nothing away.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from photoclip.core.db.transactions import TransactionalStore
from photoclip.core.errors import PhotoclipError

# Vectors are stored as float16: half the disk, and a cosine error near 1e-3,
# far below any threshold a person would set.
VECTOR_DTYPE = np.float16

# Rows converted at a time by load_vectors: 8192 x 512 dims is 8 MB of float16.
_LOAD_CHUNK = 8192


def _grown(array: npt.NDArray[Any], rows: int) -> npt.NDArray[Any]:
    out = np.empty((max(rows, 2 * len(array)), *array.shape[1:]), array.dtype)
    out[: len(array)] = array
    return out


class VectorTables(TransactionalStore):
    def register_model(self, model_id: str, dim: int, description: str = "") -> None:
        row = self.conn.execute("SELECT dim FROM models WHERE model_id = ?", (model_id,)).fetchone()
        if row and row[0] != dim:
            raise PhotoclipError(
                f"Model {model_id} now gives {dim}-dimensional vectors but the library holds "
                f"{row[0]}-dimensional ones for it; choose a different model id."
            )
        if not row:
            self.conn.execute(
                "INSERT OR IGNORE INTO models (model_id, dim, description, added_at) VALUES (?, ?, ?, ?)",
                (model_id, dim, description, time.time()),
            )

    def models(self) -> list[tuple[str, int, int]]:
        """(model_id, dim, vector count) for every model that has vectors here."""
        rows = self.conn.execute(
            "SELECT m.model_id, m.dim, COUNT(v.photo_id) FROM models m "
            "LEFT JOIN vectors v ON v.model_id = m.model_id GROUP BY m.model_id ORDER BY m.added_at"
        ).fetchall()
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    def put_vectors(self, model_id: str, photo_ids: Sequence[int], vectors: npt.NDArray[Any]) -> int:
        """Store one vector per photo; returns how many were stored.

        A photo deleted while its vector was being computed (trashed, its folder
        removed) is passed over instead of failing the whole batch on its foreign key.
        """
        dim = int(vectors.shape[1])
        blobs = np.ascontiguousarray(vectors, dtype=VECTOR_DTYPE)
        n = len(photo_ids)
        if n == 0:
            return 0
        with self.transaction():
            # Rowids are numbered here, above a mark that never goes down (m012): readers
            # take "rows after the last rowid seen", which SQLite's max(rowid) + 1 breaks
            # once the newest row has been deleted. Reserving them first takes the write
            # lock, so two writers never share a number.
            (top,) = self.conn.execute(
                "UPDATE change_counters SET value = MAX(value, (SELECT IFNULL(MAX(rowid), 0) FROM vectors)) + ? "
                "WHERE name = 'vectors_rowid_high' RETURNING value",
                (n,),
            ).fetchone()
            first = int(top) - n + 1
            cur = self.conn.executemany(
                "INSERT OR REPLACE INTO vectors (rowid, photo_id, model_id, dim, vec) "
                "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                [(first + i, int(pid), model_id, dim, blobs[i].tobytes(), int(pid)) for i, pid in enumerate(photo_ids)],
            )
            return int(cur.rowcount)

    def vector_count(self, model_id: str) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM vectors WHERE model_id = ?", (model_id,)).fetchone()[0])

    def vector(self, photo_id: int, model_id: str) -> npt.NDArray[np.float32] | None:
        row = self.conn.execute("SELECT vec FROM vectors WHERE photo_id = ? AND model_id = ?", (photo_id, model_id)).fetchone()
        return np.frombuffer(row[0], dtype=VECTOR_DTYPE).astype(np.float32) if row else None

    def removed_vector_ids(self, model_id: str, after: int, upto: int) -> npt.NDArray[np.int64] | None:
        """Photos whose vector of `model_id` was deleted (or replaced) by deletions number
        `after`+1 .. `upto` of the `vectors_removed` counter (m011's log); None when the log
        no longer reaches back to `after` (made before m011, or trimmed), or `after` is ahead."""
        first, counter = self.conn.execute(
            "SELECT (SELECT MIN(seq) FROM vector_removals), (SELECT value FROM change_counters WHERE name = 'vectors_removed')"
        ).fetchone()
        logged_from = counter if first is None else first - 1  # an empty log: nothing deleted since it began
        if counter is None or after < logged_from or after > upto or upto > counter:
            return None
        rows = self.conn.execute(
            "SELECT DISTINCT photo_id FROM vector_removals WHERE seq > ? AND seq <= ? AND model_id = ?", (after, upto, model_id)
        ).fetchall()
        (first,) = self.conn.execute("SELECT MIN(seq) FROM vector_removals").fetchone()
        if first is not None and first - 1 > after:  # trimmed meanwhile (a million deletions)
            return None
        return np.fromiter((r[0] for r in rows), np.int64, len(rows))

    def vectors_of(
        self, model_id: str, photo_ids: npt.NDArray[np.int64], up_to_rowid: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """(photo ids, float32 matrix) of the vectors these photos have now, among rows up to `up_to_rowid`."""
        rows = self.conn.execute(
            "SELECT photo_id, vec FROM vectors WHERE model_id = ? AND rowid <= ? AND photo_id IN (SELECT value FROM json_each(?))",
            (model_id, up_to_rowid, json.dumps([int(p) for p in photo_ids])),
        ).fetchall()
        found = [int(r[0]) for r in rows]
        blobs = [r[1] for r in rows]
        if not found:
            return np.empty(0, np.int64), np.empty((0, 0), np.float32)
        matrix = np.frombuffer(b"".join(blobs), VECTOR_DTYPE).reshape(len(found), -1).astype(np.float32)
        return np.asarray(found, np.int64), matrix

    def load_vectors(
        self, model_id: str, after_rowid: int = 0, dtype: type = np.float32
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], int]:
        """(photo ids, matrix, highest rowid seen) for vectors added after `after_rowid`; the
        matrix is float32 unless `dtype` asks for float16 (the stored values, not widened)."""
        count, last = self.conn.execute(
            "SELECT COUNT(*), MAX(rowid) FROM vectors WHERE model_id = ? AND rowid > ?", (model_id, after_rowid)
        ).fetchone()
        # The bound keeps out rows another connection adds after the count was taken.
        cur = self.conn.execute(
            "SELECT rowid, photo_id, dim, vec FROM vectors WHERE model_id = ? AND rowid > ? AND rowid <= ? ORDER BY rowid",
            (model_id, after_rowid, last if last is not None else after_rowid),
        )
        rows = cur.fetchmany(_LOAD_CHUNK)
        if not rows:
            return np.empty(0, np.int64), np.empty((0, 0), dtype), after_rowid
        dim = rows[0][2]
        # Filled chunk by chunk into one preallocated matrix: no joined copy of every blob
        # and no float16 matrix of the whole library is held at once. The float16 ->
        # float32 conversion is about a third of the time and numpy runs it without the GIL,
        # so a second thread converts one chunk while SQLite reads the next.
        ids: npt.NDArray[np.int64] = np.empty(count, np.int64)
        matrix: npt.NDArray[np.float32] = np.empty((count, dim), dtype)
        filled = 0
        last_seen = after_rowid
        pool = ThreadPoolExecutor(max_workers=1) if count > _LOAD_CHUNK else None
        pending: Future[None] | None = None
        try:
            while rows:
                n = len(rows)
                if pending is not None:
                    pending.result()
                    pending = None
                if filled + n > len(ids):  # rows deleted and their rowids reused since the count
                    ids, matrix = _grown(ids, filled + n), _grown(matrix, filled + n)
                ids[filled : filled + n] = [r[1] for r in rows]
                block = np.frombuffer(b"".join(r[3] for r in rows), VECTOR_DTYPE).reshape(n, dim)
                if pool is None:
                    matrix[filled : filled + n] = block
                else:
                    pending = pool.submit(np.copyto, matrix[filled : filled + n], block)
                filled += n
                last_seen = rows[-1][0]
                rows = cur.fetchmany(_LOAD_CHUNK)
            if pending is not None:
                pending.result()
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        if filled < len(ids):  # rows deleted since the count
            ids, matrix = ids[:filled].copy(), matrix[:filled].copy()
        return ids, matrix, last_seen
