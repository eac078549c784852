"""Tools → Suggest labels…: labels the library itself suggests, each one click from being made.

The library's photos are grouped and each group named from a photo vocabulary
(core.tagging.suggest) on a worker thread with its own database connection, so the
app's library thread stays free; closing the dialog cancels that job. Each suggestion
shows its photo count, the phrases that name it and a few of its photos. Nothing is
created until the user clicks "Make label": then the label is made (its other phrases
as descriptions, app.suggestions.make_label on the library thread) and `label_made`
asks the window to open the Labels dialog on it, where its histogram shows what it
would tag.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from photoclip.app import suggestions
from photoclip.app.changes import Changes
from photoclip.app.suggestions import SuggestionList
from photoclip.core.errors import PhotoclipError
from photoclip.core.model import Embedder
from photoclip.core.tagging import Cancelled, Suggestion
from photoclip.core.tagging.suggest import MIN_GROUP
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.thumbnails import ThumbnailLoader
from photoclip.gui.services.workers import LibraryRunner, Worker

SAMPLE_EDGE = 88
INTRO = (
    "photoclip groups similar photos in your library and names each group with everyday photo "
    "subjects. Make a label from a suggestion to see how many photos it would tag; nothing "
    "changes until you do."
)
NO_MODEL_TEXT = "The search model is not ready yet: suggestions appear once it is."
LOOKING_TEXT = (
    "Looking for groups of similar photos… The first time, this reads a list of photo subjects with the model, which can take a minute."
)


class SuggestionCard(QFrame):
    """One suggestion: its name and photo count, the phrases that name it, its sample photos."""

    make_clicked = Signal(object)  # the Suggestion

    def __init__(self, suggestion: Suggestion, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.suggestion = suggestion
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(f"<b>{_html(suggestion.name)}</b> · {suggestion.photos:,} photo{'s' if suggestion.photos != 1 else ''}", self)
        others = ", ".join(suggestion.phrases[1:])
        self.phrases = QLabel(f"Also looks like: {others}" if others else "", self)
        self.phrases.setWordWrap(True)
        self.phrases.setVisible(bool(others))
        self.phrases.setToolTip("These phrases become the label's descriptions: they help it find the right photos.")
        self.make_button = QPushButton(f"Make label “{suggestion.name}”", self)
        self.make_button.setToolTip("Create this label and open it in the Labels dialog, with what it would tag")
        self.make_button.clicked.connect(lambda: emit(self.make_clicked, self.suggestion))
        self.samples: dict[int, QLabel] = {}
        strip = QHBoxLayout()
        strip.setSpacing(4)
        for pid in suggestion.sample_ids:
            thumb = QLabel(self)
            thumb.setFixedSize(SAMPLE_EDGE, SAMPLE_EDGE)
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            thumb.setStyleSheet("background: palette(midlight);")
            self.samples[pid] = thumb
            strip.addWidget(thumb)
        strip.addStretch(1)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.make_button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.phrases)
        layout.addLayout(strip)

    def set_sample(self, photo_id: int, pixmap: QPixmap) -> None:
        thumb = self.samples.get(photo_id)
        if thumb is not None:
            fitted = pixmap.scaled(SAMPLE_EDGE, SAMPLE_EDGE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            thumb.setPixmap(fitted)

    def mark_made(self) -> None:
        self.make_button.setText("Label made")
        self.make_button.setEnabled(False)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SuggestDialog(QDialog):
    suggestions_shown = Signal(int)  # the list shows this many suggestions (or says why none)
    label_made = Signal(str)  # a suggestion became this label: the window opens the Labels dialog on it
    changed = Signal(object)  # Changes of a label made here, for the window's views
    failed = Signal(str)

    def __init__(
        self,
        db_path: Path,
        jobs: Worker,
        library: LibraryRunner,
        embedder: Embedder | None = None,
        thumbs: ThumbnailLoader | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Suggest labels")
        self.resize(760, 620)
        self.db_path, self.jobs, self.library, self.embedder, self.thumbs = Path(db_path), jobs, library, embedder, thumbs
        self.cards: list[SuggestionCard] = []
        self.paths: dict[int, str] = {}
        self._job: int | None = None
        self._closed = False

        intro = QLabel(INTRO, self)
        intro.setWordWrap(True)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)  # grouping gives no steps to count: a busy bar
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.progress.hide()
        self.list_widget = QWidget(self)
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.list_widget)
        self.again_button = QPushButton("Suggest again", self)
        self.again_button.setToolTip("Look again: labels you made meanwhile are left out")
        self.again_button.clicked.connect(self.refresh)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.again_button)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)
        if self.thumbs is not None:
            self.thumbs.ready.connect(self._thumbnail_ready)
        self.refresh()

    @property
    def running(self) -> bool:
        return self._job is not None

    def set_embedder(self, embedder: Embedder | None) -> None:
        """The model became ready (or changed): suggest with it."""
        self.embedder = embedder
        self.refresh()

    def refresh(self) -> None:
        """Group the library again (in the background); what was shown stays until the answer."""
        if self._closed:
            return
        if self.embedder is None:
            self._set_status(NO_MODEL_TEXT)
            emit(self.suggestions_shown, 0)
            return
        self._stop()
        embedder, db_path = self.embedder, self.db_path
        self._set_status(LOOKING_TEXT, busy=True)
        self.again_button.setEnabled(False)
        self._job = self.jobs.submit(
            lambda cancel: suggestions.find_suggestions(db_path, embedder, cancel=cancel), self._found, self._failed
        )

    def _stop(self) -> None:
        if self._job is not None:
            self.jobs.cancel(self._job)
            self.jobs.discard(self._job)
            self._job = None

    def done(self, result: int) -> None:
        # Closing cancels the grouping (between text batches); its late answer is dropped.
        self._closed = True
        self._stop()
        super().done(result)

    def _set_status(self, text: str, *, busy: bool = False) -> None:
        self.status.setText(text)
        self.progress.setVisible(busy)

    def _found(self, found: SuggestionList) -> None:
        self._job = None
        if self._closed:
            return
        self.again_button.setEnabled(True)
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        self.paths = found.sample_paths
        for suggestion in found.suggestions:
            card = SuggestionCard(suggestion, self.list_widget)
            card.make_clicked.connect(self.make_label)
            self.list_layout.insertWidget(self.list_layout.count() - 1, card)
            self.cards.append(card)
            for pid in suggestion.sample_ids:
                self._show_sample(card, pid)
        if found.suggestions:
            self._set_status(f"{len(found.suggestions)} suggestions from {found.photos:,} analysed photos, the biggest groups first.")
        elif found.photos < 2 * MIN_GROUP:
            self._set_status("Not enough photos to group yet: add a folder and let photoclip analyse it first.")
        else:
            self._set_status("No new suggestions: every group found already has a label.")
        emit(self.suggestions_shown, len(found.suggestions))

    def _failed(self, exc: BaseException) -> None:
        self._job = None
        if self._closed or isinstance(exc, Cancelled):
            return
        self.again_button.setEnabled(True)
        text = str(exc) if isinstance(exc, PhotoclipError) else f"Could not suggest labels: {type(exc).__name__}: {exc}"
        self._set_status(text)
        emit(self.failed, text)
        emit(self.suggestions_shown, 0)

    # == making a label =====================================================================

    def make_label(self, suggestion: Suggestion) -> None:
        """The one click: the label is made on the library thread, then shown in the Labels dialog."""
        self.library.call(
            lambda ctx: suggestions.make_label(ctx.lib, suggestion), lambda change: self._made(suggestion, change), self._make_failed
        )

    def _made(self, suggestion: Suggestion, change: Changes) -> None:
        if self._closed:
            return
        for card in self.cards:
            if card.suggestion == suggestion:
                card.mark_made()
        self._set_status(f"{change.message} Check its line in the Labels dialog, then Apply to tag the photos.")
        emit(self.changed, change)
        emit(self.label_made, suggestion.name)

    def _make_failed(self, exc: BaseException) -> None:
        if self._closed:
            return
        text = str(exc) if isinstance(exc, PhotoclipError) else f"Could not make the label: {exc}"
        self._set_status(text)
        emit(self.failed, text)

    # == thumbnails ============================================================================

    def _show_sample(self, card: SuggestionCard, photo_id: int) -> None:
        if self.thumbs is None:
            return
        pixmap = self.thumbs.pixmap(photo_id, self.paths.get(photo_id, ""))
        if pixmap is not None:
            card.set_sample(photo_id, pixmap)

    def _thumbnail_ready(self, photo_id: int) -> None:
        if self._closed:
            return
        for card in self.cards:
            if photo_id in card.samples:
                self._show_sample(card, photo_id)
