"""The banner, the indexing status in the status bar, and the empty-library page."""

from __future__ import annotations

from PySide6.QtCore import (
    Qt,
    Signal,
)
from PySide6.QtGui import QHideEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoclip.gui.qtcompat import emit


class Banner(QFrame):
    """A message strip above the grid with up to two action buttons, and optional details
    (the long how-to for a computer without internet) folded away behind a link: at a
    laptop's 700 px the full text took a third of the window above the photos."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet("QFrame#banner { background: rgba(241,196,15,45); border: 1px solid rgba(183,149,11,160); border-radius: 6px; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        words = QVBoxLayout()
        words.setContentsMargins(0, 0, 0, 0)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.more = QToolButton(self)
        self.more.setCheckable(True)
        self.more.setAutoRaise(True)
        self.more.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.more.setArrowType(Qt.ArrowType.RightArrow)
        self.more.toggled.connect(self._show_details)
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        words.addWidget(self.text)
        words.addWidget(self.more, 0, Qt.AlignmentFlag.AlignLeft)
        words.addWidget(self.details)
        layout.addLayout(words, 1)
        self.first = QPushButton(self)
        self.second = QPushButton(self)
        layout.addWidget(self.first)
        layout.addWidget(self.second)
        self.hide()

    def show_message(
        self, text: str, first: str | None = None, second: str | None = None, *, details: str = "", details_link: str = ""
    ) -> None:
        """`details` stay folded behind `details_link` until the user opens them."""
        self.text.setText(text)
        for button, label in ((self.first, first), (self.second, second)):
            button.setVisible(bool(label))
            if label:
                button.setText(label)
        self.details.setText(details)
        self.more.setText(details_link or "More")
        self.more.setVisible(bool(details))
        self.more.setChecked(False)
        self._show_details(False)
        self.show()

    def _show_details(self, shown: bool) -> None:
        self.details.setVisible(shown and bool(self.details.text()))
        self.more.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)


# px: the counts beside the bar say how far it is; 180 left a message 2 letters at 1024 px.
BAR_WIDTH = 110


class IndexStatus(QWidget):
    """Status-bar piece: a progress bar with counts and ETA, pause/resume and cancel."""

    pause_clicked = Signal()
    cancel_clicked = Signal()
    shown = Signal(bool)  # shown or hidden by the program (not by the window being minimised)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(BAR_WIDTH)
        self.bar.setTextVisible(False)
        self.pause = QToolButton(self)
        self.pause.setText("Pause")
        self.pause.clicked.connect(self.pause_clicked)
        self.cancel = QToolButton(self)
        self.cancel.setText("Cancel")
        self.cancel.clicked.connect(self.cancel_clicked)
        for w in (self.label, self.bar, self.pause, self.cancel):
            layout.addWidget(w)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():
            emit(self.shown, True)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if not event.spontaneous():
            emit(self.shown, False)

    def set_paused(self, paused: bool) -> None:
        self.pause.setText("Resume" if paused else "Pause")

    def show_elsewhere(self, text: str, done: int, total: int, busy: bool) -> None:
        """Another photoclip's work: no pause or cancel here (they are that process's to give)."""
        self.pause.hide()
        self.cancel.hide()
        self.bar.setVisible(busy)
        self.bar.setFixedWidth(100)  # the sentence carries the counts: it gets the room, never clipped
        self.bar.setRange(0, total)  # 0..0: busy without a count
        self.bar.setValue(done)
        self.label.setText(text)
        self.label.setMinimumWidth(self.label.sizeHint().width())

    def show_progress(self, phase: str, done: int, total: int, seen: int, eta: float | None, paused: bool) -> None:
        for w in (self.bar, self.pause, self.cancel):
            w.show()
        self.bar.setFixedWidth(BAR_WIDTH)
        self.label.setMinimumWidth(0)
        self.setToolTip("")
        if phase == "scan":
            self.bar.setRange(0, 0)  # busy: the total is not known while scanning
            self.label.setText(f"Scanning folders… {seen:,} files")
            return
        if total == 0:
            # A pass with nothing to read (a photo put back, a folder that vanished): it ends in
            # a moment. "Indexing 0 / 0" with an empty bar and Pause read as stuck (walk 24).
            self.bar.setRange(0, 0)
            self.label.setText("Checking folders…")
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
