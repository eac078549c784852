"""The Labels dialog's preview grid on its own, with thumbnails that arrive late (as they do)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPixmap

from photoclip.gui.qtcompat import emit
from photoclip.gui.widgets.label_preview import PREVIEW_ICON, PreviewGrid


class LateThumbnails(QObject):
    """A ThumbnailLoader stand-in: photos in `cached` have a pixmap at once, the others
    only after `arrive(photo_id)`, as the loader's worker threads deliver them."""

    ready = Signal(int)

    def __init__(self, cached: set[int], size: tuple[int, int] = (PREVIEW_ICON, PREVIEW_ICON * 3 // 4)) -> None:
        super().__init__()
        self.cached = set(cached)
        self.size = size

    def pixmap(self, photo_id: int, path: str) -> QPixmap | None:
        if photo_id not in self.cached:
            return None
        pixmap = QPixmap(*self.size)
        pixmap.fill(QColor(200, 80, 40))
        return pixmap

    def arrive(self, photo_id: int) -> None:
        self.cached.add(photo_id)
        emit(self.ready, photo_id)


def _centres(grid: PreviewGrid) -> list[int]:
    return [grid.visualItemRect(grid.item(i)).center().x() for i in range(grid.count())]


@pytest.mark.parametrize("size", [(PREVIEW_ICON, PREVIEW_ICON * 3 // 4), (PREVIEW_ICON * 3 // 4, PREVIEW_ICON)])
def test_a_thumbnail_that_arrives_late_sits_in_its_cell_like_the_others(qtbot, size: tuple[int, int]) -> None:
    """The walk of round 21 (shot 15): three photos tagged, and a gap between the first two.
    The second thumbnail had not arrived when the grid laid its items out; it was placed
    as a caption alone and grew to the right when its picture came, off its cell."""
    thumbs = LateThumbnails(cached={1, 3}, size=size)  # landscape, then portrait
    grid = PreviewGrid(thumbs)  # type: ignore[arg-type]
    qtbot.addWidget(grid)
    grid.resize(600, 200)
    grid.show()
    qtbot.waitExposed(grid)
    grid.show_photos([(1, 0.111), (2, 0.094), (3, 0.094)], {1: "a.jpg", 2: "b.jpg", 3: "c.jpg"})
    qtbot.wait(50)  # the list view lays its items out on its own timer
    thumbs.arrive(2)
    qtbot.waitUntil(lambda: not grid.item(1).icon().isNull())
    qtbot.wait(50)
    first, second, third = _centres(grid)
    step = grid.gridSize().width()
    assert (second - first, third - second) == (step, step)  # evenly spaced: no photo off its cell, no hole


def test_an_answered_photo_stays_marked_dimmed(qtbot) -> None:
    """Answers stay in view (the walk of round 21: after ✓ the photo vanished): the
    photo keeps its place, says what the user answered, and is drawn dimmed."""
    thumbs = LateThumbnails(cached={1, 2, 3})
    grid = PreviewGrid(thumbs)  # type: ignore[arg-type]
    qtbot.addWidget(grid)
    shown = [(1, 0.2), (2, 0.15), (3, 0.1)]
    grid.show_photos(shown, {}, line=0.14, answers={2: True, 3: False})
    texts = [grid.item(i).text() for i in range(3)]
    assert texts[0].startswith("past · ")
    assert texts[1].startswith("✓ yes") and texts[2].startswith("✗ no")
    assert [grid.item(i).data(Qt.ItemDataRole.UserRole) for i in range(3)] == [1, 2, 3]  # in place
    dim, plain = grid.item(1).foreground().color(), grid.item(0).foreground().color()
    assert dim != plain
    assert grid.answer_of(2) is True and grid.answer_of(3) is False and grid.answer_of(1) is None
