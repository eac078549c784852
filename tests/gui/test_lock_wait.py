"""While another photoclip (`photoclip index`, `watch`) holds the library's write lock, the
app's writes wait (up to 30 s): past half a second the status bar says why, and the message
goes once the write is through. Another writer is a plain sqlite3 connection here, holding
BEGIN IMMEDIATE as the indexer does between its commits."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.gui.widgets import ChipTerm
from photoclip.gui.windows.main_window import MainWindow
from photoclip.gui.windows.watching import LOCK_WAIT_TEXT


def _hold_write_lock(db: Path) -> sqlite3.Connection:
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def _messages(window: MainWindow) -> list[tuple[str, float]]:
    said: list[tuple[str, float]] = []
    window.statusBar().messageChanged.connect(lambda text: said.append((text, time.monotonic())))
    return said


def test_a_save_waiting_for_another_photoclip_says_so_until_it_is_written(window: MainWindow, qtbot) -> None:
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda is_search: is_search):
        window.search_bar.add_chip(ChipTerm("text", "a cat", 1.0, "a cat"), replace=True)
    qtbot.waitUntil(lambda: not window.library.busy)
    said = _messages(window)
    other = _hold_write_lock(window.db_path)
    try:
        started = time.monotonic()
        window.save_album_as("Cats")  # a write on the library thread
        qtbot.waitUntil(lambda: window.statusBar().currentMessage() == LOCK_WAIT_TEXT, timeout=10000)
        shown_at = next(at for text, at in said if text == LOCK_WAIT_TEXT)
        assert shown_at - started >= 0.4  # a write that waits a moment says nothing
        qtbot.wait(300)
        assert window.statusBar().currentMessage() == LOCK_WAIT_TEXT  # no time-out while it still waits
    finally:
        other.execute("ROLLBACK")
        other.close()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "Saved the album “Cats”.", timeout=10000)

    # A write that need not wait never shows it.
    said.clear()
    window.save_album_as("Cats again")
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "Saved the album “Cats again”.", timeout=10000)
    assert all(text != LOCK_WAIT_TEXT for text, _ in said)


def test_a_tagging_run_waiting_for_another_photoclip_says_so(window: MainWindow, qtbot, indexed_db: Path) -> None:
    with Library(indexed_db) as lib:
        tagging.create_label(lib, "cat")
    other = _hold_write_lock(window.db_path)
    try:
        window.tagging.tag_library_action.trigger()
        qtbot.waitUntil(lambda: window.statusBar().currentMessage() == LOCK_WAIT_TEXT, timeout=10000)
    finally:
        other.execute("ROLLBACK")
        other.close()
    qtbot.waitUntil(lambda: not window.tagging.tagger.running, timeout=30000)
    assert window.statusBar().currentMessage() != LOCK_WAIT_TEXT
