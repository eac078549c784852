"""How one grid cell is painted: the thumbnail, its name and score."""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from photoclip.app.words import score_text
from photoclip.gui.models import FAILED_ROLE, SCORE_ROLE
from photoclip.gui.models.timeline import Timeline

TEXT_LINE = 18  # px under each thumbnail for the file name
MONTH_BAND = 24  # px above each cell in the timeline, where a month's first photo shows its month


class PhotoDelegate(QStyledItemDelegate):
    """Paints one grid cell: thumbnail (or placeholder), file name, score badge."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.edge = 160
        # Set while the grid shows photos by date: every cell gets a band on top (one size for
        # all cells keeps the grid's layout O(1)), and a month's first photo names the month in it.
        self.timeline: Timeline | None = None

    def cell_size(self) -> QSize:
        band = MONTH_BAND if self.timeline is not None else 0
        return QSize(self.edge + 12, self.edge + TEXT_LINE + 14 + band)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.cell_size()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        rect = option.rect.adjusted(3, 3, -3, -3)
        palette = option.palette
        if self.timeline is not None:
            self._month_band(painter, rect, palette, self.timeline.label_at(index.row()))
            rect.setTop(rect.top() + MONTH_BAND)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(rect, 6, 6)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
            painter.drawRoundedRect(rect, 6, 6)
        image_box = QRect(rect.left() + 3, rect.top() + 3, rect.width() - 6, self.edge)
        # Ask the Python model directly: no QVariant round trip (faster, and it avoids a
        # reference bug of PySide 6.12's QVariant conversion, see qtcompat).
        model = index.model()
        pixmap = model.data(index, Qt.ItemDataRole.DecorationRole)
        drawn = image_box
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            size = pixmap.size().scaled(image_box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            drawn = QRect(0, 0, size.width(), size.height())
            drawn.moveCenter(image_box.center())
            painter.drawPixmap(drawn, pixmap)
        else:
            self._placeholder(painter, image_box, palette, bool(model.data(index, FAILED_ROLE)))
        text_rect = QRect(rect.left() + 4, image_box.bottom() + 4, rect.width() - 8, TEXT_LINE)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(palette.color(role))
        name = option.fontMetrics.elidedText(
            str(model.data(index, Qt.ItemDataRole.DisplayRole) or ""), Qt.TextElideMode.ElideMiddle, text_rect.width()
        )
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, name)
        score = model.data(index, SCORE_ROLE)
        if score is not None:
            self._badge(painter, drawn, score_text(score))  # on the photo's own corner
        painter.restore()

    def _month_band(self, painter: QPainter, rect: QRect, palette: QPalette, label: str | None) -> None:
        if label is None:
            return
        painter.save()
        band = QRect(rect.left(), rect.top(), rect.width(), MONTH_BAND - 4)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        text = painter.fontMetrics().elidedText(label, Qt.TextElideMode.ElideRight, band.width() - 8)
        painter.drawText(band.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        # A short rule under the name marks where the month begins, even mid-row.
        accent = palette.color(QPalette.ColorRole.Highlight)
        painter.fillRect(QRect(band.left() + 4, band.bottom() + 1, min(band.width() - 8, 40), 2), accent)
        painter.restore()

    def _placeholder(self, painter: QPainter, box: QRect, palette: QPalette, failed: bool) -> None:
        inner = box.adjusted(box.width() // 10, box.height() // 10, -box.width() // 10, -box.height() // 10)
        painter.setPen(Qt.PenStyle.NoPen)
        base = palette.color(QPalette.ColorRole.Mid)
        base.setAlpha(60)
        painter.setBrush(base)
        painter.drawRoundedRect(inner, 8, 8)
        if failed:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(inner, Qt.AlignmentFlag.AlignCenter, "no preview")

    def _badge(self, painter: QPainter, box: QRect, text: str) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        font.setBold(True)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(text) + 10
        badge = QRect(box.left() + 4, box.top() + 4, width, painter.fontMetrics().height() + 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(badge, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)


# -- query chips ------------------------------------------------------------------
