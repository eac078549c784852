"""What a newcomer hit in the window (issue 10), offscreen: each test failed before its fix."""

from __future__ import annotations

from PySide6.QtCore import QSize

from photoclip.gui.windows.main_window import MainWindow


def _fits(pixmap_size: QSize, room: QSize) -> bool:
    return pixmap_size.width() <= room.width() and pixmap_size.height() <= room.height()


def test_viewer_refits_the_photo_when_its_room_shrinks(window: MainWindow, qtbot) -> None:
    """Item 2: the divider moving (or the labels panel arriving) shrinks the image area only."""
    window.open_viewer(window.grid_model.index(0, 0))
    viewer = window._viewer
    assert viewer is not None
    viewer.resize(1000, 700)
    qtbot.waitUntil(lambda: viewer._pixmap is not None, timeout=20000)
    qtbot.waitUntil(lambda: not viewer.image.pixmap().isNull())
    before = viewer.image.pixmap().size()
    total = sum(viewer.splitter.sizes())
    viewer.splitter.setSizes([total // 3, total - total // 3])  # the user drags the divider left
    qtbot.waitUntil(lambda: viewer.image.width() <= total // 3 + 2)
    room = viewer.image.size()
    shown = viewer.image.pixmap().size()
    assert _fits(shown, room), f"{shown} does not fit in {room} (was {before})"
    # and back: the photo grows again with its room
    viewer.splitter.setSizes([total - 200, 200])
    qtbot.waitUntil(lambda: viewer.image.pixmap().width() > shown.width() or viewer.image.pixmap().height() > shown.height())
    assert _fits(viewer.image.pixmap().size(), viewer.image.size())
