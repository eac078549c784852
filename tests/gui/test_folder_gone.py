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
