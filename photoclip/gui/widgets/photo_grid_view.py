"""The photo grid: one lazy item view of equal cells in rows, under full-width month headers when sorted by date.

Why a QAbstractItemView of our own rather than QListView: QListView's icon mode stays cheap
at 100k photos only while every cell has one size (its uniform-size path). A header that
spans the grid's width would have to be an item of its own with its own size, and then
QListView asks every one of the 100k items for its size on each relayout (a Python call
each), and the headers would shift the model's rows, by which the whole window addresses
its photos. Here the layout is arithmetic over the month sections (a few hundred): a
section's top is a running sum, a photo's cell is divmod(row - first_row, columns), and
painting asks the delegate only for the rows that meet the viewport, so only those rows'
thumbnails are ever requested. The sticky header is painted over the cells after them
(no widget), and the next month's header pushes it up as it scrolls in.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent, QPalette, QRegion, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyleOptionViewItem, QWidget

from photoclip.gui.models.timeline import Timeline
from photoclip.gui.widgets.month_header import HEADER_HEIGHT, paint_month_header

Index = QModelIndex | QPersistentModelIndex
_ACTION = QAbstractItemView.CursorAction


@dataclass(frozen=True)
class _Section:
    first_row: int
    count: int
    label: str | None  # None: no header (not sorted by date)
    top: int  # content y of its header (or of its first cell when it has none)
    lines: int


class PhotoGridView(QAbstractItemView):
    """The grid of photo cells; `set_timeline` adds a header row before each month."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cell = QSize(172, 210)
        self._columns = 1
        self._timeline: Timeline | None = None
        self._sections: list[_Section] = []
        self._tops: list[int] = []
        self._first_rows: list[int] = []
        self._header = 0
        self._total_height = 0
        self._hover = -1  # the row under the pointer
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    # -- what QListView offered that the window uses ------------------------------------

    def gridSize(self) -> QSize:
        return QSize(self._cell)

    def setGridSize(self, size: QSize) -> None:
        if size != self._cell and size.width() > 0 and size.height() > 0:
            self._cell = QSize(size)
            self._relayout()

    def set_timeline(self, timeline: Timeline | None) -> None:
        """Month headers for these sections (the model's rows, sorted by date), or none."""
        self._timeline = timeline
        self._relayout()

    @property
    def timeline(self) -> Timeline | None:
        return self._timeline

    @property
    def header_height(self) -> int:
        """The height of a month's header (0 while the grid shows no timeline)."""
        return self._header

    # -- layout ------------------------------------------------------------------------

    def _rows(self) -> int:
        model = self.model()
        return model.rowCount(self.rootIndex()) if model is not None else 0

    def _relayout(self) -> None:
        rows = self._rows()
        timeline = self._timeline if self._timeline is not None and self._timeline.rows == rows else None
        self._columns = max(1, self.viewport().width() // max(1, self._cell.width()))
        self._header = HEADER_HEIGHT if timeline is not None else 0
        parts = [(s.first_row, s.count, s.label) for s in timeline.sections] if timeline else ([(0, rows, None)] if rows else [])
        sections: list[_Section] = []
        y = 0
        for first, count, label in parts:
            lines = -(-count // self._columns)
            sections.append(_Section(first, count, label, y, lines))
            y += self._header + lines * self._cell.height()
        self._sections = sections
        self._tops = [s.top for s in sections]
        self._first_rows = [s.first_row for s in sections]
        self._total_height = y
        self.updateGeometries()
        self.viewport().update()

    def _section_of_row(self, row: int) -> int:
        return bisect.bisect_right(self._first_rows, row) - 1

    def _section_at_y(self, y: int) -> int:
        """The section whose header or cells cover content y (clamped to the first and last)."""
        return max(0, min(len(self._sections) - 1, bisect.bisect_right(self._tops, y) - 1))

    def _content_rect(self, row: int) -> QRect:
        section = self._sections[self._section_of_row(row)]
        line, column = divmod(row - section.first_row, self._columns)
        w, h = self._cell.width(), self._cell.height()
        return QRect(column * w, section.top + self._header + line * h, w, h)

    def _row_in_line(self, index: int, line: int, column: int) -> int:
        """The row at (line, column) of a section, the line's last photo if the line is shorter."""
        section = self._sections[index]
        line = max(0, min(section.lines - 1, line))
        start = section.first_row + line * self._columns
        return min(start + max(0, column), section.first_row + section.count - 1)

    def _offset(self) -> int:
        return self.verticalScrollBar().value()

    def updateGeometries(self) -> None:
        bar = self.verticalScrollBar()
        page = self.viewport().height()
        bar.setRange(0, max(0, self._total_height - page))
        bar.setPageStep(page)
        bar.setSingleStep(max(1, self._cell.height() // 4))
        super().updateGeometries()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._relayout()

    def doItemsLayout(self) -> None:
        super().doItemsLayout()
        self._relayout()

    def reset(self) -> None:
        super().reset()
        self._hover = -1
        self._relayout()

    def rowsInserted(self, parent: Index, start: int, end: int) -> None:
        super().rowsInserted(parent, start, end)
        self._relayout()

    def setModel(self, model: object) -> None:
        super().setModel(model)  # type: ignore[arg-type]
        if self.model() is not None:
            self.model().rowsRemoved.connect(self._relayout)
            self.model().layoutChanged.connect(self._relayout)
        self._relayout()

    # -- the item view's contract ---------------------------------------------------------

    def visualRect(self, index: Index) -> QRect:
        if not index.isValid() or not 0 <= index.row() < self._rows() or not self._sections:
            return QRect()
        return self._content_rect(index.row()).translated(0, -self._offset())

    def indexAt(self, point: QPoint) -> QModelIndex:
        model = self.model()
        if model is None or not self._sections or point.x() < 0:
            return QModelIndex()
        y = point.y() + self._offset()
        if y < 0 or y >= self._total_height:
            return QModelIndex()
        section = self._sections[self._section_at_y(y)]
        inside = y - section.top - self._header
        column = point.x() // self._cell.width()
        if inside < 0 or column >= self._columns:
            return QModelIndex()  # on a header, or right of the last column
        row = section.first_row + (inside // self._cell.height()) * self._columns + column
        return model.index(row, 0, self.rootIndex()) if row < section.first_row + section.count else QModelIndex()

    def top_row(self) -> int:
        """The first row whose cell shows below the (sticky) header at the top of the view."""
        if not self._sections:
            return 0
        y = self._offset() + self._header
        index = self._section_at_y(y)
        section = self._sections[index]
        inside = y - section.top - self._header
        if inside < 0:
            return section.first_row
        return self._row_in_line(index, inside // self._cell.height(), 0)

    def sticky(self) -> tuple[str, int] | None:
        """The month pinned at the top, and its y (below 0 while the next month's header pushes it up)."""
        if not self._header or not self._sections:
            return None
        offset = self._offset()
        index = self._section_at_y(offset)
        label = self._sections[index].label
        if label is None:
            return None
        y = 0
        if index + 1 < len(self._sections):
            y = min(0, self._sections[index + 1].top - offset - self._header)
        return label, y

    def scrollTo(self, index: Index, hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible) -> None:
        if not index.isValid() or not self._sections or not 0 <= index.row() < self._rows():
            return
        rect = self._content_rect(index.row())
        section = self._sections[self._section_of_row(index.row())]
        # A photo on its month's first line is shown with the month's header; others below the sticky one.
        top = section.top if rect.top() == section.top + self._header else rect.top() - self._header
        page = self.viewport().height()
        offset = self._offset()
        hints = QAbstractItemView.ScrollHint
        if hint == hints.PositionAtTop:
            target = top
        elif hint == hints.PositionAtBottom:
            target = rect.bottom() + 1 - page
        elif hint == hints.PositionAtCenter:
            target = rect.center().y() - page // 2
        elif top < offset:
            target = top
        elif rect.bottom() + 1 > offset + page:
            target = max(top, rect.bottom() + 1 - page) if rect.height() < page else top
        else:
            return
        self.verticalScrollBar().setValue(target)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        # Move the drawn cells (cheap), then repaint the strip the sticky header covered before and after.
        self.viewport().scroll(dx, dy)
        if self._header:
            self.viewport().update(QRect(0, 0, self.viewport().width(), self._header + abs(dy)))

    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self._offset()

    def isIndexHidden(self, index: Index) -> bool:
        return False

    def moveCursor(self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier) -> QModelIndex:
        model = self.model()
        rows = self._rows()
        if model is None or not rows:
            return QModelIndex()
        current = self.currentIndex()
        if not current.isValid():
            return model.index(0, 0, self.rootIndex())
        row = current.row()
        index = self._section_of_row(row)
        section = self._sections[index]
        line, column = divmod(row - section.first_row, self._columns)
        if action in (_ACTION.MoveLeft, _ACTION.MovePrevious):
            row -= 1
        elif action in (_ACTION.MoveRight, _ACTION.MoveNext):
            row += 1
        elif action == _ACTION.MoveUp:
            if line > 0:
                row = self._row_in_line(index, line - 1, column)
            elif index > 0:
                row = self._row_in_line(index - 1, self._sections[index - 1].lines - 1, column)
        elif action == _ACTION.MoveDown:
            if line < section.lines - 1:
                row = self._row_in_line(index, line + 1, column)
            elif index + 1 < len(self._sections):
                row = self._row_in_line(index + 1, 0, column)
        elif action in (_ACTION.MovePageUp, _ACTION.MovePageDown):
            step = self.viewport().height() * (-1 if action == _ACTION.MovePageUp else 1)
            y = max(0, min(self._total_height - 1, self._content_rect(row).center().y() + step))
            target = self._section_at_y(y)
            inside = max(0, y - self._sections[target].top - self._header)
            row = self._row_in_line(target, inside // self._cell.height(), column)
        elif action == _ACTION.MoveHome:
            row = 0
        elif action == _ACTION.MoveEnd:
            row = rows - 1
        return model.index(max(0, min(rows - 1, row)), 0, self.rootIndex())

    def _rows_in(self, rect: QRect) -> list[tuple[int, int]]:
        """(first, last) rows of each line's cells that meet a rectangle of the viewport."""
        if not self._sections or rect.isEmpty():
            return []
        offset = self._offset()
        top, bottom = rect.top() + offset, rect.bottom() + offset
        first_col = max(0, rect.left() // self._cell.width())
        last_col = min(self._columns - 1, rect.right() // self._cell.width())
        if last_col < first_col:
            return []
        runs: list[tuple[int, int]] = []
        for index in range(self._section_at_y(max(0, top)), len(self._sections)):
            section = self._sections[index]
            if section.top > bottom:
                break
            cells_top = section.top + self._header
            first_line = max(0, (top - cells_top) // self._cell.height())
            last_line = min(section.lines - 1, (bottom - cells_top) // self._cell.height())
            end = section.first_row + section.count - 1
            for line in range(first_line, last_line + 1):
                start = section.first_row + line * self._columns
                a, b = start + first_col, min(start + last_col, end)
                if a <= b:
                    runs.append((a, b))
        return runs

    def setSelection(self, rect: QRect, command: QItemSelectionModel.SelectionFlag) -> None:
        model, selection_model = self.model(), self.selectionModel()
        if model is None or selection_model is None:
            return
        selection = QItemSelection()
        for a, b in self._rows_in(rect.normalized()):
            selection.select(model.index(a, 0, self.rootIndex()), model.index(b, 0, self.rootIndex()))
        selection_model.select(selection, command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        # Selections can hold 100k rows (Select all): repaint the viewport rather than sum their cells.
        return QRegion(self.viewport().rect()) if not selection.isEmpty() else QRegion()

    # -- hover -----------------------------------------------------------------------------

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._set_hover(self.indexAt(event.position().toPoint()))
        super().mouseMoveEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Leave:
            self._set_hover(QModelIndex())
        return super().viewportEvent(event)

    def _set_hover(self, index: QModelIndex) -> None:
        row = index.row() if index.isValid() else -1
        if row == self._hover:
            return
        model = self.model()
        for old_or_new in (self._hover, row):
            if old_or_new >= 0 and model is not None:
                self.viewport().update(self.visualRect(model.index(old_or_new, 0, self.rootIndex())))
        self._hover = row

    # -- painting ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        model, delegate = self.model(), self.itemDelegate()
        area = event.rect()
        painter.fillRect(area, self.palette().color(QPalette.ColorRole.Base))
        if model is None or delegate is None or not self._sections:
            painter.end()
            return
        offset = self._offset()
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        base_state = option.state & ~(QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_MouseOver | QStyle.StateFlag.State_HasFocus)
        selection = self.selectionModel()
        current = self.currentIndex()
        for a, b in self._rows_in(area):
            for row in range(a, b + 1):
                index = model.index(row, 0, self.rootIndex())
                option.rect = self._content_rect(row).translated(0, -offset)
                state = base_state
                if selection is not None and selection.isSelected(index):
                    state |= QStyle.StateFlag.State_Selected
                if row == self._hover:
                    state |= QStyle.StateFlag.State_MouseOver
                if index == current and self.hasFocus():
                    state |= QStyle.StateFlag.State_HasFocus
                option.state = state
                delegate.paint(painter, option, index)
        if self._header:
            for number in range(self._section_at_y(max(0, area.top() + offset)), len(self._sections)):
                section = self._sections[number]
                y = section.top - offset
                if y > area.bottom():
                    break
                paint_month_header(
                    painter, self, QRect(0, y, self.viewport().width(), self._header), section.label, section.count, sticky=False
                )
            pinned = self.sticky()
            if pinned is not None:
                section = self._sections[self._section_at_y(offset)]
                paint_month_header(
                    painter, self, QRect(0, pinned[1], self.viewport().width(), self._header), section.label, section.count, sticky=True
                )
        painter.end()

    def _header_at(self, painter: QPainter, y: int, section: _Section, *, sticky: bool) -> None:
        box = QRect(0, y, self.viewport().width(), self._header)
        paint_month_header(painter, self, box, section.label, section.count, sticky=sticky)
