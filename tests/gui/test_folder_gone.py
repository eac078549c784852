"""A library folder that is no longer there when the app rescans (an unplugged drive, a
folder renamed, or replaced by a file or a named pipe): the window says so, in words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photoclip.gui.windows.main_window import MainWindow


@pytest.mark.parametrize("replacement", ["nothing", "a file", "a named pipe"])
def test_a_rescan_says_which_library_folder_it_could_not_read(window: MainWindow, qtbot, photo_dir: Path, replacement: str) -> None:
    os.rename(photo_dir, photo_dir.with_name("renamed"))
    if replacement == "a file":
        photo_dir.write_bytes(b"not a folder")
    elif replacement == "a named pipe":
        os.mkfifo(photo_dir)  # never opened: a read would wait for a writer
    window.statusBar().clearMessage()
    with qtbot.waitSignal(window.indexer.finished, timeout=30000):
        window.rescan()
    # Before: nothing at all was said, and the folder's photos stayed in the grid.
    message = window.statusBar().currentMessage()
    assert "“photos” could not be read" in message and "its photos are kept" in message
    assert window.grid_model.rowCount() == 8


def _folder_row_text(window: MainWindow, folder: Path) -> str:
    model = window.folder_model
    return str(model.index(model.row_of(str(folder)), 0).data())


def test_a_folder_renamed_while_the_window_is_open_is_noticed_and_marked_until_it_is_back(
    window: MainWindow, qtbot, photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walk 24: the photographer renamed a library folder in the file manager; the window went
    on as if nothing had happened (no pass, no word) until Rescan, and the sentence Rescan
    then gave was gone from the status bar ten seconds later while the list still showed the
    folder as if it were there."""
    from photoclip.worker import watcher

    monkeypatch.setattr(watcher, "ROOT_CHECK_S", 0.2)
    qtbot.waitUntil(lambda: window.watching.owner and str(photo_dir) in window.watching.watched, timeout=30000)
    window.statusBar().clearMessage()
    os.rename(photo_dir, photo_dir.with_name("renamed"))
    qtbot.waitUntil(lambda: "“photos” could not be read" in window.statusBar().currentMessage(), timeout=30000)
    assert _folder_row_text(window, photo_dir).endswith("· not found")
    assert "Not found at the last scan" in str(window.folder_model.index(window.folder_model.row_of(str(photo_dir)), 0).data(3))
    assert window.grid_model.rowCount() == 8  # its photos are kept

    os.rename(photo_dir.with_name("renamed"), photo_dir)
    qtbot.waitUntil(lambda: "not found" not in _folder_row_text(window, photo_dir), timeout=30000)
    qtbot.waitUntil(lambda: str(photo_dir) in window.watching.watched, timeout=30000)
