"""The photo viewer: the photo large (decoded off the GUI thread), its details, next/previous."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader, QKeySequence, QPixmap, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from photoclip.app.tags import PhotoLabels
from photoclip.app.words import taken_text
from photoclip.core.db import Photo, display_path
from photoclip.core.media.thumbnails import THUMBNAIL_SIZE, thumbnail_for
from photoclip.gui.models import PhotoGridModel
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.workers import TaskRunner
from photoclip.gui.widgets.photo_labels import PhotoLabelsPanel, TagActions
from photoclip.gui.widgets.screen import resize_to_fit

MAX_EDGE = 2560  # enough for a large screen; the full file is never decoded on the GUI thread


def load_display_image(path: str, cache_dir: os.PathLike[str] | str, max_edge: int = MAX_EDGE) -> QImage:
    """Worker thread: the photo reduced to `max_edge`, EXIF-rotated; the thumbnail if Qt cannot read it."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > max_edge:
        reader.setScaledSize(size.scaled(QSize(max_edge, max_edge), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        # HEIC, RAW and friends: core can read them; show its (smaller) thumbnail instead.
        image = QImage(str(thumbnail_for(cache_dir, path, THUMBNAIL_SIZE)))  # type: ignore[arg-type]
    return image


def outside_photo(path: str) -> Photo:
    """What the viewer shows of a photo the library does not hold (id -1: no row, no tags)."""
    try:
        stat = os.stat(path)
        size, mtime_ns = stat.st_size, stat.st_mtime_ns
    except OSError:
        size, mtime_ns = 0, 0
    return Photo(-1, os.path.abspath(path), size, mtime_ns, None, None, None, None, None, None, None, None, "outside", None)


def _size_text(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


class FittedImage(QLabel):
    """The photo, scaled to fit whatever room it has: refitted on EVERY size change.

    The dialog's own resize is not enough: the labels panel arriving after the image,
    or the user dragging the splitter, shrink this label while the dialog keeps its
    size, and a pixmap scaled for the old room would be cropped.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Loading…", parent)
        self._source: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setStyleSheet("background: #202020; color: #ccc;")
        # The photo takes the keyboard when the viewer opens, so ←/→ step through the results
        # at once (the "Add a tag…" box, first in line otherwise, would take them as cursor moves).
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def set_source(self, pixmap: QPixmap | None, text: str = "") -> None:
        self._source = pixmap
        if pixmap is None:
            self.setPixmap(QPixmap())
            self.setText(text)
        else:
            self._fit()

    def source(self) -> QPixmap | None:
        return self._source

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._source is not None and not self._source.isNull():
            self.setPixmap(self._source.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))


SIDE_MIN_WIDTH = 380  # px: a label row (name, bar, score, state, ✓ ✗) stays readable


class ViewerDialog(QDialog):
    """Shows one row of the grid model; Left/Right move through the current results."""

    find_similar = Signal(int)  # photo id
    find_similar_file = Signal(str)  # a photo outside the library: its path
    labels_shown = Signal(int)  # the labels panel shows this photo's labels and tags

    def __init__(
        self,
        model: PhotoGridModel,
        row: int,
        pool: TaskRunner,
        cache_dir: os.PathLike[str] | str,
        open_external: Callable[[str], object],
        actions: TagActions | None = None,
        parent: QWidget | None = None,
        place_of: Callable[[int, Callable[[str | None], None]], None] | None = None,
        outside: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Photo")
        resize_to_fit(self, 1100, 760)
        self._model, self._pool, self._cache_dir = model, pool, cache_dir
        self._open_external = open_external
        # A photo outside the library (`photoclip PATH`) has no row: no labels, no tag edits.
        self.outside = outside
        actions = self._actions = actions if outside is None else None
        # Where the photo was taken, looked up on the library thread: (photo id, callback) -> None.
        self.place_of = place_of
        self._token: int | None = None
        self._pixmap: QPixmap | None = None
        self._closed = False
        self.row = row
        # The photo itself, not its row: the grid may be re-queried while the viewer is open
        # (a tag filter after a tag change) and the rows shift under it.
        self._photo: Photo = model.photo(row) if outside is None else outside_photo(outside)
        self._match: str | None = model.match_text(row) if outside is None else None
        model.modelReset.connect(self._grid_changed)
        model.rowsRemoved.connect(self._grid_changed)

        self.image = FittedImage(self)
        details = QWidget(self)
        side = QVBoxLayout(details)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.labels_panel = PhotoLabelsPanel(details)
        side.addLayout(self.form)
        side.addWidget(self.labels_panel)
        side.addStretch(1)
        if actions is not None:
            self.labels_panel.confirm.connect(lambda name: actions.feedback([self.photo.id], name, confirm=True))
            self.labels_panel.reject.connect(lambda name: actions.feedback([self.photo.id], name, confirm=False))
            self.labels_panel.add_requested.connect(lambda name: actions.add([self.photo.id], name))
            self.labels_panel.remove_requested.connect(lambda name: actions.remove([self.photo.id], name))
        else:
            self.labels_panel.hide()
        # On a small screen the details and label rows can need more room than the side has:
        # they scroll rather than being squeezed until rows overlap or vanish.
        side_scroll = QScrollArea(self)
        side_scroll.setWidget(details)
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        side_scroll.setMinimumWidth(SIDE_MIN_WIDTH)
        splitter = self.splitter = QSplitter(self)
        splitter.addWidget(self.image)
        splitter.addWidget(side_scroll)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(1, False)

        self.prev_button = QPushButton("◀ Previous", self)
        self.next_button = QPushButton("Next ▶", self)
        similar = self.find_similar_button = QPushButton("Find similar", self)
        external = self.external_button = QPushButton("Open in system viewer", self)
        close = QPushButton("Close", self)
        self.prev_button.clicked.connect(lambda: self.show_row(self.row - 1))
        self.next_button.clicked.connect(lambda: self.show_row(self.row + 1))
        similar.clicked.connect(self._similar)
        external.clicked.connect(lambda: self._open_external(self.photo.path))
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for b in (self.prev_button, self.next_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (similar, external, close):
            buttons.addWidget(b)
        for b in (self.prev_button, self.next_button, similar, external, close):
            b.setAutoDefault(False)  # else "◀ Previous" was the default: Enter, which opened the viewer, stepped back
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        QShortcut(QKeySequence(Qt.Key.Key_Left), self, lambda: self.show_row(self.row - 1))
        QShortcut(QKeySequence(Qt.Key.Key_Right), self, lambda: self.show_row(self.row + 1))
        self.image.setFocus()
        if outside is None:
            self.show_row(row)
        else:
            self._show(self._photo)

    @property
    def photo(self) -> Photo:
        return self._photo

    def _grid_changed(self, *_args: object) -> None:
        # Find the shown photo again; if it left the grid, it stays shown and Next goes to the top.
        found = self._model.row_of(self._photo.id)
        self.row = found if found is not None else -1
        self._update_buttons()

    def _update_buttons(self) -> None:
        count = self._model.rowCount()
        self.prev_button.setEnabled(self.outside is None and self.row > 0)
        self.next_button.setEnabled(self.outside is None and self.row < count - 1)

    def show_row(self, row: int) -> None:
        if self.outside is not None or not 0 <= row < self._model.rowCount():
            return
        self.row = row
        self._photo = self._model.photo(row)
        self._match = self._model.match_text(row)
        self._show(self._photo)

    def _show(self, photo: Photo) -> None:
        self.setWindowTitle(display_path(photo.name))
        self._update_buttons()
        self._pixmap = None
        self.image.set_source(None, "Loading…")
        self._fill_details(photo, self._match)
        if self._token is not None:
            self._pool.discard(self._token)  # the user moved on: drop the old photo's result
        self._token = self._pool.run(
            partial(load_display_image, photo.path, self._cache_dir),
            partial(self._shown, photo.id),
            lambda exc: self.image.set_source(None, f"Cannot show this photo: {exc}"),
        )
        self._load_labels()

    def _load_labels(self) -> None:
        if self._actions is None:
            return
        self.labels_panel.set_loading()
        self._actions.load(self.photo.id, self._labels_loaded)

    def _shown(self, photo_id: int, image: QImage) -> None:
        if self._closed or photo_id != self.photo.id or image.isNull():
            return
        self._pixmap = QPixmap.fromImage(image)  # GUI thread: pixmaps are made only here
        self.image.set_source(self._pixmap)

    def _labels_loaded(self, labels: PhotoLabels) -> None:
        if not self._closed and labels.photo_id == self.photo.id:
            has_model = self._actions is not None and self._actions.embedder is not None
            self.labels_panel.set_labels(labels, has_model)
            emit(self.labels_shown, labels.photo_id)

    def refresh_labels(self) -> None:
        """Tags changed somewhere (here, in the grid, a tagging run): show this photo's anew."""
        if not self._closed:
            self._load_labels()

    def _fill_details(self, photo: Photo, match: str | None) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        rows: list[tuple[str, str]] = [("File", display_path(photo.name)), ("Folder", display_path(os.path.dirname(photo.path)))]
        if match is not None:
            rows.append(("Match", match))
        if photo.width and photo.height:
            rows.append(("Size", f"{photo.width} × {photo.height} px"))
        rows.append(("File size", _size_text(photo.size)))
        if photo.taken_at:
            rows.append(("Taken", taken_text(photo.taken_at, photo.taken_source)))
        if photo.camera:
            rows.append(("Camera", photo.camera))
        if photo.gps_lat is not None and photo.gps_lon is not None:
            rows.append(("Location", f"{photo.gps_lat:.5f}, {photo.gps_lon:.5f}"))
        if self.outside is not None:
            rows.append(("Library", "Not in your library: shown only, never added or tagged"))
        for name, value in rows:
            self._add_detail(name, value)
        if self.place_of is not None and photo.gps_lat is not None:
            self.place_of(photo.id, partial(self._place_found, photo.id))

    def _add_detail(self, name: str, value: str) -> None:
        label = QLabel(value, self)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form.addRow(name, label)

    def _place_found(self, photo_id: int, place: str | None) -> None:
        if not self._closed and place and photo_id == self.photo.id:
            self._add_detail("Place", place)

    def _similar(self) -> None:
        if self.outside is not None:
            emit(self.find_similar_file, self.outside)
        else:
            emit(self.find_similar, self.photo.id)
        self.accept()

    def done(self, result: int) -> None:
        # Results still on their way (labels from the library thread) must not reach
        # widgets that WA_DeleteOnClose is about to delete.
        self._closed = True
        for signal in (self._model.modelReset, self._model.rowsRemoved):
            try:
                signal.disconnect(self._grid_changed)
            except (RuntimeError, TypeError):
                pass
        if self._token is not None:
            self._pool.discard(self._token)
        super().done(result)
