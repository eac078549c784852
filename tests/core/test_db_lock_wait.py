"""A write that waits for another writer's lock says so after LOCK_NOTICE_S (the app shows it),
then goes through as before; without a listener nothing changes."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from photoclip.core.db import Library
from photoclip.core.db.connection import BUSY_TIMEOUT_S, LOCK_NOTICE_S, takes_write_lock


@contextmanager
def write_lock_held(path: Path, seconds: float) -> Iterator[None]:
    """Another writer (as a `photoclip index` would be) holds the write lock for `seconds`."""
    held = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        yield
    finally:
        holder.join()


def test_a_write_that_waits_is_told_after_the_notice_time_and_still_goes_through(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    with Library(tmp_path / "library.db") as lib:
        heard: list[tuple[bool, float]] = []
        lib.conn.lock_wait = lambda waiting: heard.append((waiting, time.monotonic()))
        with write_lock_held(lib.path, 1.5):
            started = time.monotonic()
            folder_id = lib.add_folder(tmp_path / "photos")  # waits for the other writer
        assert [w for w, _ in heard] == [True, False]
        assert heard[0][1] - started >= LOCK_NOTICE_S * 0.9  # not at once: a short wait says nothing
        assert heard[1][1] - started >= 1.0  # cleared when the write went through, not before
        assert lib.folder_paths() == [(folder_id, str(tmp_path / "photos"))]
        assert lib.conn.execute("PRAGMA busy_timeout").fetchone()[0] == int(BUSY_TIMEOUT_S * 1000)


def test_writes_that_do_not_wait_and_reads_say_nothing(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    with Library(tmp_path / "library.db") as lib:
        heard: list[bool] = []
        lib.conn.lock_wait = heard.append
        lib.add_folder(tmp_path / "photos")
        with write_lock_held(lib.path, 1.0):
            assert lib.folder_paths()  # WAL: a read never waits for the writer
        assert heard == []


def test_what_takes_the_write_lock() -> None:
    assert takes_write_lock("BEGIN IMMEDIATE") and takes_write_lock("  insert into x values (1)")
    assert takes_write_lock("UPDATE photos SET x = 1") and takes_write_lock("begin exclusive;")
    assert not takes_write_lock("BEGIN") and not takes_write_lock("SELECT 1") and not takes_write_lock("PRAGMA busy_timeout")
    assert not takes_write_lock("")
