"""How one grid cell is painted: the thumbnail, its name, its place in a search, a file-date mark."""

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

from photoclip.gui.models import FAILED_ROLE, PHOTO_ROLE, RANK_ROLE

TEXT_LINE = 18  # px under each thumbnail for the file name
FILE_DATE_MARK = "file date"  # on photos whose date is the file's: no date inside the photo


class PhotoDelegate(QStyledItemDelegate):
    """Paints one grid cell: thumbnail (or placeholder), file name, rank badge, file-date mark."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.edge = 160

    def cell_size(self) -> QSize:
        return QSize(self.edge + 12, self.edge + TEXT_LINE + 14)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return self.cell_size()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        rect = option.rect.adjusted(3, 3, -3, -3)
        palette = option.palette
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
        rank = model.data(index, RANK_ROLE)
        if rank is not None:
            self._badge(painter, drawn, f"#{rank}")  # on the photo's own corner
        photo = model.data(index, PHOTO_ROLE)
        if photo is not None and photo.taken_at and photo.taken_source == "mtime":
            self._badge(painter, drawn, FILE_DATE_MARK, bottom=True)
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

    def _badge(self, painter: QPainter, box: QRect, text: str, *, bottom: bool = False) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        font.setBold(True)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(text) + 10
        height = painter.fontMetrics().height() + 4
        badge = QRect(box.left() + 4, box.bottom() - 4 - height if bottom else box.top() + 4, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(badge, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)


# -- query chips ------------------------------------------------------------------
