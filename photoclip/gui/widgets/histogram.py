"""A label's score histogram with its threshold line (the Labels dialog's main view).

Over the bars goes the shape the calibration fitted to the scores (`ScoreShape.density`,
scaled to photos per bar), and above them one or two sentences saying, in a
photographer's words, why the calibrated line is where it is (`shape_text`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QSizePolicy,
    QWidget,
)

from photoclip.app.words import plural
from photoclip.core.tagging import LabelScores
from photoclip.core.tagging.thresholds import SMALL_LIBRARY, ScoreShape

BINS = 40
CURVE_POINTS = 160
CURVE_COLOR = QColor(230, 140, 20)  # orange: apart from the bars (highlight) and the line (red)
LINE_COLOR = QColor(220, 40, 40)
# A narrow fitted group can peak far above its bars; past this many times the tallest bar
# the curve is clipped rather than squashing the bars flat.
CURVE_HEADROOM = 1.5


def shape_text(scores: LabelScores) -> str:
    """Why the calibrated line is where it is, for the caption over the histogram ("" without scores)."""
    shape = scores.stats.shape
    if shape is None or not len(scores.scores):
        return ""
    text = explain_shape(shape, len(scores.scores), scores.label.leaf)
    if scores.label.threshold_source == "user":
        text += " You moved the line by hand: “Reset to calibrated” puts it back where the scores place it."
    elif scores.label.threshold_source == "adjusted":
        text += " Your yes/no answers about photos have moved the line since."
    return text


def explain_shape(shape: ScoreShape, photos: int, name: str) -> str:
    """The shape of one label's scores over `photos` photos, as a photographer would say it."""
    if shape.groups == 2 and shape.high_share is not None:
        alike = round(shape.high_share * photos)
        return f"Two groups found: {plural(alike, 'photo')} look like “{name}”. The line sits where it best separates the two."
    if photos < SMALL_LIBRARY:
        # Why, not only what: the old tail rule (median + 3 spreads) tags only the standouts.
        return (
            f"Small library: the line is a first guess. With {plural(photos, 'photo')} the scores cannot show a group "
            f"of “{name}” photos (that takes about {SMALL_LIBRARY} photos), so it tags only the photos that "
            "score well above most of your photos. It is set again as you add photos."
        )
    if shape.standouts:
        return "A few photos stand out above the rest: the line sits just under them."
    return "No group of photos stands out: nothing is tagged until you move the line or confirm a few photos."


class HistogramWidget(QWidget):
    """Bars per score bin, the fitted shape, a vertical line at the threshold, and a caption;
    a message instead when there is no data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts: list[int] = []
        self.edges: list[float] = []
        self.threshold: float | None = None
        self.message = ""
        self.shape: ScoreShape | None = None
        self.photos = 0  # photos the shape is scaled to (the bars' total)
        self.explanation = ""
        self.setMinimumSize(320, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, counts: list[int], edges: list[float], threshold: float | None) -> None:
        self.counts, self.edges, self.threshold, self.message = list(counts), list(edges), threshold, ""
        self.shape, self.photos, self.explanation = None, 0, ""
        self.setToolTip("")
        self.update()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self.update()

    def set_shape(self, shape: ScoreShape | None, photos: int, explanation: str) -> None:
        """The fitted shape over the bars (after set_data) and the caption saying why the line is there."""
        self.shape, self.photos, self.explanation = shape, photos, explanation
        self.setToolTip(explanation)
        self.update()

    def set_message(self, text: str) -> None:
        self.counts, self.edges, self.threshold, self.message = [], [], None, text
        self.shape, self.photos, self.explanation = None, 0, ""
        self.setToolTip("")
        self.update()

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """The fitted shape as (score, expected photos per bar) points across the bars' range."""
        if self.shape is None or len(self.edges) < 2 or not self.counts or self.photos <= 0:
            return np.empty(0), np.empty(0)
        lo, hi = self.edges[0], self.edges[-1]
        if not hi > lo:
            return np.empty(0), np.empty(0)
        xs = np.linspace(lo, hi, CURVE_POINTS)
        per_bar = self.shape.density(xs) * self.photos * (hi - lo) / len(self.counts)
        return xs, np.nan_to_num(per_bar, nan=0.0, posinf=0.0)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        painter.fillRect(self.rect(), self.palette().base())
        text_color = self.palette().text().color()
        if self.message or not self.counts:
            painter.setPen(text_color)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            return
        if self.explanation:
            # The caption above the plot, wrapped to the width: why the line is where it is.
            flags = Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap
            room = QFontMetrics(self.font()).boundingRect(QRect(0, 0, int(area.width()), 1000), flags, self.explanation)
            painter.setPen(text_color)
            painter.drawText(area, flags, self.explanation)
            area = area.adjusted(0, room.height() + 6, 0, 0)
        # The score range under the bars: raw cosine scores mean little without their span.
        axis = area.adjusted(0, area.height() - 14, 0, 0)
        area = area.adjusted(0, 0, 0, -16)
        painter.setPen(text_color)
        painter.drawText(axis, Qt.AlignmentFlag.AlignLeft, f"{self.edges[0]:.3f}")
        painter.drawText(axis, Qt.AlignmentFlag.AlignRight, f"{self.edges[-1]:.3f}")
        painter.drawText(axis, Qt.AlignmentFlag.AlignHCenter, "score")
        xs, ys = self.curve()
        tallest = max(self.counts) or 1
        top = float(max(tallest, min(float(ys.max()) if ys.size else 0.0, CURVE_HEADROOM * tallest)))
        width = area.width() / len(self.counts)
        bar = self.palette().highlight().color()
        for i, count in enumerate(self.counts):
            h = area.height() * count / top
            painter.fillRect(QRectF(area.left() + i * width, area.bottom() - h, max(width - 1, 1), h), bar)
        lo, hi = self.edges[0], self.edges[-1]
        if xs.size and hi > lo:
            path = QPainterPath()
            for k, (x, y) in enumerate(zip(xs, ys)):
                point = QPointF(area.left() + area.width() * (x - lo) / (hi - lo), area.bottom() - area.height() * min(y / top, 1.0))
                path.moveTo(point) if k == 0 else path.lineTo(point)
            painter.setPen(QPen(CURVE_COLOR, 2))
            painter.drawPath(path)
        if self.threshold is not None and hi > lo:
            # Clipped to the plot: a threshold outside the scores still shows at the edge it is past.
            x = area.left() + area.width() * min(max((self.threshold - lo) / (hi - lo), 0.0), 1.0)
            painter.setPen(QPen(LINE_COLOR, 2))
            painter.drawLine(int(x), int(area.top()), int(x), int(area.bottom()))
