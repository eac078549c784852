"""A photographer's afternoon without the mouse (round 17 walkthrough): focus lands where
the next key is meant to go, in the window and in the viewer."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from photoclip.gui.windows.main_window import MainWindow


def _focused() -> QWidget | None:
    return QApplication.focusWidget()


def test_the_viewer_steps_with_the_arrow_keys_as_soon_as_it_opens(window: MainWindow, qtbot) -> None:
    """Enter on a result opens the viewer; → must show the next result at once. Focus used to
    land in the "Add a tag…" box, which took the arrow keys to move its (empty) text cursor."""
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.grid_model.index(0, 0))
    QTest.keyClick(window.grid, Qt.Key.Key_Return)
    viewer = window._viewer
    assert viewer is not None
    qtbot.waitExposed(viewer)
    viewer.activateWindow()
    qtbot.waitUntil(lambda: viewer.isActiveWindow() and _focused() is not None and _focused().window() is viewer, timeout=5000)
    qtbot.waitUntil(lambda: viewer.labels_panel.labels is not None, timeout=20000)  # the tag box is there now
    assert viewer.row == 0
    QTest.keyClick(_focused(), Qt.Key.Key_Right)
    assert viewer.row == 1
    QTest.keyClick(_focused(), Qt.Key.Key_Left)
    assert viewer.row == 0
    # The tag box (no labels yet: nothing else on the side) is one Tab away, and there the
    # arrows move the text cursor as they should, not the photo.
    QTest.keyClick(_focused(), Qt.Key.Key_Tab)
    tag_box = viewer.labels_panel.findChild(QLineEdit)
    assert _focused() is tag_box
    QTest.keyClicks(tag_box, "ab")
    QTest.keyClick(tag_box, Qt.Key.Key_Left)
    assert viewer.row == 0 and tag_box.cursorPosition() == 1
    QTest.keyClick(tag_box, Qt.Key.Key_Escape)  # Escape closes the viewer from anywhere in it
    qtbot.waitUntil(lambda: window._viewer is None, timeout=5000)


def test_down_from_the_search_box_goes_to_the_results(window: MainWindow, qtbot) -> None:
    """Type, then ↓ (or Tab past the filter row): the results have the focus, the first one current,
    so Enter opens it. Tab used to go from the search box to the sidebar's folder list."""
    window.activateWindow()
    window.focus_search()
    qtbot.waitUntil(lambda: window.search_bar.edit.hasFocus(), timeout=5000)
    QTest.keyClick(window.search_bar.edit, Qt.Key.Key_Down)
    assert window.grid.hasFocus()
    assert window.grid.currentIndex().row() == 0 and window.grid.selectionModel().isSelected(window.grid.currentIndex())

    # Tab walks the window top to bottom: search box, its button, the filter row, then the grid.
    order = []
    widget: QWidget = window.search_bar.edit
    for _ in range(500):
        widget = widget.nextInFocusChain()
        if widget is window.search_bar.edit:
            break
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisibleTo(window) and widget.isEnabled():
            order.append(widget)
    grid_at = order.index(window.grid)
    assert window.folder_view in order[grid_at:], "the sidebar comes after the results"
    assert window.sort_combo in order[:grid_at] and window.date_check in order[:grid_at]
