"""The window's tagging commands: menu actions, tag runs with their status, sidecar exports."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QInputDialog,
    QMenu,
    QWidget,
)

from photoclip.app import sidecars, tags
from photoclip.app.changes import Changes
from photoclip.app.tag_runs import TagOutcome
from photoclip.app.words import plural
from photoclip.core.db import Photo
from photoclip.core.model import Embedder
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.tagger import TagController
from photoclip.gui.services.workers import LibraryRunner
from photoclip.gui.widgets import IndexStatus, ask
from photoclip.gui.widgets.photo_labels import TagActions

NO_MODEL = "Tagging needs the model; it is not ready yet."


def ask_tag_name(parent: QWidget, prompt: str, names: list[str]) -> str | None:
    """A tag name typed or picked from the existing ones (None: cancelled or left empty)."""
    dialog = tag_name_dialog(parent, prompt, names)
    if dialog.exec() != QInputDialog.DialogCode.Accepted:
        return None
    return dialog.textValue().strip() or None


def tag_name_dialog(parent: QWidget | None, prompt: str, names: list[str]) -> QInputDialog:
    """The "Add tag" question, its field EMPTY: pre-filled with the first name, Enter alone
    would tag the photos with a label the user never chose (flowers tagged as birds)."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Add tag")
    dialog.setLabelText(prompt)
    dialog.setComboBoxItems(names)
    dialog.setComboBoxEditable(True)
    dialog.setOkButtonText("Add Tag")
    dialog.setTextValue("")
    combo = dialog.findChild(QComboBox)
    if combo is not None:
        # The field sets the width (the dialog's own minimum is overridden by its layout):
        # Qt's ~200 px cut the title to "Add ta… toclip" (walk 24).
        combo.setMinimumWidth(ask.NAME_DIALOG_WIDTH - 20)
        combo.setCurrentIndex(-1)
        combo.setEditText("")
        line = combo.lineEdit()
        if line is not None:
            line.setPlaceholderText("Type a tag or pick one")
    return dialog


class TaggingCommands(QObject):
    tags_changed = Signal(object)  # Changes: what an edit or a run changed, for the views to refresh
    message = Signal(str, int)  # text, milliseconds to show it
    sidecars_written = Signal(object)  # Changes, after a tagging run's sidecars were brought up to date

    def __init__(
        self,
        db_path: Path,
        library: LibraryRunner,
        embedder: Callable[[], Embedder | None],
        write_xmp: Callable[[], bool],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.library = library
        self._embedder, self._write_xmp = embedder, write_xmp
        self.tagger = TagController(db_path, self)
        self.actions = TagActions(library, embedder, write_xmp, self)
        self.status = IndexStatus(parent)
        self.status.pause.hide()
        self.status.hide()
        self.status.cancel_clicked.connect(self.tagger.cancel)
        self.tagger.running_changed.connect(self.status.setVisible)
        self.tagger.progress.connect(self._progress)
        self.tagger.finished.connect(self._finished)
        self.tagger.failed.connect(lambda text: emit(self.message, text, 10000))
        self.tagger.sidecars_stale.connect(self.write_sidecars_for)
        self.actions.changed.connect(self._changed)
        self.actions.failed.connect(lambda text: emit(self.message, text, 10000))

        self.tag_library_action = QAction("&Tag library with labels", parent)
        self.tag_library_action.setShortcut(QKeySequence("Ctrl+T"))
        self.tag_library_action.setToolTip("Apply every label to every analysed photo, in the background")
        self.tag_library_action.triggered.connect(lambda: self.tag_library())
        self.export_action = QAction("&Write tags to XMP sidecars…", parent)
        self.export_action.triggered.connect(lambda: self.export_sidecars())

    @property
    def write_xmp(self) -> bool:
        """The user's "keep XMP sidecars up to date" setting, as it is now."""
        return self._write_xmp()

    def add_to_menu(self, menu: QMenu) -> None:
        menu.addAction(self.tag_library_action)
        menu.addAction(self.export_action)

    # -- whole library --------------------------------------------------------------------

    def tag_library(self, names: list[str] | None = None, *, prepare: Callable | None = None) -> bool:  # type: ignore[type-arg]
        """Apply labels (all for None) to the library in the background; False without a model."""
        embedder = self._embedder()
        if embedder is None:
            emit(self.message, NO_MODEL, 8000)
            return False
        self.tagger.start(embedder, names, prepare=prepare, write_xmp=self._write_xmp())
        return True

    def _progress(self, done: int, total: int) -> None:
        if total == 0:
            self.status.bar.setRange(0, 0)
            self.status.label.setText("Tagging…")
            return
        self.status.bar.setRange(0, total)
        self.status.bar.setValue(done)
        self.status.label.setText(f"Tagging {done:,} / {total:,}")

    def _finished(self, outcome: TagOutcome) -> None:
        emit(self.message, outcome.summary(), 10000)
        emit(self.tags_changed, Changes(outcome.summary(), any_photo=True, tags_changed=True))

    def write_sidecars_for(self, photo_ids: Iterable[int]) -> None:
        """Bring these photos' sidecars in line with their tags (a run or the indexer changed them)."""
        # On the library thread, like every sidecar write of the app: two threads merging into
        # the same file could lose each other's change.
        ids = sorted(photo_ids)
        self.library.call(lambda ctx: sidecars.write_sidecars(ctx.lib, ids, True), self._sidecars_written, self.actions.report_failure)

    def _sidecars_written(self, change: Changes) -> None:
        if change.sidecars_written or change.problems:
            text = f"{len(change.sidecars_written):,} XMP sidecar files updated." + change.problems_text()
            emit(self.message, text, 10000)
        emit(self.sidecars_written, change)

    def export_sidecars(self, *, confirm: bool = True) -> None:
        """Write every photo's tags into its `.xmp` sidecar (the photos are never changed)."""
        if confirm and not ask.confirm(
            self._parent,
            "Write XMP sidecars",
            "Write each photo's tags to a sidecar file beside it (photo.jpg.xmp), where other photo apps read them?",
            "Write Sidecars",
            details="The photos themselves are not changed; existing sidecars keep their other contents.",
        ):
            return
        emit(self.message, "Writing XMP sidecars…", 0)
        self.library.call(lambda ctx: sidecars.write_sidecars(ctx.lib, None, True), self._exported, self.actions.report_failure)

    def _exported(self, change: Changes) -> None:
        text = f"Wrote {len(change.sidecars_written):,} XMP sidecar files."
        if not change.sidecars_written:
            text = "The XMP sidecars were already up to date."
        emit(self.message, text + change.problems_text(), 10000)

    # -- a selection -------------------------------------------------------------------------

    def ask_add_tag(self, photos: Sequence[Photo]) -> None:
        ids = [p.id for p in photos]
        if not ids:
            return
        self.library.call(lambda ctx: [n for n, _ in tags.tag_names(ctx.lib)], lambda names: self._ask_add(ids, names))

    def _ask_add(self, ids: list[int], names: list[str]) -> None:
        what = "this photo" if len(ids) == 1 else plural(len(ids), "photo")
        name = ask_tag_name(self._parent, f"Tag for {what}:", sorted(names, key=str.casefold))
        if name:
            self.actions.add(ids, name)

    def ask_remove_tag(self, photos: Sequence[Photo]) -> None:
        ids = [p.id for p in photos]
        if ids:
            self.library.call(lambda ctx: tags.shared_tags(ctx.lib, ids), lambda names: self._ask_remove(ids, names))

    def _ask_remove(self, ids: list[int], names: list[str]) -> None:  # a choice among the photos' own tags
        if not names:
            emit(self.message, "The selected photos have no tags.", 5000)
            return
        name, ok = QInputDialog.getItem(self._parent, "Remove tag", "Remove which tag?", names, 0, False)
        if ok and name:
            self.actions.remove(ids, name)

    def teach(self, photos: Sequence[Photo], name: str, *, confirm: bool) -> None:
        """Confirm or reject a label on a selection: one lesson, one pass over the library."""
        self.actions.feedback([p.id for p in photos], name, confirm=confirm)

    def _changed(self, change: Changes) -> None:
        text = change.message
        if change.sidecars_written:
            text += f" {len(change.sidecars_written):,} sidecar files updated."
        emit(self.message, text + change.problems_text(), 8000)
        emit(self.tags_changed, change)

    def shutdown(self) -> None:
        self.tagger.shutdown()
