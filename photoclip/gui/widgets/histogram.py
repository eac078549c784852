"""A label's score histogram with its threshold line (the Labels dialog's main view)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QSizePolicy,
    QWidget,
)

BINS = 40


class HistogramWidget(QWidget):
    """Bars per score bin and a vertical line at the threshold; a message when there is no data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts: list[int] = []
        self.edges: list[float] = []
        self.threshold: float | None = None
        self.message = ""
        self.setMinimumSize(320, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, counts: list[int], edges: list[float], threshold: float | None) -> None:
        self.counts, self.edges, self.threshold, self.message = list(counts), list(edges), threshold, ""
        self.update()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self.update()

    def set_message(self, text: str) -> None:
        self.counts, self.edges, self.threshold, self.message = [], [], None, text
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        painter.fillRect(self.rect(), self.palette().base())
        if self.message or not self.counts:
            painter.setPen(self.palette().text().color())
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            return
        # The score range under the bars: raw cosine scores mean little without their span.
        axis = area.adjusted(0, area.height() - 14, 0, 0)
        area = area.adjusted(0, 0, 0, -16)
        painter.setPen(self.palette().text().color())
        painter.drawText(axis, Qt.AlignmentFlag.AlignLeft, f"{self.edges[0]:.3f}")
        painter.drawText(axis, Qt.AlignmentFlag.AlignRight, f"{self.edges[-1]:.3f}")
        painter.drawText(axis, Qt.AlignmentFlag.AlignHCenter, "score")
        top = max(self.counts) or 1
        width = area.width() / len(self.counts)
        bar = self.palette().highlight().color()
        for i, count in enumerate(self.counts):
            h = area.height() * count / top
            painter.fillRect(QRectF(area.left() + i * width, area.bottom() - h, max(width - 1, 1), h), bar)
        lo, hi = self.edges[0], self.edges[-1]
        if self.threshold is not None and hi > lo:
            # Clipped to the plot: a threshold outside the scores still shows at the edge it is past.
            x = area.left() + area.width() * min(max((self.threshold - lo) / (hi - lo), 0.0), 1.0)
            painter.setPen(QPen(QColor(220, 40, 40), 2))
            painter.drawLine(int(x), int(area.top()), int(x), int(area.bottom()))
