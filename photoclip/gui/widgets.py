"""Small widgets: the grid's cell painter, query chips, the search bar, banners, index status."""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QKeySequence, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.search import QueryTerm
from photoclip.gui.models import FAILED_ROLE, SCORE_ROLE
from photoclip.gui.qtcompat import emit

TEXT_LINE = 18  # px under each thumbnail for the file name


class PhotoDelegate(QStyledItemDelegate):
    """Paints one grid cell: thumbnail (or placeholder), file name, score badge."""

    def __init__(self, parent=None) -> None:
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
        score = model.data(index, SCORE_ROLE)
        if score is not None:
            self._badge(painter, drawn, f"{score:.2f}")  # on the photo's own corner
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


@dataclass
class ChipTerm:
    """A chip's query term and its label (a photo chip shows the file name, not the id)."""

    kind: str  # text, image or photo
    value: object
    weight: float
    label: str

    def term(self) -> QueryTerm:
        return QueryTerm(self.kind, self.value, self.weight)


class Chip(QFrame):
    """One term: [+/-] label [weight] [x]."""

    changed = Signal()
    removed = Signal(object)

    def __init__(self, term: ChipTerm, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.term = term
        self.setObjectName("chip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 1, 2, 1)
        layout.setSpacing(2)
        self.sign = QToolButton(self)
        self.sign.setAutoRaise(True)
        self.sign.setToolTip("Look for this (+) or away from it (−)")
        self.sign.clicked.connect(self._flip)
        # Image and photo terms read as "like <file>"; emoji icons are missing from many fonts.
        prefix = "like " if term.kind in ("image", "photo") else ""
        self.label = QLabel(prefix + term.label, self)
        self.label.setToolTip(str(term.value) if term.kind == "image" else term.label)
        self.weight = QDoubleSpinBox(self)
        self.weight.setRange(0.1, 5.0)
        self.weight.setSingleStep(0.1)
        self.weight.setDecimals(1)
        self.weight.setValue(abs(term.weight))
        self.weight.setToolTip("Weight of this term")
        self.weight.setFixedWidth(52)
        self.weight.valueChanged.connect(self._reweigh)
        close = QToolButton(self)
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Remove this term")
        close.clicked.connect(lambda: emit(self.removed, self))
        for w in (self.sign, self.label, self.weight, close):
            layout.addWidget(w)
        self._refresh()

    def _refresh(self) -> None:
        negative = self.term.weight < 0
        self.sign.setText("−" if negative else "+")
        self.setProperty("negative", negative)
        self.setStyleSheet(
            "QFrame#chip { border: 1px solid %s; border-radius: 10px; background: %s; }"
            % (("#c0392b", "rgba(192,57,43,30)") if negative else ("#2e86c1", "rgba(46,134,193,30)"))
        )

    def _flip(self) -> None:
        self.term.weight = -self.term.weight
        self._refresh()
        emit(self.changed)

    def _reweigh(self, value: float) -> None:
        self.term.weight = value if self.term.weight >= 0 else -value
        emit(self.changed)


class SearchBar(QFrame):
    """Chips for the pinned terms, then a line for typing; emits `query_changed` (throttled by the window)."""

    query_changed = Signal()
    text_edited = Signal()
    image_dropped = Signal(object)  # QMimeData

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchbar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAcceptDrops(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setSpacing(4)
        self.chip_box = QHBoxLayout()
        self.chip_box.setSpacing(4)
        layout.addLayout(self.chip_box)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("search")
        self.edit.setFrame(False)
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText("Describe a photo, or drop an image here  ·  Enter pins a term, “-word” excludes, “2*word” weighs")
        self.edit.setAcceptDrops(False)  # drops go to the bar, which knows images and URLs
        self.edit.textEdited.connect(self.text_edited)
        self.edit.returnPressed.connect(self.pin_text)
        self.edit.installEventFilter(self)
        layout.addWidget(self.edit, 1)
        self.chips: list[Chip] = []
        # As tall as a chip from the start, so the bar does not jump when the first chip appears.
        probe = Chip(ChipTerm("text", "x", 1.0, "x"))
        self.edit.setMinimumHeight(probe.sizeHint().height())
        probe.deleteLater()

    # -- terms ----------------------------------------------------------------

    def terms(self) -> list[QueryTerm]:
        """The chips' terms plus what is being typed (as a + text term)."""
        out = [c.term.term() for c in self.chips]
        typed = self.edit.text().strip()
        if typed:
            out.extend(parse_typed(typed))
        return out

    def is_empty(self) -> bool:
        return not self.chips and not self.edit.text().strip()

    def add_chip(self, term: ChipTerm, *, replace: bool = False) -> None:
        if replace:
            self._clear_chips()
            self.edit.clear()
        chip = Chip(term, self)
        chip.changed.connect(self.query_changed)
        chip.removed.connect(self._remove)
        self.chips.append(chip)
        self.chip_box.addWidget(chip)
        emit(self.query_changed)

    def pin_text(self) -> None:
        """Enter: the typed words become chips (the query itself does not change)."""
        typed = self.edit.text().strip()
        if not typed:
            emit(self.query_changed)
            return
        self.edit.clear()
        for term in parse_typed(typed):
            label = str(term.value) if term.kind == "text" else os.path.basename(str(term.value))
            chip = Chip(ChipTerm(term.kind, term.value, term.weight, label), self)
            chip.changed.connect(self.query_changed)
            chip.removed.connect(self._remove)
            self.chips.append(chip)
            self.chip_box.addWidget(chip)
        emit(self.query_changed)

    def clear(self) -> None:
        self._clear_chips()
        self.edit.clear()
        emit(self.query_changed)

    def _clear_chips(self) -> None:
        for chip in self.chips:
            chip.setParent(None)
            chip.deleteLater()
        self.chips.clear()

    def _remove(self, chip: Chip) -> None:
        if chip in self.chips:
            self.chips.remove(chip)
            chip.setParent(None)
            chip.deleteLater()
            emit(self.query_changed)

    def eventFilter(self, obj, event) -> bool:
        # Backspace in an empty line removes the last chip, as in tag inputs everywhere.
        if (
            obj is self.edit
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Backspace
            and not self.edit.text()
            and self.chips
        ):
            self._remove(self.chips[-1])
            return True
        return super().eventFilter(obj, event)

    # -- drops ------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        emit(self.image_dropped, event.mimeData())
        event.acceptProposedAction()


def parse_typed(text: str) -> list[QueryTerm]:
    """Typed words to terms with core's parser (`-people`, `2*beach`, `beach + sea`)."""
    from photoclip.core.search import QueryError, parse_query

    try:
        return parse_query(text.split())
    except QueryError:
        # Only "avoid" terms so far (e.g. "-people" alone): nothing to look for yet.
        return []


class Banner(QFrame):
    """A message strip above the grid with up to two action buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet("QFrame#banner { background: rgba(241,196,15,45); border: 1px solid rgba(183,149,11,160); border-radius: 6px; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.text, 1)
        self.first = QPushButton(self)
        self.second = QPushButton(self)
        layout.addWidget(self.first)
        layout.addWidget(self.second)
        self.hide()

    def show_message(self, text: str, first: str | None = None, second: str | None = None) -> None:
        self.text.setText(text)
        for button, label in ((self.first, first), (self.second, second)):
            button.setVisible(bool(label))
            if label:
                button.setText(label)
        self.show()


class IndexStatus(QWidget):
    """Status-bar piece: a progress bar with counts and ETA, pause/resume and cancel."""

    pause_clicked = Signal()
    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(False)
        self.pause = QToolButton(self)
        self.pause.setText("Pause")
        self.pause.clicked.connect(self.pause_clicked)
        self.cancel = QToolButton(self)
        self.cancel.setText("Cancel")
        self.cancel.clicked.connect(self.cancel_clicked)
        for w in (self.label, self.bar, self.pause, self.cancel):
            layout.addWidget(w)

    def set_paused(self, paused: bool) -> None:
        self.pause.setText("Resume" if paused else "Pause")

    def show_progress(self, phase: str, done: int, total: int, seen: int, eta: float | None, paused: bool) -> None:
        if phase == "scan":
            self.bar.setRange(0, 0)  # busy: the total is not known while scanning
            self.label.setText(f"Scanning folders… {seen:,} files")
            return
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        text = f"Indexing {done:,} / {total:,}"
        if paused:
            text += " · paused"
        elif eta is not None and done < total:
            text += f" · {format_eta(eta)} left"
        self.label.setText(text)


def format_eta(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def shortcut_text(key: QKeySequence.StandardKey | str) -> str:
    seq = QKeySequence(key)
    return seq.toString(QKeySequence.SequenceFormat.NativeText)


class EmptyState(QWidget):
    """What an empty library shows instead of an empty grid."""

    add_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel("No photos yet", self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel(
            "Add a folder of photos (or drop one on this window). photoclip reads them in the background;\nnothing leaves your computer.",
            self,
        )
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        button = QPushButton(f"Add a folder…  ({shortcut_text('Ctrl+O')})", self)
        button.clicked.connect(self.add_clicked)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        row.addStretch(1)
        for w in (title, hint):
            layout.addWidget(w)
        layout.addLayout(row)
        layout.addStretch(2)
