"""The settings dialog: model, device, a checkpoint file, library folders, thumbnail cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.model import DEFAULT_MODEL, DEFAULT_WEIGHTS, ModelChoice
from photoclip.core.settings import Settings
from photoclip.gui.dialogs.other_model import OtherModelFields
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.model_service import CHECKING, LOADING, MISSING, READY, UNAVAILABLE, describe_in_full
from photoclip.gui.services.workers import TaskRunner
from photoclip.gui.widgets import ask
from photoclip.gui.widgets.screen import resize_to_fit

# (architecture, pretrained tag, note shown to the user). Speeds are relative to the default on a CPU.
KNOWN_MODELS: list[tuple[str, str, str]] = [
    (DEFAULT_MODEL, DEFAULT_WEIGHTS, "Recommended · about 600 MB download · fast on any computer"),
    ("ViT-B-32", "laion2b_s34b_b79k", "About 600 MB · fast · slightly less accurate"),
    ("ViT-B-16", "datacomp_xl_s13b_b90k", "About 600 MB · about 3× slower · more accurate"),
    ("ViT-L-14", "datacomp_xl_s13b_b90k", "About 1.7 GB · about 10× slower · most accurate; a GPU helps"),
]
DEVICES = [("auto", "Automatic (GPU if available)"), ("cpu", "CPU"), ("cuda", "NVIDIA GPU (CUDA)"), ("mps", "Apple GPU (MPS)")]

OTHER = "other"  # the combo entry that opens the fields for any open_clip pair
OTHER_TEXT = "Other open_clip model…"

CHECKPOINT_FILTER = "Model checkpoints (*.pt *.pth *.bin *.safetensors *.ckpt);;All files (*)"


def breakable(text: str) -> str:
    """A path that may wrap after each folder (a zero-width space after each separator):
    without spaces, a long path sets the dialog's width and is cut off on a laptop."""
    return text.replace(os.sep, os.sep + "\u200b")


def cache_size(path: Path) -> int:
    """Bytes used by the thumbnail cache (worker thread: walks many files)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def clear_cache(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# What "In use now" adds while the model chosen is not in use (round 23's walk).
NOT_IN_USE = {
    UNAVAILABLE: "not in use, it could not be loaded (the window's message says why)",
    MISSING: "not in use yet, its weights are not on this computer",
    CHECKING: "loading…",
    LOADING: "loading…",
}


class FolderList(QListWidget):
    """The library folders: five rows high unless the dialog has room to spare. Qt's default
    (192 px) made the dialog scroll on a 700 px screen for an empty list (walk 24)."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), 5 * max(self.fontMetrics().height() + 4, 20) + 2 * self.frameWidth())


class SettingsDialog(QDialog):
    """Edits a copy of Settings; the window applies it when the dialog is accepted."""

    add_folder_requested = Signal()
    remove_folder_requested = Signal(str)
    cache_cleared = Signal()

    def __init__(
        self,
        settings: Settings,
        folders: list[str],
        thumbnails: Path,
        pool: TaskRunner,
        parent: QWidget | None = None,
        *,
        in_use: ModelChoice | None = None,
        model_state: str = READY,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        resize_to_fit(self, 640, 680)
        self._settings = settings
        self._thumbnails = thumbnails
        self._pool = pool
        # The boxes scroll above a fixed OK/Cancel row: on a 700 px screen, with the
        # other-model box open, they need more height than the dialog has, and a squeezed
        # form draws its wrapped lines over each other.
        outer = QVBoxLayout(self)
        self.boxes_area = scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # long lines wrap instead
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        content = QWidget(scroll)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        scroll.setWidget(content)
        outer.addWidget(scroll, 1)

        model_box = QGroupBox("Search model", self)
        form = self.model_form = QFormLayout(model_box)
        self.model = QComboBox(model_box)
        for name, weights, note in KNOWN_MODELS:
            self.model.addItem(f"{name} · {weights}", (name, weights))
            self.model.setItemData(self.model.count() - 1, note, Qt.ItemDataRole.ToolTipRole)
        saved = ModelChoice(settings.model, settings.weights)
        is_file = saved.weights_is_file
        # Exactly the saved pair: an architecture with its tag, or with its file. Never the
        # architecture beside a default tag nobody chose (that pair may not even exist).
        current = (settings.model, os.path.abspath(settings.weights) if is_file else settings.weights)
        if current not in [(n, w) for n, w, _ in KNOWN_MODELS]:
            label = f"{settings.model} · file {os.path.basename(settings.weights)}" if is_file else f"{current[0]} · {current[1]}"
            self.model.addItem(label, current)
            self.model.setItemData(self.model.count() - 1, "Your checkpoint file for this architecture", Qt.ItemDataRole.ToolTipRole)
        self.model.addItem(OTHER_TEXT, OTHER)
        self.model.setItemData(
            self.model.count() - 1, "Any architecture and pretrained tag open_clip can download", Qt.ItemDataRole.ToolTipRole
        )
        self.model.setCurrentIndex(max(0, self.model.findData(current)))
        self.note = QLabel(model_box)
        self.note.setWordWrap(True)
        self.other = OtherModelFields(pool, model_box)
        self._last_pair: tuple[str, str] = current
        self.model.currentIndexChanged.connect(self._show_note)
        form.addRow("Model", self.model)
        form.addRow("", self.note)
        self.in_use = QLabel(model_box)
        self.in_use.setWordWrap(True)
        self.in_use.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if in_use is not None:
            self.in_use.setText(describe_in_full(in_use))
            if (in_use.name, in_use.weights) != (settings.model, settings.weights):
                self.in_use.setText(describe_in_full(in_use) + "  (set for this session by the command line or the environment)")
            if model_state in NOT_IN_USE:  # "In use now" over a model that was refused misled the walk's photographer
                self.in_use.setText(f"{self.in_use.text()}: {NOT_IN_USE[model_state]}")
        self.in_use.setVisible(in_use is not None)
        # A long path has no spaces to wrap at: let it break after each folder (the copy
        # a user selects is the same path; the tooltip has it whole).
        self.in_use.setToolTip(self.in_use.text())
        self.in_use.setText(breakable(self.in_use.text()))
        form.addRow("In use now", self.in_use)
        self.device = QComboBox(model_box)
        for value, label in DEVICES:
            self.device.addItem(label, value)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        form.addRow("Run on", self.device)
        self.checkpoint = QLineEdit(current[1] if is_file else "", model_box)
        self.checkpoint.setPlaceholderText("Optional: a checkpoint file for the model above (no download needed)")
        browse = QPushButton("Choose…", model_box)
        browse.clicked.connect(self._choose_checkpoint)
        row = QHBoxLayout()
        row.addWidget(self.checkpoint, 1)
        row.addWidget(browse)
        form.addRow("Checkpoint file", row)
        layout.addWidget(model_box)
        # Its own box under the model's, not rows of that form: rows shown later in a form with
        # wrapping labels were squeezed to a few pixels (the form kept its first measure).
        self.other.setParent(self)
        self.other.hide()
        layout.addWidget(self.other)

        folder_box = QGroupBox("Library folders", self)
        folder_layout = QVBoxLayout(folder_box)
        self.folders = FolderList(folder_box)
        self.set_folders(folders)
        folder_layout.addWidget(self.folders)
        buttons = QHBoxLayout()
        add = QPushButton("Add folder…", folder_box)
        remove = QPushButton("Remove", folder_box)
        add.clicked.connect(self.add_folder_requested)
        remove.clicked.connect(self._remove_folder)
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        folder_layout.addLayout(buttons)
        folder_note = QLabel(
            "Adding or removing a folder takes effect at once (Cancel does not undo it). "
            "Removing one forgets its photos in photoclip; the files are not touched.",
            folder_box,
        )
        folder_note.setWordWrap(True)
        folder_layout.addWidget(folder_note)
        layout.addWidget(folder_box)

        tags_box = QGroupBox("Tags", self)
        tags_layout = QVBoxLayout(tags_box)
        self.write_xmp = QCheckBox("Keep XMP sidecar files up to date with tags (photo.jpg.xmp)", tags_box)
        self.write_xmp.setChecked(settings.write_xmp)
        self.write_xmp.setToolTip(
            "digiKam, darktable, Lightroom and others read keywords from these files. "
            "Photos themselves are never changed; other contents of existing sidecars are kept."
        )
        tags_layout.addWidget(self.write_xmp)
        layout.addWidget(tags_box)

        cache_box = QGroupBox("Thumbnail cache", self)
        cache_layout = QHBoxLayout(cache_box)
        self.cache_label = QLabel(f"{breakable(str(thumbnails))}\nMeasuring…", cache_box)
        self.cache_label.setWordWrap(True)
        self.cache_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        clear = QPushButton("Clear", cache_box)
        clear.setToolTip("Thumbnails are made again when needed")
        clear.clicked.connect(self._clear_cache)
        cache_layout.addWidget(self.cache_label, 1)
        cache_layout.addWidget(clear)
        layout.addWidget(cache_box)

        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        outer.addWidget(box)
        self.ok_button = box.button(QDialogButtonBox.StandardButton.Ok)
        self.other.checked.connect(lambda _known: self._allow_ok())
        self.checkpoint.textChanged.connect(lambda text: self.other.set_from_file(bool(text.strip())))
        self.other.set_from_file(bool(self.checkpoint.text().strip()))
        self._show_note()
        self._measure()

    def set_folders(self, folders: list[str]) -> None:
        self.folders.clear()
        self.folders.addItems(folders)

    def result_settings(self) -> Settings:
        """The edited settings (the caller saves them)."""
        name, weights = self.other.pair() if self.model.currentData() == OTHER else self.model.currentData()
        checkpoint = self.checkpoint.text().strip()
        if ModelChoice(name, weights).weights_is_file and not checkpoint:
            weights = DEFAULT_WEIGHTS if name == DEFAULT_MODEL else weights  # the file was cleared: back to a download
        return Settings(
            model=name,
            weights=checkpoint or weights,
            device=self.device.currentData(),
            precision=self._settings.precision,
            thumbnail_edge=self._settings.thumbnail_edge,
            write_xmp=self.write_xmp.isChecked(),
        )

    def _show_note(self) -> None:
        self.note.setText(self.model.itemData(self.model.currentIndex(), Qt.ItemDataRole.ToolTipRole) or "")
        data = self.model.currentData()
        other = data == OTHER
        if hasattr(self, "other"):
            self.other.setVisible(other)
            if other and not self.other.pair()[0]:
                name, weights = self._last_pair
                # Start from the pair chosen before (a file is no tag: the architecture only).
                self.other.set_pair(name, "" if ModelChoice(name, weights).weights_is_file else weights)
            elif not other and data:
                self._last_pair = data
            self._allow_ok()
        if data and not other and hasattr(self, "checkpoint") and not ModelChoice(*data).weights_is_file:
            self.checkpoint.clear()  # a downloadable pair chosen: a file for another pair would not fit it

    def _allow_ok(self) -> None:
        """Saving an "other" pair waits until open_clip is known to have it."""
        if hasattr(self, "ok_button"):
            self.ok_button.setEnabled(self.model.currentData() != OTHER or self.other.known)

    def _choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model checkpoint", ask.downloads_folder(), CHECKPOINT_FILTER)
        if path:
            self.checkpoint.setText(path)

    def _remove_folder(self) -> None:
        item = self.folders.currentItem()
        if item is not None:
            emit(self.remove_folder_requested, item.text())

    def _measure(self) -> None:
        self._pool.run(
            lambda: cache_size(self._thumbnails),
            lambda n: self.cache_label.setText(f"{breakable(str(self._thumbnails))}\n{n / 1024 / 1024:.1f} MB"),
        )

    def _clear_cache(self) -> None:
        self.cache_label.setText(f"{breakable(str(self._thumbnails))}\nClearing…")
        self._pool.run(lambda: clear_cache(self._thumbnails), lambda _: self._cache_was_cleared())

    def _cache_was_cleared(self) -> None:
        emit(self.cache_cleared)
        self._measure()
