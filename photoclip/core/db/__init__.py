"""The library database: folders, photos, vectors, labels and tags in one SQLite file.

Rules this module keeps:
- WAL mode, so readers (the GUI, a second CLI) never block the one writer.
- One `Library` object per thread (sqlite3 connections are not shared).
- Migrations are named, applied in order, and a copy of the file is taken first.
  A database that has migrations this app does not know was written by a newer
  photoclip and is refused rather than damaged.
- Paths are stored as text when they are valid UTF-8 and as raw bytes (a BLOB in
  the same column) when they are not, so odd file names round-trip exactly.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils
from sqlite_utils import Migrations

from photoclip.core.errors import DatabaseTooNew, FolderError, PhotoclipError

MIGRATIONS = Migrations("photoclip")


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Run `;`-separated DDL inside the migration's transaction.

    (`executescript` would commit first and break the migration's atomicity.)
    """
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


# Vectors are stored as float16: half the disk, and a cosine error near 1e-3,
# far below any threshold a person would set.
VECTOR_DTYPE = np.float16


@MIGRATIONS()
def m001_initial(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE folders (
            id INTEGER PRIMARY KEY,
            path BLOB NOT NULL UNIQUE,
            added_at REAL NOT NULL
        );
        CREATE TABLE photos (
            id INTEGER PRIMARY KEY,
            path BLOB NOT NULL UNIQUE,
            folder_id INTEGER REFERENCES folders(id) ON DELETE CASCADE,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT,
            width INTEGER,
            height INTEGER,
            taken_at TEXT,
            taken_source TEXT,
            camera TEXT,
            gps_lat REAL,
            gps_lon REAL,
            status TEXT NOT NULL DEFAULT 'new',
            skip_reason TEXT,
            companion BLOB,
            added_at REAL NOT NULL,
            missing_since REAL
        );
        CREATE INDEX photos_hash ON photos(hash);
        CREATE INDEX photos_status ON photos(status);
        CREATE INDEX photos_folder ON photos(folder_id);
        CREATE INDEX photos_taken ON photos(taken_at);
        CREATE TABLE models (
            model_id TEXT PRIMARY KEY,
            dim INTEGER NOT NULL,
            description TEXT,
            added_at REAL NOT NULL
        );
        CREATE TABLE vectors (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            model_id TEXT NOT NULL REFERENCES models(model_id),
            dim INTEGER NOT NULL,
            vec BLOB NOT NULL,
            PRIMARY KEY (photo_id, model_id)
        );
        CREATE INDEX vectors_model ON vectors(model_id);
        CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            descriptions TEXT NOT NULL DEFAULT '[]',
            threshold REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE tags (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
            source TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
            score REAL,
            created_at REAL NOT NULL,
            PRIMARY KEY (photo_id, label_id)
        );
        CREATE INDEX tags_label ON tags(label_id);
        """,
    )


# Photo status values.
NEW = "new"  # catalogued by the scan, metadata not read yet
OK = "ok"  # readable; metadata read
SKIPPED = "skipped"  # unreadable or unsupported; see skip_reason
MISSING = "missing"  # was in the library, no longer on disk


def db_path(path: str | os.PathLike[str]) -> str | bytes:
    """The value stored for a file path: text when it is valid UTF-8, raw bytes otherwise."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text)


def fs_path(value: str | bytes) -> str:
    """The inverse of `db_path`: a str usable with os and open()."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def display_path(path: str) -> str:
    """A printable form of a path that may hold undecodable bytes."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    photos: int
    embedded: int
    missing: int
    skipped: int


@dataclass(frozen=True)
class Photo:
    id: int
    path: str
    size: int
    mtime_ns: int
    hash: str | None
    width: int | None
    height: int | None
    taken_at: str | None
    taken_source: str | None
    camera: str | None
    gps_lat: float | None
    gps_lon: float | None
    status: str
    skip_reason: str | None

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


_PHOTO_COLUMNS = "id, path, size, mtime_ns, hash, width, height, taken_at, taken_source, camera, gps_lat, gps_lon, status, skip_reason"


def _photo(row: Sequence) -> Photo:
    values = list(row)
    values[1] = fs_path(values[1])
    return Photo(*values)


# Rows converted at a time by load_vectors: 8192 x 512 dims is 8 MB of float16.
_LOAD_CHUNK = 8192


def _grown(array: np.ndarray, rows: int) -> np.ndarray:
    out = np.empty((max(rows, 2 * len(array)), *array.shape[1:]), array.dtype)
    out[: len(array)] = array
    return out


class Library:
    """One open library database. Create one per thread."""

    def __init__(self, path: str | os.PathLike[str], *, migrate: bool = True) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        except (OSError, sqlite3.Error) as exc:
            raise PhotoclipError(f"Cannot open the library database {self.path}: {exc}") from exc
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            if migrate:
                self._migrate()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise PhotoclipError(f"{self.path} is not a photoclip library or is damaged: {exc}") from exc

    # -- lifecycle -------------------------------------------------------

    def _migrate(self) -> None:
        applied = {m.name for m in MIGRATIONS.applied(self.db)}
        known = {m.name for m in MIGRATIONS._migrations}
        unknown = applied - known
        if unknown:
            raise DatabaseTooNew(
                f"The library {self.path} was written by a newer version of photoclip "
                f"(it has changes this version does not know: {', '.join(sorted(unknown))}). "
                "Update photoclip to open it; the file was left untouched."
            )
        pending = MIGRATIONS.pending(self.db)
        if not pending:
            return
        if applied:
            self._backup(f"before-{pending[0].name}")
        MIGRATIONS.apply(self.db)

    def _backup(self, tag: str) -> Path:
        """Copy the database (consistently, through SQLite's backup API) beside itself."""
        target = self.path.with_name(f"{self.path.name}.{tag}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
        dest = sqlite3.connect(target)
        try:
            self.conn.backup(dest)
        finally:
            dest.close()
        return target

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes; commits on success, rolls back on any exception."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def begin(self) -> None:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- folders -----------------------------------------------------------

    def add_folder(self, path: str | os.PathLike[str]) -> int:
        folder = os.path.abspath(os.fspath(path))
        if not os.path.isdir(folder):
            raise FolderError(f"Not a folder: {display_path(folder)}")
        if not os.access(folder, os.R_OK | os.X_OK):
            raise FolderError(f"Cannot read the folder {display_path(folder)} (permission denied)")
        existing = self.conn.execute("SELECT id FROM folders WHERE path = ?", (db_path(folder),)).fetchone()
        if existing:
            return existing[0]
        with self.transaction():
            cur = self.conn.execute("INSERT INTO folders (path, added_at) VALUES (?, ?)", (db_path(folder), time.time()))
        return int(cur.lastrowid)

    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Stop tracking a folder. Its photos' rows, vectors and tags go; files are untouched."""
        folder = os.path.abspath(os.fspath(path))
        row = self.conn.execute("SELECT id FROM folders WHERE path = ?", (db_path(folder),)).fetchone()
        if not row:
            raise FolderError(f"{display_path(folder)} is not one of the library's folders")
        with self.transaction():
            removed = self.conn.execute("DELETE FROM photos WHERE folder_id = ?", (row[0],)).rowcount
            self.conn.execute("DELETE FROM folders WHERE id = ?", (row[0],))
        return removed

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

    # -- photos ------------------------------------------------------------

    def photo(self, photo_id: int) -> Photo | None:
        row = self.conn.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,)).fetchone()
        return _photo(row) if row else None

    def photo_by_path(self, path: str | os.PathLike[str]) -> Photo | None:
        row = self.conn.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE path = ?", (db_path(os.path.abspath(path)),)).fetchone()
        return _photo(row) if row else None

    def photos(self, ids: Iterable[int]) -> dict[int, Photo]:
        """Rows for many ids at once (used to turn search hits into results)."""
        ids = list(ids)
        out: dict[int, Photo] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id IN ({marks})", chunk):
                out[row[0]] = _photo(row)
        return out

    def all_photos(self, statuses: Sequence[str] = (OK, NEW), order: str = "taken") -> list[Photo]:
        """Photos for browsing; newest first by default."""
        order_by = {
            "taken": "COALESCE(taken_at, '') DESC, id DESC",
            "name": "path COLLATE NOCASE",
            "added": "id DESC",
        }[order]
        marks = ",".join("?" * len(statuses))
        rows = self.conn.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE status IN ({marks}) ORDER BY {order_by}", tuple(statuses))
        return [_photo(r) for r in rows]

    def file_states(self) -> dict[str, tuple[int, int, int, str]]:
        """path -> (id, size, mtime_ns, status) for every known photo: the rescan's baseline."""
        rows = self.conn.execute("SELECT path, id, size, mtime_ns, status FROM photos")
        return {fs_path(r[0]): (r[1], r[2], r[3], r[4]) for r in rows}

    def insert_photo(self, path: str, folder_id: int, size: int, mtime_ns: int, hash_: str | None) -> int:
        cur = self.conn.execute(
            "INSERT INTO photos (path, folder_id, size, mtime_ns, hash, status, added_at) VALUES (?, ?, ?, ?, ?, 'new', ?)",
            (db_path(path), folder_id, size, mtime_ns, hash_, time.time()),
        )
        return int(cur.lastrowid)

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

    def missing_by_hash(self) -> dict[tuple[str, int], list[int]]:
        rows = self.conn.execute("SELECT hash, size, id FROM photos WHERE status = 'missing' AND hash IS NOT NULL")
        out: dict[tuple[str, int], list[int]] = {}
        for h, size, pid in rows:
            out.setdefault((h, size), []).append(pid)
        return out

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

    def purge_missing(self) -> int:
        """Forget photos that are gone from disk, with their tags. Only on request."""
        with self.transaction():
            return self.conn.execute("DELETE FROM photos WHERE status = 'missing'").rowcount

    def forget_photo(self, photo_id: int) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM photos WHERE id = ?", (photo_id,))

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

    # -- models and vectors -------------------------------------------------

    def register_model(self, model_id: str, dim: int, description: str = "") -> None:
        row = self.conn.execute("SELECT dim FROM models WHERE model_id = ?", (model_id,)).fetchone()
        if row and row[0] != dim:
            raise PhotoclipError(
                f"Model {model_id} now gives {dim}-dimensional vectors but the library holds "
                f"{row[0]}-dimensional ones for it; choose a different model id."
            )
        if not row:
            self.conn.execute(
                "INSERT INTO models (model_id, dim, description, added_at) VALUES (?, ?, ?, ?)",
                (model_id, dim, description, time.time()),
            )

    def models(self) -> list[tuple[str, int, int]]:
        """(model_id, dim, vector count) for every model that has vectors here."""
        return self.conn.execute(
            "SELECT m.model_id, m.dim, COUNT(v.photo_id) FROM models m "
            "LEFT JOIN vectors v ON v.model_id = m.model_id GROUP BY m.model_id ORDER BY m.added_at"
        ).fetchall()

    def put_vectors(self, model_id: str, photo_ids: Sequence[int], vectors: np.ndarray) -> None:
        dim = int(vectors.shape[1])
        blobs = np.ascontiguousarray(vectors, dtype=VECTOR_DTYPE)
        self.conn.executemany(
            "INSERT OR REPLACE INTO vectors (photo_id, model_id, dim, vec) VALUES (?, ?, ?, ?)",
            [(int(pid), model_id, dim, blobs[i].tobytes()) for i, pid in enumerate(photo_ids)],
        )

    def vector_count(self, model_id: str) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM vectors WHERE model_id = ?", (model_id,)).fetchone()[0]

    def load_vectors(self, model_id: str, after_rowid: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
        """(photo ids, float32 matrix, highest rowid seen) for vectors added after `after_rowid`."""
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
            return np.empty(0, np.int64), np.empty((0, 0), np.float32), after_rowid
        dim = rows[0][2]
        # Filled chunk by chunk into one preallocated matrix: no joined copy of every blob
        # and no float16 matrix of the whole library is held at once. The float16 ->
        # float32 conversion is about a third of the time and numpy runs it without the GIL,
        # so a second thread converts one chunk while SQLite reads the next.
        ids = np.empty(count, np.int64)
        matrix = np.empty((count, dim), np.float32)
        filled = 0
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

    def vector(self, photo_id: int, model_id: str) -> np.ndarray | None:
        row = self.conn.execute("SELECT vec FROM vectors WHERE photo_id = ? AND model_id = ?", (photo_id, model_id)).fetchone()
        return np.frombuffer(row[0], dtype=VECTOR_DTYPE).astype(np.float32) if row else None

    # -- status ---------------------------------------------------------------

    def counts(self, model_id: str | None) -> dict[str, int]:
        by_status = dict(self.conn.execute("SELECT status, COUNT(*) FROM photos GROUP BY status").fetchall())
        present = by_status.get(OK, 0) + by_status.get(NEW, 0)
        embedded = 0
        if model_id:
            embedded = self.conn.execute(
                "SELECT COUNT(*) FROM vectors v JOIN photos p ON p.id = v.photo_id WHERE v.model_id = ? AND p.status IN ('ok', 'new')",
                (model_id,),
            ).fetchone()[0]
        return {
            "photos": present,
            "embedded": embedded,
            "pending": present - embedded if model_id else by_status.get(NEW, 0),
            "missing": by_status.get(MISSING, 0),
            "skipped": by_status.get(SKIPPED, 0),
            "folders": self.conn.execute("SELECT COUNT(*) FROM folders").fetchone()[0],
        }

    def skip_reasons(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT skip_reason, COUNT(*) FROM photos WHERE status = 'skipped' GROUP BY skip_reason").fetchall()
        return {r or "unknown": n for r, n in rows}


@MIGRATIONS()
def m002_tagging(db: sqlite_utils.Database) -> None:
    """Tagging state: how each label's threshold was set, a text-vector cache and feedback.

    - labels.threshold stays the effective cut-off last used (cosine score); threshold_z
      is its position in the label's score distribution (robust z: (t - median) / scale),
      which survives changes of the label's vector; threshold_source says who set it
      ('calibrated', 'user' or 'feedback'); threshold_model the model it was computed for.
    - text_vectors caches one embedded prompt per (model, exact text).
    - tag_feedback keeps confirm/reject verdicts, so a rejection sticks across re-tagging.
    """
    run_script(
        db,
        """
        ALTER TABLE labels ADD COLUMN threshold_z REAL;
        ALTER TABLE labels ADD COLUMN threshold_source TEXT;
        ALTER TABLE labels ADD COLUMN threshold_model TEXT;
        CREATE TABLE text_vectors (
            model_id TEXT NOT NULL,
            text TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vec BLOB NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (model_id, text)
        );
        CREATE TABLE tag_feedback (
            label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            verdict TEXT NOT NULL CHECK (verdict IN ('confirm', 'reject')),
            score REAL,
            created_at REAL NOT NULL,
            PRIMARY KEY (label_id, photo_id)
        );
        CREATE INDEX tag_feedback_photo ON tag_feedback(photo_id)
        """,
    )


@MIGRATIONS()
def m003_sidecar_keywords(db: sqlite_utils.Database) -> None:
    """Which keywords photoclip itself put into each photo's XMP sidecar.

    Export may only take out what it put in (or what the user rejected): a keyword
    digiKam or Lightroom wrote must survive even when it equals a label's name.
    `name` is the label name as written, kept as text so that the keyword can still
    be removed after its label is renamed or deleted; `label_id` (cleared when the
    label goes) lets an export scoped to one label find its keywords written under
    an older name. `subject_added` says whether photoclip also put the flat keyword
    (the leaf, `Dogs`) into dc:subject, or found it there already, written by another app.
    """
    run_script(
        db,
        """
        CREATE TABLE sidecar_keywords (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            label_id INTEGER REFERENCES labels(id) ON DELETE SET NULL,
            written_at REAL NOT NULL,
            subject_added INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (photo_id, name)
        );
        CREATE INDEX sidecar_keywords_label ON sidecar_keywords(label_id)
        """,
    )


# The labels' own migrations are declared beside their SQL in db/labels.py. Importing it
# here registers them whatever else a process imports: a Library that did not know one
# of them would refuse a library where it was applied as "written by a newer photoclip".
from photoclip.core.db import labels as _labels  # noqa: E402, F401
