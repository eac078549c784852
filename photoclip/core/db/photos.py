"""The SQL of the photos table: lookups for browsing and search, and the scan's and pipeline's writes.

The scan and pipeline writes (insert_photo, mark_*, set_metadata, ...) do not open a
transaction themselves: their callers group many of them into one. Updates of a photo
that was deleted meanwhile (trashed, its folder removed) change nothing and raise nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence

from photoclip.core.db.pathcodec import db_path, fs_path
from photoclip.core.db.records import NEW, OK, PHOTO_COLUMNS, Photo, photo_from_row
from photoclip.core.db.transactions import TransactionalStore

# SQLite's default limit on bound parameters is 999 before 3.32; stay below it.
_IDS_PER_QUERY = 900

_ORDER_BY = {
    "taken": "COALESCE(taken_at, '') DESC, id DESC",
    "name": "path COLLATE NOCASE",
    "added": "id DESC",
}


class PhotoTables(TransactionalStore):
    # -- reading ---------------------------------------------------------------

    def photo(self, photo_id: int) -> Photo | None:
        row = self.conn.execute(f"SELECT {PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,)).fetchone()
        return photo_from_row(row) if row else None

    def photo_by_path(self, path: str | os.PathLike[str]) -> Photo | None:
        row = self.conn.execute(f"SELECT {PHOTO_COLUMNS} FROM photos WHERE path = ?", (db_path(os.path.abspath(path)),)).fetchone()
        return photo_from_row(row) if row else None

    def photos(self, ids: Iterable[int]) -> dict[int, Photo]:
        """Rows for many ids at once (used to turn search hits into results)."""
        wanted = list(ids)
        out: dict[int, Photo] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT {PHOTO_COLUMNS} FROM photos WHERE id IN ({marks})", chunk):
                out[row[0]] = photo_from_row(row)
        return out

    def all_photos(self, statuses: Sequence[str] = (OK, NEW), order: str = "taken") -> list[Photo]:
        """Photos for browsing; newest first by default."""
        marks = ",".join("?" * len(statuses))
        rows = self.conn.execute(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE status IN ({marks}) ORDER BY {_ORDER_BY[order]}", tuple(statuses)
        )
        return [photo_from_row(r) for r in rows]

    def paths_by_id(self) -> dict[int, str]:
        """Every photo's path by id (the Labels dialog's preview reads them all at once)."""
        return {int(pid): fs_path(path) for pid, path in self.conn.execute("SELECT id, path FROM photos")}

    def file_states(self) -> dict[str, tuple[int, int, int, str]]:
        """path -> (id, size, mtime_ns, status) for every known photo: the rescan's baseline."""
        rows = self.conn.execute("SELECT path, id, size, mtime_ns, status FROM photos")
        return {fs_path(r[0]): (r[1], r[2], r[3], r[4]) for r in rows}

    def missing_by_hash(self) -> dict[tuple[str, int], list[int]]:
        rows = self.conn.execute("SELECT hash, size, id FROM photos WHERE status = 'missing' AND hash IS NOT NULL")
        out: dict[tuple[str, int], list[int]] = {}
        for h, size, pid in rows:
            out.setdefault((h, size), []).append(pid)
        return out

    def skipped(self) -> list[tuple[str, str]]:
        rows = self.conn.execute("SELECT path, skip_reason FROM photos WHERE status = 'skipped' ORDER BY path").fetchall()
        return [(fs_path(p), r or "") for p, r in rows]

    def pending_work(self, model_id: str | None) -> list[tuple[int, str, int, int, bool]]:
        """Photos needing metadata (status 'new') or a vector for `model_id`.

        Returns (id, path, size, mtime_ns, needs_vector) in id order, so that a rerun
        resumes in the same order. A renamed photo keeps its vector and is 'new' only
        for metadata, so it is returned with needs_vector False.
        """
        if model_id is None:
            rows = self.conn.execute("SELECT id, path, size, mtime_ns, 0 FROM photos WHERE status = 'new' ORDER BY id")
        else:
            rows = self.conn.execute(
                "SELECT p.id, p.path, p.size, p.mtime_ns, v.photo_id IS NULL FROM photos p "
                "LEFT JOIN vectors v ON v.photo_id = p.id AND v.model_id = ? "
                "WHERE p.status = 'new' OR (p.status = 'ok' AND v.photo_id IS NULL) ORDER BY p.id",
                (model_id,),
            )
        return [(r[0], fs_path(r[1]), r[2], r[3], bool(r[4])) for r in rows]

    # -- the scan's and the pipeline's writes --------------------------------------

    def insert_photo(self, path: str, folder_id: int, size: int, mtime_ns: int, hash_: str | None) -> int:
        cur = self.conn.execute(
            "INSERT INTO photos (path, folder_id, size, mtime_ns, hash, status, added_at) VALUES (?, ?, ?, ?, ?, 'new', ?)",
            (db_path(path), folder_id, size, mtime_ns, hash_, time.time()),
        )
        return int(cur.lastrowid or 0)

    def mark_changed(self, photo_id: int, size: int, mtime_ns: int, hash_: str | None) -> None:
        """The file's content changed: its old vectors no longer describe it."""
        self.conn.execute(
            "UPDATE photos SET size = ?, mtime_ns = ?, hash = ?, status = 'new', skip_reason = NULL, missing_since = NULL WHERE id = ?",
            (size, mtime_ns, hash_, photo_id),
        )
        self.conn.execute("DELETE FROM vectors WHERE photo_id = ?", (photo_id,))

    def move_photo(self, photo_id: int, new_path: str, folder_id: int, size: int, mtime_ns: int) -> None:
        """Same content at a new path: keep the row, so vectors and tags follow the file."""
        self.conn.execute(
            "UPDATE photos SET path = ?, folder_id = ?, size = ?, mtime_ns = ?, "
            "status = CASE WHEN width IS NULL THEN 'new' ELSE 'ok' END, missing_since = NULL "
            "WHERE id = ?",
            (db_path(new_path), folder_id, size, mtime_ns, photo_id),
        )

    def mark_present(self, photo_id: int) -> None:
        """A missing photo is back, unchanged: its vectors and tags still hold."""
        self.conn.execute(
            "UPDATE photos SET status = CASE WHEN width IS NULL THEN 'new' ELSE 'ok' END, missing_since = NULL WHERE id = ?",
            (photo_id,),
        )

    def mark_missing(self, photo_ids: Iterable[int]) -> None:
        now = time.time()
        self.conn.executemany(
            "UPDATE photos SET status = 'missing', missing_since = COALESCE(missing_since, ?) WHERE id = ?",
            [(now, pid) for pid in photo_ids],
        )

    def set_companion(self, photo_id: int, companion: str | None) -> None:
        self.conn.execute(
            "UPDATE photos SET companion = ? WHERE id = ?",
            (db_path(companion) if companion else None, photo_id),
        )

    def set_metadata(
        self,
        photo_id: int,
        *,
        width: int,
        height: int,
        taken_at: str | None,
        taken_source: str | None,
        camera: str | None,
        gps_lat: float | None,
        gps_lon: float | None,
    ) -> None:
        self.conn.execute(
            "UPDATE photos SET width = ?, height = ?, taken_at = ?, taken_source = ?, camera = ?, "
            "gps_lat = ?, gps_lon = ?, status = 'ok', skip_reason = NULL WHERE id = ?",
            (width, height, taken_at, taken_source, camera, gps_lat, gps_lon, photo_id),
        )

    def mark_skipped(self, photo_id: int, reason: str) -> None:
        self.conn.execute("UPDATE photos SET status = 'skipped', skip_reason = ? WHERE id = ?", (reason, photo_id))
        self.conn.execute("DELETE FROM vectors WHERE photo_id = ?", (photo_id,))

    # -- forgetting ---------------------------------------------------------------

    def purge_missing(self) -> int:
        """Forget photos that are gone from disk, with their tags. Only on request."""
        with self.transaction():
            return int(self.conn.execute("DELETE FROM photos WHERE status = 'missing'").rowcount)

    def forget_photo(self, photo_id: int) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM photos WHERE id = ?", (photo_id,))
