"""How a month's header row in the photo grid looks: the month on the left, its count on the right.

Apart from photo_grid_view.py, which decides where headers go (the layout arithmetic);
this only paints one, in the place it is given.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QWidget

from photoclip.app.words import plural

HEADER_HEIGHT = 40  # px of a month's header row


def paint_month_header(painter: QPainter, view: QWidget, box: QRect, label: str | None, count: int, *, sticky: bool) -> None:
    """Paint one header in `box` (viewport coordinates) with `view`'s palette and font.

    A sticky header (pinned at the top while its month scrolls under it) gets a hairline
    under it, so the photos are seen to slide beneath.
    """
    palette = view.palette()
    painter.fillRect(box, palette.color(QPalette.ColorRole.Base))
    font = QFont(view.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.2)
    painter.setFont(font)
    painter.setPen(palette.color(QPalette.ColorRole.Text))
    text_box = box.adjusted(10, 4, -10, 0)
    painter.drawText(text_box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label or "")
    painter.setFont(QFont(view.font()))
    faint = QColor(palette.color(QPalette.ColorRole.Text))
    faint.setAlpha(140)
    painter.setPen(faint)
    painter.drawText(text_box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, plural(count, "photo"))
    if sticky:
        painter.fillRect(QRect(0, box.bottom(), box.width(), 1), QColor(palette.color(QPalette.ColorRole.Mid)))
