"""The SQL of the folders table: the folders the library tracks, with per-folder counts."""

from __future__ import annotations

import os
import time

from photoclip.core.db.pathcodec import db_path, display_path, fs_path
from photoclip.core.db.records import MISSING, NEW, OK, SKIPPED, Folder
from photoclip.core.db.transactions import TransactionalStore
from photoclip.core.errors import FolderError
from photoclip.core.paths import within


class FolderTables(TransactionalStore):
    def add_folder(self, path: str | os.PathLike[str]) -> int:
        folder = os.path.abspath(os.fspath(path))
        if not os.path.isdir(folder):
            raise FolderError(f"Not a folder: {display_path(folder)}")
        if not os.access(folder, os.R_OK | os.X_OK):
            raise FolderError(f"Cannot read the folder {display_path(folder)} (permission denied)")
        with self.transaction():
            existing = self.conn.execute("SELECT id FROM folders WHERE path = ?", (db_path(folder),)).fetchone()
            if existing:
                return int(existing[0])
            cur = self.conn.execute("INSERT INTO folders (path, added_at) VALUES (?, ?)", (db_path(folder), time.time()))
        return int(cur.lastrowid or 0)

    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Stop tracking a folder. Its photos' rows, vectors and tags go; files are untouched.

        A photo that another library folder still covers (one inside this folder, or one this
        folder sits in) is kept and moves to that folder: with ~/Pictures and ~/Pictures/Trips
        both added, removing ~/Pictures used to forget the Trips photos with their tags, and
        the next scan found them again as new photos.
        """
        folder = os.path.abspath(os.fspath(path))
        with self.transaction():
            row = self.conn.execute("SELECT id FROM folders WHERE path = ?", (db_path(folder),)).fetchone()
            if not row:
                raise FolderError(f"{display_path(folder)} is not one of the library's folders")
            self._hand_over_covered_photos(int(row[0]))
            removed = int(self.conn.execute("DELETE FROM photos WHERE folder_id = ?", (row[0],)).rowcount)
            self.conn.execute("DELETE FROM folders WHERE id = ?", (row[0],))
        return removed

    def _hand_over_covered_photos(self, folder_id: int) -> None:
        """Give the photos of `folder_id` that another folder covers to the deepest such folder."""
        others = [(fid, path) for fid, path in self.folder_paths() if fid != folder_id]
        if not others:
            return
        others.sort(key=lambda item: len(item[1]), reverse=True)  # the deepest folder first
        moves = []
        for photo_id, stored in self.conn.execute("SELECT id, path FROM photos WHERE folder_id = ?", (folder_id,)):
            photo = fs_path(stored)
            owner = next((fid for fid, folder in others if within(photo, folder)), None)
            if owner is not None:
                moves.append((owner, photo_id))
        self.conn.executemany("UPDATE photos SET folder_id = ? WHERE id = ?", moves)

    def folder_paths(self) -> list[tuple[int, str]]:
        rows = self.conn.execute("SELECT id, path FROM folders ORDER BY path").fetchall()
        return [(r[0], fs_path(r[1])) for r in rows]

    def folders(self, model_id: str | None = None) -> list[Folder]:
        out = []
        for fid, path in self.folder_paths():
            counts = dict(self.conn.execute("SELECT status, COUNT(*) FROM photos WHERE folder_id = ? GROUP BY status", (fid,)).fetchall())
            embedded = 0
            if model_id:
                embedded = self.conn.execute(
                    "SELECT COUNT(*) FROM vectors v JOIN photos p ON p.id = v.photo_id "
                    "WHERE p.folder_id = ? AND v.model_id = ? AND p.status = 'ok'",
                    (fid, model_id),
                ).fetchone()[0]
            out.append(
                Folder(
                    id=fid,
                    path=path,
                    photos=counts.get(OK, 0) + counts.get(NEW, 0),
                    embedded=embedded,
                    missing=counts.get(MISSING, 0),
                    skipped=counts.get(SKIPPED, 0),
                )
            )
        return out
