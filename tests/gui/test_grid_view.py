"""The photo grid view with the timeline: header rows at month changes, the sticky header, laziness at 100k rows.

The view is driven on its own (a PhotoGridModel of made-up photos, no thumbnail loader,
offscreen): its geometry is arithmetic, so the tests assert exact positions.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QAbstractItemView

from photoclip.core.db import Photo
from photoclip.gui.models.photo_grid import PhotoGridModel
from photoclip.gui.models.timeline import Timeline
from photoclip.gui.widgets.delegate import PhotoDelegate
from photoclip.gui.widgets.photo_grid_view import HEADER_HEIGHT, PhotoGridView

CELL = QSize(100, 120)


def photo(i: int, taken: str | None) -> Photo:
    return Photo(i, f"/nowhere/p{i}.jpg", 1, 1, None, 10, 10, taken, "exif", None, None, None, "ok", None)


def month_counts_dates(counts: list[tuple[str, int]]) -> list[str | None]:
    """Dates, newest first: `count` photos in each "YYYY-MM" month given."""
    return [f"{month}-01T00:00:00" for month, count in counts for _ in range(count)]


class CountingModel(PhotoGridModel):
    """Remembers which rows had their thumbnail asked for (what a real loader would decode)."""

    def __init__(self) -> None:
        super().__init__(None)
        self.thumbnail_rows: set[int] = set()

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
        if role == Qt.ItemDataRole.DecorationRole:
            self.thumbnail_rows.add(index.row())
        return super().data(index, role)


@pytest.fixture
def make_view(qtbot):
    def make(dates: list[str | None], *, width: int = 520, height: int = 400, timeline: bool = True) -> PhotoGridView:
        model = CountingModel()
        model.set_photos([photo(i + 1, d) for i, d in enumerate(dates)])
        view = PhotoGridView()
        qtbot.addWidget(view)
        view.setItemDelegate(PhotoDelegate(view))
        view.setModel(model)
        view.setGridSize(CELL)
        view.resize(width, height)
        view.show()
        qtbot.waitExposed(view)
        if timeline:
            view.set_timeline(Timeline(dates))
        return view

    return make


def rect_of(view: PhotoGridView, row: int) -> QRect:
    return view.visualRect(view.model().index(row, 0))


def test_each_month_starts_a_new_row_under_a_full_width_header(make_view):
    # 5 columns (520 px / 100 px); months of 7, 3 and 5 photos.
    view = make_view(month_counts_dates([("2024-06", 7), ("2024-05", 3), ("2023-12", 5)]))
    assert view.header_height == HEADER_HEIGHT
    june, may, december = 0, 7, 10
    assert rect_of(view, june).topLeft() == QPoint(0, HEADER_HEIGHT)
    assert rect_of(view, 5).topLeft() == QPoint(0, HEADER_HEIGHT + CELL.height())  # June's second line
    # May does not continue June's short second line: a header row, then May at the left edge.
    june_bottom = HEADER_HEIGHT + 2 * CELL.height()
    assert rect_of(view, may).topLeft() == QPoint(0, june_bottom + HEADER_HEIGHT)
    assert rect_of(view, december).topLeft() == QPoint(0, june_bottom + 2 * HEADER_HEIGHT + CELL.height())
    # A click on a header (anywhere across its width) is on no photo; just below it, the month's first.
    assert not view.indexAt(QPoint(450, june_bottom + 5)).isValid()
    assert view.indexAt(QPoint(5, june_bottom + HEADER_HEIGHT + 5)).row() == may
    # Right of June's last photo on its short line: nothing.
    assert not view.indexAt(QPoint(250, HEADER_HEIGHT + CELL.height() + 5)).isValid()


def test_without_a_timeline_the_cells_flow_on_with_no_headers(make_view):
    view = make_view(month_counts_dates([("2024-06", 7), ("2024-05", 3)]), timeline=False)
    assert view.header_height == 0 and view.sticky() is None
    assert rect_of(view, 7).topLeft() == QPoint(2 * CELL.width(), CELL.height())  # May continues June's line


def test_sticky_header_follows_the_scroll_and_is_pushed_up_by_the_next_month(make_view):
    view = make_view(month_counts_dates([("2024-06", 25), ("2024-05", 25), ("2024-04", 25)]))
    bar = view.verticalScrollBar()
    month = HEADER_HEIGHT + 5 * CELL.height()  # 25 photos in 5 columns: 5 lines
    assert view.sticky() == ("June 2024", 0)
    bar.setValue(month - HEADER_HEIGHT - 10)  # May's header is 10 px below the top's header room
    assert view.sticky() == ("June 2024", 0)
    bar.setValue(month - 15)  # May's header is 15 px from the top: June's is pushed up by 25 px
    assert view.sticky() == ("June 2024", 15 - HEADER_HEIGHT)
    bar.setValue(month)  # May's header reached the top: it is the pinned one now
    assert view.sticky() == ("May 2024", 0)
    bar.setValue(month + 3 * CELL.height())
    assert view.sticky() == ("May 2024", 0)
    assert view.top_row() == 25 + 3 * 5  # the line just under the pinned header: May's fourth
    bar.setValue(bar.maximum())
    assert view.sticky()[0] == "April 2024"


def test_jumping_to_a_month_shows_its_header_at_the_top(make_view):
    view = make_view(month_counts_dates([("2024-06", 25), ("2024-05", 25), ("2024-04", 25), ("2024-03", 25)]))
    view.scrollTo(view.model().index(25, 0), QAbstractItemView.ScrollHint.PositionAtTop)
    assert view.verticalScrollBar().value() == HEADER_HEIGHT + 5 * CELL.height()
    assert view.sticky() == ("May 2024", 0) and view.top_row() == 25
    # A row further down its month goes just under the pinned header, not beneath it.
    view.scrollTo(view.model().index(25 + 10, 0), QAbstractItemView.ScrollHint.PositionAtTop)
    assert rect_of(view, 35).top() == HEADER_HEIGHT


def test_arrow_keys_cross_months_by_line_and_keep_the_column(make_view):
    view = make_view(month_counts_dates([("2024-06", 7), ("2024-05", 3)]))
    model = view.model()
    view.setCurrentIndex(model.index(3, 0))  # June, line 0, column 3
    assert view.moveCursor(QAbstractItemView.CursorAction.MoveDown, Qt.KeyboardModifier.NoModifier).row() == 6  # short line: its last
    view.setCurrentIndex(model.index(6, 0))
    assert view.moveCursor(QAbstractItemView.CursorAction.MoveDown, Qt.KeyboardModifier.NoModifier).row() == 8  # May, column 1 -> clamped
    view.setCurrentIndex(model.index(8, 0))
    assert view.moveCursor(QAbstractItemView.CursorAction.MoveUp, Qt.KeyboardModifier.NoModifier).row() == 6
    assert view.moveCursor(QAbstractItemView.CursorAction.MoveEnd, Qt.KeyboardModifier.NoModifier).row() == 9


def test_a_rubber_band_selects_the_photos_it_covers_and_not_the_headers(make_view):
    view = make_view(month_counts_dates([("2024-06", 7), ("2024-05", 3)]))
    # From June's second line, over May's header, into May's line: columns 0-1.
    view.setSelection(
        QRect(10, HEADER_HEIGHT + CELL.height() + 10, 150, 2 * CELL.height()), QItemSelectionModel.SelectionFlag.ClearAndSelect
    )
    rows = sorted(i.row() for i in view.selectionModel().selectedIndexes())
    assert rows == [5, 6, 7, 8]


def test_at_100k_rows_painting_asks_only_the_visible_rows_for_thumbnails(make_view, qtbot):
    months = [(f"{2024 - m // 12:04d}-{12 - m % 12:02d}", 250) for m in range(400)]
    view = make_view(month_counts_dates(months), width=1000, height=700)
    model = view.model()
    bar = view.verticalScrollBar()
    for value in (0, bar.maximum() // 3, bar.maximum()):
        model.thumbnail_rows.clear()
        bar.setValue(value)
        view.viewport().update()
        qtbot.waitUntil(lambda: bool(model.thumbnail_rows))  # painted
        visible = {r for r in model.thumbnail_rows if rect_of(view, r).intersects(view.viewport().rect())}
        assert model.thumbnail_rows == visible
        assert len(model.thumbnail_rows) <= 10 * (700 // CELL.height() + 2)  # one screen of cells, never the library
    assert view.sticky()[0] == "September 1991"  # the last month (400 months back from December 2024)
