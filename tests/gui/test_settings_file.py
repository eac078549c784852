"""The settings file is the user's: the app rewrites it only for a change made in the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoclip.core.settings import Settings
from photoclip.gui.windows.main_window import MainWindow


@pytest.mark.parametrize(
    "content",
    [b'{"thumbnail_edge": 200, "device": "cpu" "write_xmp": true}', b'{"device": "tpu", "thumbnail_edge": 200}'],
    ids=["a missing comma", "a name photoclip does not know"],
)
def test_a_settings_file_it_could_not_use_is_left_as_the_user_wrote_it(qtbot, db_path: Path, content: bytes) -> None:
    # Before: closing the window saved the defaults over it (the thumbnail size's save).
    path = Settings.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    win = MainWindow(db_path, load_model=False)
    qtbot.addWidget(win)
    win.show()
    win.close()
    assert path.read_bytes() == content


def test_a_thumbnail_size_changed_in_the_window_is_still_kept(qtbot, db_path: Path) -> None:
    win = MainWindow(db_path, load_model=False)
    qtbot.addWidget(win)
    win.show()
    edge = win.size_slider.minimum()
    win.size_slider.setValue(edge)
    win.close()
    assert Settings.load().thumbnail_edge == edge != Settings().thumbnail_edge


def test_settings_that_cannot_be_saved_are_said_in_the_window_not_raised(qtbot, db_path: Path, monkeypatch) -> None:
    # Before: OK in the Settings dialog with a config folder that cannot be written raised
    # OSError out of the slot (the app's "unexpected error" dialog and a traceback in the log).
    from PySide6.QtWidgets import QDialog

    from photoclip.core import paths
    from photoclip.gui.dialogs.settings import SettingsDialog

    folder = paths.config_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the config folder should be")
    win = MainWindow(db_path, load_model=False)
    qtbot.addWidget(win)
    win.show()
    monkeypatch.setattr(SettingsDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    win.settings.write_xmp = not win.settings.write_xmp  # something to save
    win.open_settings()
    assert "Settings not saved" in win.statusBar().currentMessage() and str(folder) in win.statusBar().currentMessage()
    win.close()
    assert folder.read_text() == "a file where the config folder should be"
