"""SQLite's errors about the file itself come out as plain sentences (DatabaseProblem), never as raw sqlite3 text."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from photoclip.core.db import DatabaseBusy, DatabaseFull, DatabaseReadOnly, DatabaseUnavailable, Library
from photoclip.core.errors import PhotoclipError


@pytest.fixture
def lib(tmp_path):
    with Library(tmp_path / "lib.db") as library:
        yield library


def _one_line_about(exc: BaseException, path) -> str:
    message = str(exc)
    assert str(path) in message and "\n" not in message
    return message


def test_a_read_only_library_says_so_and_stays_a_sqlite_error(lib, tmp_path):
    # Tests run as root, which writes through file permissions; query_only gives SQLite's same SQLITE_READONLY.
    lib.conn.execute("PRAGMA query_only=ON")
    with pytest.raises(DatabaseReadOnly) as caught:
        lib.add_folder(tmp_path)
    message = _one_line_about(caught.value, lib.path)
    assert "read-only" in message and "writable" in message
    assert isinstance(caught.value, PhotoclipError) and isinstance(caught.value, sqlite3.OperationalError)
    assert caught.value.sqlite_errorname == "SQLITE_READONLY"
    assert not lib.conn.in_transaction


def test_a_full_disk_says_so_keeps_what_was_there_and_the_library_works_after(lib, tmp_path):
    folder_id = lib.add_folder(tmp_path)
    lib.register_model("m", 512)
    pages = lib.conn.execute("PRAGMA page_count").fetchone()[0]
    lib.conn.execute(f"PRAGMA max_page_count={pages + 2}")  # room for almost nothing more
    with pytest.raises(DatabaseFull) as caught, lib.transaction():
        ids = [lib.insert_photo(str(tmp_path / f"{i}.jpg"), folder_id, 1, 1, None) for i in range(50)]
        lib.put_vectors("m", ids, np.ones((50, 512), np.float32))
    assert "full" in _one_line_about(caught.value, lib.path)
    assert not lib.conn.in_transaction
    assert lib.file_states() == {} and lib.integrity_ok()
    lib.conn.execute("PRAGMA max_page_count=1073741823")  # space freed
    lib.insert_photo(str(tmp_path / "after.jpg"), folder_id, 1, 1, None)
    assert len(lib.file_states()) == 1


def test_a_full_disk_inside_a_nested_block_does_not_hide_behind_a_savepoint_error(lib, tmp_path):
    folder_id = lib.add_folder(tmp_path)
    pages = lib.conn.execute("PRAGMA page_count").fetchone()[0]
    lib.conn.execute(f"PRAGMA max_page_count={pages + 1}")
    with pytest.raises(DatabaseFull), lib.transaction(), lib.transaction():
        for i in range(2000):
            lib.insert_photo(str(tmp_path / f"{i:05d}-a-long-file-name-to-fill-pages.jpg"), folder_id, 1, 1, None)
    assert not lib.conn.in_transaction and lib.file_states() == {}


def test_a_lock_held_too_long_says_the_library_is_busy(lib, tmp_path):
    with Library(lib.path) as other:
        other.begin()  # another writer keeps the lock
        try:
            lib.conn.execute("PRAGMA busy_timeout=50")
            with pytest.raises(DatabaseBusy) as caught:
                lib.add_folder(tmp_path)
        finally:
            other.rollback()
    assert "busy" in _one_line_about(caught.value, lib.path)
    assert lib.add_folder(tmp_path) > 0  # free again


def test_a_library_whose_folder_cannot_be_made_is_a_plain_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatabaseUnavailable, match=r"lib\.db: Not a directory"):
        Library(tmp_path / "file" / "lib.db")


def test_errors_that_are_the_callers_are_not_translated(lib, tmp_path):
    folder_id = lib.add_folder(tmp_path)
    lib.insert_photo("/p/a.jpg", folder_id, 1, 1, None)
    with pytest.raises(sqlite3.IntegrityError) as caught:
        lib.insert_photo("/p/a.jpg", folder_id, 1, 1, None)
    assert not isinstance(caught.value, PhotoclipError)
    with pytest.raises(sqlite3.OperationalError) as syntax:
        lib.conn.execute("SELEC 1")
    assert not isinstance(syntax.value, PhotoclipError)


def test_the_cli_reports_a_full_disk_with_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    from photoclip.cli import run
    from photoclip.core.db import connection

    real_open = connection.open_connection

    def tiny_disk(path):
        conn = real_open(path)
        conn.execute("PRAGMA max_page_count=3")  # the new library's schema does not fit
        return conn

    monkeypatch.setattr("photoclip.core.db.library.open_connection", tiny_disk)
    folder = tmp_path / "photos"
    folder.mkdir()
    assert run(["--db", str(tmp_path / "lib.db"), "add-folder", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("photoclip: ") and "full" in err and len(err.splitlines()) == 1
