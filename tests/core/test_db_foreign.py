"""A file that is not a photoclip library is refused before a single byte of it is written."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from photoclip.core.db import APPLICATION_ID, ForeignDatabase, Library
from photoclip.core.errors import PhotoclipError
from tests.conftest import PHOTOS


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in the folder with its bytes and mtime: nothing may change, appear or go."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file()}


def _another_apps_db(path: Path, *, wal: bool = False, app_id: int = 0) -> Path:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    if app_id:
        conn.execute(f"PRAGMA application_id={app_id}")
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    conn.commit()
    conn.close()
    return path


def _assert_refused_untouched(path: Path) -> ForeignDatabase:
    before = _snapshot(path.parent)
    with pytest.raises(ForeignDatabase) as caught:
        Library(path)
    assert _snapshot(path.parent) == before
    message = str(caught.value)
    assert "not a photoclip library" in message and path.name in message and "\n" not in message
    return caught.value


@pytest.mark.parametrize("wal", [False, True], ids=["rollback-journal", "wal"])
def test_another_apps_database_is_refused_and_left_byte_for_byte(tmp_path, wal):
    path = _another_apps_db(tmp_path / "places.sqlite", wal=wal)
    _assert_refused_untouched(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == ("wal" if wal else "delete")
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {"moz_places"}
    conn.close()


def test_a_database_stamped_by_another_application_is_refused(tmp_path):
    _assert_refused_untouched(_another_apps_db(tmp_path / "other.db", app_id=0x12345678))


def test_a_foreign_database_open_elsewhere_with_changes_in_its_wal_is_refused(tmp_path):
    # Another program has the file open: its tables are still only in the -wal file.
    path = tmp_path / "live.db"
    owner = sqlite3.connect(path, isolation_level=None)
    owner.execute("PRAGMA journal_mode=WAL")
    owner.execute("PRAGMA wal_autocheckpoint=0")
    owner.execute("CREATE TABLE notes (body TEXT)")
    try:
        assert (tmp_path / "live.db-wal").stat().st_size > 0
        main_before = (path.read_bytes(), path.stat().st_mtime_ns)
        with pytest.raises(ForeignDatabase, match="notes"):
            Library(path)
        assert (path.read_bytes(), path.stat().st_mtime_ns) == main_before
    finally:
        owner.close()


@pytest.mark.parametrize(
    "content",
    [b"just some notes\n" * 50, (PHOTOS / "skimage_chelsea.jpg").read_bytes(), b"SQLite format 3\x00" + b"\xff" * 30],
    ids=["text", "jpeg", "truncated-sqlite-header"],
)
def test_a_file_that_is_not_sqlite_is_refused(tmp_path, content):
    path = tmp_path / "library.db"
    path.write_bytes(content)
    _assert_refused_untouched(path)


def test_a_folder_is_refused(tmp_path):
    folder = tmp_path / "photos.db"
    folder.mkdir()
    with pytest.raises(ForeignDatabase, match="is a folder"):
        Library(folder)
    assert list(folder.iterdir()) == []


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "library.db"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def open_it() -> None:
        try:
            Library(fifo)
        except BaseException as exc:
            outcome.append(exc)

    opener = threading.Thread(target=open_it, daemon=True)
    opener.start()
    opener.join(timeout=20)
    if opener.is_alive():  # unblock the stuck open so the test run can go on, then fail
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("opening a FIFO as the library blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], ForeignDatabase)
    assert "pipe" in str(outcome[0])


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_device_or_a_link_to_one_is_refused(tmp_path, device):
    with pytest.raises(ForeignDatabase, match="not a regular file"):
        Library(device)
    link = tmp_path / "library.db"
    link.symlink_to(device)
    with pytest.raises(ForeignDatabase, match="not a regular file"):
        Library(link)


def test_a_zero_byte_file_and_an_empty_database_become_libraries(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    blank = tmp_path / "blank.db"
    sqlite3.connect(blank).execute("PRAGMA user_version=0").connection.close()
    for path in (empty, blank):
        with Library(path) as lib:
            assert lib.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
            assert "photos" in lib.db.table_names()


def test_a_library_from_the_previous_version_is_recognised_and_stamped(tmp_path):
    path = tmp_path / "old.db"
    with Library(path) as lib:
        lib.add_folder(tmp_path)
    conn = sqlite3.connect(path)  # the previous version set no application id
    conn.execute("PRAGMA application_id=0")
    conn.commit()
    conn.close()
    with Library(path) as lib:
        assert len(lib.folder_paths()) == 1
        assert lib.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_a_dangling_link_is_refused_rather_than_creating_its_target(tmp_path):
    link = tmp_path / "library.db"
    link.symlink_to(tmp_path / "elsewhere" / "gone.db")
    with pytest.raises(ForeignDatabase, match="link"):
        Library(link)
    assert not (tmp_path / "elsewhere").exists()


def test_the_cli_refuses_a_foreign_database_with_one_line_and_exit_2(tmp_path, capsys):
    from photoclip.cli import run

    path = _another_apps_db(tmp_path / "places.sqlite")
    copy = shutil.copy(path, tmp_path / "reference")
    assert run(["--db", str(path), "problems"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("photoclip: ") and "not a photoclip library" in err and len(err.splitlines()) == 1
    assert path.read_bytes() == Path(copy).read_bytes()


def test_refusals_are_photoclip_errors(tmp_path):
    (tmp_path / "x.db").write_text("hello")
    with pytest.raises(PhotoclipError):
        Library(tmp_path / "x.db")


def test_a_new_library_whose_process_died_before_any_checkpoint_is_still_recognised(tmp_path):
    # Everything, the application id included, is still only in the -wal file.
    path = tmp_path / "lib.db"
    script = "import os, sys\nfrom photoclip.core.db import Library\nlib = Library(sys.argv[1])\nlib.add_folder(sys.argv[2])\nos._exit(9)\n"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path)], cwd=root, env={"PYTHONPATH": str(root)})
    assert proc.returncode == 9 and (tmp_path / "lib.db-wal").stat().st_size > 0
    with Library(path) as lib:
        assert lib.folder_paths() == [(1, str(tmp_path))]
