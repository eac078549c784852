"""The database: schema, migrations with backup, refusal of newer files, odd paths, vectors per model."""

from __future__ import annotations

import hashlib
import os
import sqlite3

import numpy as np
import pytest

from photoclip.core import db as library_module
from photoclip.core.db import Library, db_path, fs_path
from photoclip.core.db import vectors as vectors_module
from photoclip.core.errors import DatabaseTooNew, FolderError, PhotoclipError


def test_new_database_is_wal_with_schema(tmp_path):
    with Library(tmp_path / "lib.db") as lib:
        mode = lib.conn.execute("PRAGMA journal_mode").fetchone()[0]
        tables = set(lib.db.table_names())
    assert mode == "wal"
    assert {"folders", "photos", "vectors", "models", "labels", "tags"} <= tables


def test_reopening_applies_nothing_and_makes_no_backup(tmp_path):
    Library(tmp_path / "lib.db").close()
    Library(tmp_path / "lib.db").close()
    assert not list(tmp_path.glob("*.bak"))


def test_database_from_a_newer_app_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "lib.db"
    Library(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('photoclip', 'm999_future', 'x')")
    conn.commit()
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DatabaseTooNew, match="newer version"):
        Library(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_pending_migration_backs_up_the_old_file_first(tmp_path, monkeypatch):
    path = tmp_path / "lib.db"
    with Library(path) as lib:
        lib.add_folder(tmp_path)
    migrations = list(library_module.MIGRATIONS._migrations)

    def m900_add_note(db):
        db.execute("ALTER TABLE folders ADD COLUMN note TEXT")

    extra = library_module.Migrations._Migration("m900_add_note", m900_add_note)
    monkeypatch.setattr(library_module.MIGRATIONS, "_migrations", [*migrations, extra])
    with Library(path) as lib:
        columns = {c.name for c in lib.db["folders"].columns}
    assert "note" in columns
    backups = list(tmp_path.glob("lib.db.before-m900_add_note.*.bak"))
    assert len(backups) == 1
    old = sqlite3.connect(backups[0])
    assert "note" not in {r[1] for r in old.execute("PRAGMA table_info(folders)")}
    assert old.execute("SELECT COUNT(*) FROM folders").fetchone()[0] == 1
    old.close()


def test_failed_migration_rolls_back_and_keeps_data(tmp_path, monkeypatch):
    path = tmp_path / "lib.db"
    with Library(path) as lib:
        lib.add_folder(tmp_path)

    def m901_broken(db):
        db.execute("ALTER TABLE folders ADD COLUMN half TEXT")
        raise RuntimeError("boom")

    extra = library_module.Migrations._Migration("m901_broken", m901_broken)
    monkeypatch.setattr(library_module.MIGRATIONS, "_migrations", [*list(library_module.MIGRATIONS._migrations), extra])
    with pytest.raises(RuntimeError):
        Library(path)
    monkeypatch.undo()
    with Library(path) as lib:
        assert "half" not in {c.name for c in lib.db["folders"].columns}
        assert len(lib.folder_paths()) == 1


def test_not_a_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "lib.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(PhotoclipError, match="not a photoclip library"):
        Library(path)


def test_undecodable_path_round_trips_exactly(tmp_path):
    odd = os.fsdecode(b"/photos/caf\xe9.jpg")
    assert isinstance(db_path(odd), bytes)
    assert fs_path(db_path(odd)) == odd
    assert db_path("/photos/café.jpg") == "/photos/café.jpg"
    with Library(tmp_path / "lib.db") as lib:
        fid = lib.add_folder(tmp_path)
        pid = lib.insert_photo(odd, fid, 10, 20, "h")
        assert lib.photo(pid).path == odd
        assert odd in lib.file_states()


def test_add_folder_rejects_files_and_is_idempotent(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    with Library(tmp_path / "lib.db") as lib:
        with pytest.raises(FolderError):
            lib.add_folder(tmp_path / "f.txt")
        assert lib.add_folder(tmp_path) == lib.add_folder(str(tmp_path) + "/")
        with pytest.raises(FolderError):
            lib.remove_folder(tmp_path / "nowhere")


def test_models_coexist_and_switching_keeps_other_vectors(tmp_path):
    with Library(tmp_path / "lib.db") as lib:
        fid = lib.add_folder(tmp_path)
        pid = lib.insert_photo(str(tmp_path / "a.jpg"), fid, 1, 1, "h")
        lib.register_model("model-a", 4)
        lib.register_model("model-b", 3)
        lib.put_vectors("model-a", [pid], np.array([[1, 0, 0, 0]], np.float32))
        lib.put_vectors("model-b", [pid], np.array([[0, 1, 0]], np.float32))
        ids_a, mat_a, _ = lib.load_vectors("model-a")
        ids_b, mat_b, _ = lib.load_vectors("model-b")
        assert ids_a.tolist() == ids_b.tolist() == [pid]
        assert mat_a.shape == (1, 4) and mat_b.shape == (1, 3)
        with pytest.raises(PhotoclipError, match="dimensional"):
            lib.register_model("model-a", 8)
        assert [m[0] for m in lib.models()] == ["model-a", "model-b"]


def test_transaction_rolls_back_on_error(tmp_path):
    with Library(tmp_path / "lib.db") as lib:
        fid = lib.add_folder(tmp_path)
        with pytest.raises(ValueError), lib.transaction():
            lib.insert_photo(str(tmp_path / "a.jpg"), fid, 1, 1, None)
            raise ValueError
        assert lib.file_states() == {}


def test_default_location_follows_environment(tmp_path, monkeypatch):
    from photoclip.core import paths

    monkeypatch.setenv("PHOTOCLIP_DB", str(tmp_path / "elsewhere.db"))
    assert paths.default_db_path() == tmp_path / "elsewhere.db"
    monkeypatch.delenv("PHOTOCLIP_DB")
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    assert paths.default_db_path() == tmp_path / "home" / "data" / "library.db"


def test_sidecar_keywords_migration_upgrades_an_older_library_after_a_backup(tmp_path, monkeypatch):
    path = tmp_path / "lib.db"
    older = [m for m in library_module.MIGRATIONS._migrations if m.name in ("m001_initial", "m002_tagging")]
    monkeypatch.setattr(library_module.MIGRATIONS, "_migrations", older)
    with Library(path) as lib:
        pid = lib.insert_photo(str(tmp_path / "a.jpg"), lib.add_folder(tmp_path), 1, 1, None)
        assert "sidecar_keywords" not in lib.db.table_names()
    monkeypatch.undo()
    with Library(path) as lib:
        assert "sidecar_keywords" in lib.db.table_names()
        lib.conn.execute("INSERT INTO sidecar_keywords (photo_id, name, written_at) VALUES (?, 'Dogs', 0)", (pid,))
        lib.forget_photo(pid)
        assert lib.conn.execute("SELECT COUNT(*) FROM sidecar_keywords").fetchone()[0] == 0
    assert len(list(tmp_path.glob("lib.db.before-m003_sidecar_keywords.*.bak"))) == 1


def _load_vectors_reference(lib, model_id, after_rowid=0):
    """load_vectors as it was before it filled a preallocated matrix: one array per row."""
    rows = lib.conn.execute(
        "SELECT rowid, photo_id, dim, vec FROM vectors WHERE model_id = ? AND rowid > ? ORDER BY rowid",
        (model_id, after_rowid),
    ).fetchall()
    if not rows:
        return np.empty(0, np.int64), np.empty((0, 0), np.float32), after_rowid
    matrix = np.stack([np.frombuffer(r[3], dtype=np.float16, count=r[2]).astype(np.float32) for r in rows])
    return np.array([r[1] for r in rows], np.int64), matrix, rows[-1][0]


def _assert_same_load(got, want):
    assert got[0].dtype == want[0].dtype == np.int64 and got[1].dtype == want[1].dtype == np.float32
    assert got[1].shape == want[1].shape and got[1].flags.c_contiguous
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2] and type(got[2]) is type(want[2])


@pytest.mark.parametrize("chunk", [7, 64, 8192])
def test_load_vectors_matches_a_row_by_row_read(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(vectors_module, "_LOAD_CHUNK", chunk)  # several chunks, and the threaded path
    rng = np.random.default_rng(7)
    with Library(tmp_path / "lib.db") as lib:
        fid = lib.add_folder(tmp_path)
        pids = [lib.insert_photo(str(tmp_path / f"{i}.jpg"), fid, 1, 1, None) for i in range(300)]
        lib.register_model("m", 48)
        lib.register_model("other", 48)
        order = rng.permutation(pids)  # photo ids out of rowid order
        lib.put_vectors("m", order[:200].tolist(), rng.standard_normal((200, 48)).astype(np.float32))
        lib.put_vectors("other", pids[:50], rng.standard_normal((50, 48)).astype(np.float32))
        lib.put_vectors("m", order[200:].tolist(), rng.standard_normal((100, 48)).astype(np.float32) * 1e-4)
        lib.put_vectors("m", order[:10].tolist(), rng.standard_normal((10, 48)).astype(np.float32))  # replaced
        for after in (0, 57, 250, 10**9):
            _assert_same_load(lib.load_vectors("m", after), _load_vectors_reference(lib, "m", after))
        _assert_same_load(lib.load_vectors("missing"), _load_vectors_reference(lib, "missing"))


class _CountSkew:
    """A connection whose COUNT(*) is off by `skew`, as if rows changed between two statements."""

    def __init__(self, conn, skew):
        self.conn, self.skew = conn, skew

    def execute(self, sql, params=()):
        cur = self.conn.execute(sql, params)
        if sql.startswith("SELECT COUNT(*), MAX(rowid)"):
            count, last = cur.fetchone()
            return _One((max(0, count + self.skew), last))
        return cur


class _One:
    def __init__(self, row):
        self.row = row

    def fetchone(self):
        return self.row


@pytest.mark.parametrize("skew", [-150, -1, 1, 40])
def test_load_vectors_survives_rows_changing_between_count_and_read(tmp_path, monkeypatch, skew):
    monkeypatch.setattr(vectors_module, "_LOAD_CHUNK", 16)
    rng = np.random.default_rng(3)
    with Library(tmp_path / "lib.db") as lib:
        fid = lib.add_folder(tmp_path)
        pids = [lib.insert_photo(str(tmp_path / f"{i}.jpg"), fid, 1, 1, None) for i in range(100)]
        lib.register_model("m", 8)
        lib.put_vectors("m", pids, rng.standard_normal((100, 8)).astype(np.float32))
        want = _load_vectors_reference(lib, "m")
        real = lib.conn
        lib.conn = _CountSkew(real, skew)
        try:
            got = lib.load_vectors("m")
        finally:
            lib.conn = real
        _assert_same_load(got, want)


def test_vectors_for_a_photo_deleted_meanwhile_are_passed_over(tmp_path):
    # The pipeline embeds a batch while the user trashes one of its photos or removes its folder.
    with Library(tmp_path / "lib.db") as lib:
        fid = lib.add_folder(tmp_path)
        kept, gone = (lib.insert_photo(str(tmp_path / f"{n}.jpg"), fid, 1, 1, None) for n in ("kept", "gone"))
        lib.register_model("m", 4)
        lib.forget_photo(gone)
        with lib.transaction():
            written = lib.put_vectors("m", [kept, gone], np.eye(2, 4, dtype=np.float32))
        assert written == 1
        ids, matrix, _ = lib.load_vectors("m")
        assert ids.tolist() == [kept] and matrix.tolist() == [[1, 0, 0, 0]]
        assert lib.integrity_ok()
