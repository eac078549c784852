"""The timeline's scrubber: the years beside the grid, to jump through them.

It only reads a `Timeline` (a few hundred sections) and the grid's scroll position, so
it costs the same at 100 photos and at 100,000.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from photoclip.gui.models.timeline import DATES_BEING_READ, READING_MARK, Timeline
from photoclip.gui.qtcompat import emit

SCRUBBER_WIDTH = 58
MARGIN = 8  # px above the first and below the last year, so their labels are never cut
JUMP_TIP = "Jump through the years: click or drag"


class DragBubble(QLabel):
    """The month and year under the pointer while dragging ("December 2022"), beside the
    scrubber and sized to its text: it floats over the window, because the scrubber itself
    is too narrow for it (drawn inside, it read "Decem…" with no year)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        palette = parent.palette()
        background = palette.color(QPalette.ColorRole.Highlight).name()
        text = palette.color(QPalette.ColorRole.HighlightedText).name()
        self.setStyleSheet(f"QLabel {{ background: {background}; color: {text}; border-radius: 4px; padding: 2px 8px; }}")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.hide()

    def show_at(self, text: str, right: QPoint) -> None:
        """Show `text` with its right edge's middle at `right` (the window's coordinates),
        kept inside the window."""
        self.setText(text)
        self.adjustSize()
        window = self.parentWidget()
        assert window is not None
        x = max(0, min(right.x() - self.width(), window.width() - self.width()))
        y = max(0, min(right.y() - self.height() // 2, window.height() - self.height()))
        self.move(x, y)
        self.raise_()
        self.show()


class TimelineScrubber(QWidget):
    """Years down the side of the grid, placed where their photos are; click or drag to jump.

    The whole height stands for all rows, so a year with many photos takes much room
    and a thin year still gets a tick. While dragging, the month under the pointer is
    shown next to it.
    """

    jump = Signal(int)  # the row to bring into view

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timeline: Timeline | None = None
        self._current_row = 0
        self._drag_row: int | None = None
        self._bubble: DragBubble | None = None
        self.setFixedWidth(SCRUBBER_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(JUMP_TIP)

    def sizeHint(self) -> QSize:
        return QSize(SCRUBBER_WIDTH, 200)

    def set_timeline(self, timeline: Timeline | None) -> None:
        self.timeline = timeline
        self._current_row = 0
        # The narrow strip shows "…" for photos whose dates are still being read: say so on hover.
        reading = timeline is not None and any(mark.label == READING_MARK for mark in timeline.years())
        self.setToolTip(f"{DATES_BEING_READ} Jump through the years: click or drag" if reading else JUMP_TIP)
        self.update()

    @property
    def current_row(self) -> int:
        """The row the marker stands for."""
        return self._current_row

    def set_current_row(self, row: int) -> None:
        if row != self._current_row:
            self._current_row = row
            self.update()

    # -- geometry ------------------------------------------------------------------

    def _span(self) -> tuple[int, int]:
        return MARGIN, max(1, self.height() - 2 * MARGIN)

    def y_of(self, row: int) -> int:
        top, height = self._span()
        rows = self.timeline.rows if self.timeline else 0
        return top + (round(row / rows * height) if rows else 0)

    def row_at(self, y: float) -> int:
        top, height = self._span()
        rows = self.timeline.rows if self.timeline else 0
        if not rows:
            return 0
        return max(0, min(rows - 1, int((y - top) / height * rows)))

    # -- painting ----------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Window))
        if self.timeline is None or not self.timeline.rows:
            painter.end()
            return
        text_colour = palette.color(QPalette.ColorRole.WindowText)
        faint = QColor(text_colour)
        faint.setAlpha(90)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        line_height = painter.fontMetrics().height()
        last_label_bottom = -line_height
        for mark in self.timeline.years():
            y = self.y_of(mark.first_row)
            painter.setPen(faint)
            painter.drawLine(self.width() - 10, y, self.width() - 2, y)
            # A label only where it does not run into the one above: thin years keep their tick.
            if y - line_height // 2 >= last_label_bottom + 2:
                painter.setPen(text_colour)
                box = QRect(2, y - line_height // 2, self.width() - 14, line_height)
                painter.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, mark.label)
                last_label_bottom = box.bottom()
        # Where the grid is now.
        highlight = palette.color(QPalette.ColorRole.Highlight)
        y = self.y_of(self._drag_row if self._drag_row is not None else self._current_row)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(highlight)
        painter.drawRoundedRect(QRect(self.width() - 12, y - 2, 12, 4), 2, 2)
        painter.end()

    def bubble(self) -> DragBubble:
        """The drag bubble, made on the window the scrubber is in when first needed."""
        if self._bubble is None or self._bubble.parentWidget() is not self.window():
            self._bubble = DragBubble(self.window())
        return self._bubble

    def _show_bubble(self, row: int) -> None:
        section = self.timeline.section_at(row) if self.timeline is not None else None
        if section is None or self.window() is self:
            return
        self.bubble().show_at(section.label, self.mapTo(self.window(), QPoint(self.width() - 14, self.y_of(row))))

    # -- mouse ---------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.timeline is not None and self.timeline.rows:
            self._go(event.position().y())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and self._drag_row is not None:
            self._go(event.position().y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_row = None
        if self._bubble is not None:
            self._bubble.hide()
        self.update()

    def _go(self, y: float) -> None:
        assert self.timeline is not None
        row = self.row_at(y)
        # Jump to the start of the month under the pointer: the header is then at the top.
        section = self.timeline.section_at(row)
        target = section.first_row if section is not None else row
        self._drag_row = row
        self._current_row = target
        self._show_bubble(row)
        self.update()
        emit(self.jump, target)
