"""What the grid offers: the viewer, the context menu, trash, thumbnail size, the page shown."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QSize, Qt
from PySide6.QtGui import (
    QGuiApplication,
)
from PySide6.QtWidgets import (
    QApplication,
    QMenu,
    QMessageBox,
    QStyle,
    QWidget,
)

from photoclip.app import library as library_ops
from photoclip.app.changes import Changes
from photoclip.app.trash import Restored, restore_from_trash
from photoclip.app.words import plural
from photoclip.core.db import Photo, display_path
from photoclip.core.search import Filters
from photoclip.gui.dialogs.viewer import ViewerDialog
from photoclip.gui.services.desktop_open import open_with_desktop
from photoclip.gui.services.model_service import CHECKING, LOADING
from photoclip.gui.services.reveal import show_in_file_manager
from photoclip.gui.widgets import ask
from photoclip.gui.windows.base import WindowPart
from photoclip.gui.windows.grid_labels import add_labels_menu, teach_entries

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000  # results fetched per query; the min-score slider filters these live
TYPING_DELAY_MS = 350  # search-as-you-type waits for a pause in typing
MIN_EDGE, MAX_EDGE, EDGE_STEP = 80, 320, 20


class GridActions(WindowPart):
    # == grid actions ======================================================================

    def selected_photos(self) -> list[Photo]:
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [self.grid_model.photo(r) for r in rows]

    def open_viewer(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        if self._viewer is not None:
            self._viewer.close()
        viewer = ViewerDialog(
            self.grid_model, index.row(), self.pool, self.thumbnail_dir, open_path, self.tagging.actions, self, place_of=self.look_up_place
        )
        viewer.find_similar.connect(self.find_similar)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.destroyed.connect(lambda: setattr(self, "_viewer", None))
        self._viewer = viewer
        viewer.show()

    def open_outside_viewer(self, path: str) -> None:
        """Show a photo the library does not hold (`photoclip PATH`): no tags, "Find similar" searches with it."""
        if self._viewer is not None:
            self._viewer.close()
        viewer = ViewerDialog(self.grid_model, -1, self.pool, self.thumbnail_dir, open_path, None, self, outside=path)
        viewer.find_similar_file.connect(self.search_image_file)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.destroyed.connect(lambda: setattr(self, "_viewer", None))
        self._viewer = viewer
        viewer.show()

    def _grid_menu(self, pos: QPoint) -> None:
        menu = self.grid_menu(self.grid.indexAt(pos))
        if menu is not None:
            menu.exec(self.grid.viewport().mapToGlobal(pos))
            menu.deleteLater()  # a late answer for its labels submenu finds it gone (grid_labels checks)

    def grid_menu(self, index: QModelIndex) -> QMenu | None:
        """The right-click menu for the photo at `index` and the selection it belongs to."""
        if not index.isValid():
            return None
        if not self.grid.selectionModel().isSelected(index):
            self.grid.setCurrentIndex(index)
        photos = self.selected_photos()
        photo = self.grid_model.photo(index.row())
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.open_viewer(index))
        menu.addAction("Open with system viewer", lambda: open_paths(photos))
        menu.addAction("Show in file manager", lambda: self.show_in_file_manager(photo.path))
        menu.addAction("Copy path" if len(photos) == 1 else f"Copy {len(photos)} paths", lambda: copy_paths(photos))
        menu.addSeparator()
        menu.addAction("Find similar", lambda: self.find_similar(photo.id))
        menu.addAction("More like this", lambda: self.more_like(photo, 1.0))
        menu.addAction("Less like this", lambda: self.more_like(photo, -1.0))
        menu.addSeparator()
        menu.addAction("Add tag…", lambda: self.tagging.ask_add_tag(photos))
        menu.addAction("Remove tag…", lambda: self.tagging.ask_remove_tag(photos))
        tag = self.tag_filter()
        browsed = tag if tag and self.tag_combo.findData(tag) > 0 else None  # a label, not only a level of the tree
        if browsed:
            # Browsing one tag is where wrong tags show up: correct them here, the label learns.
            for text, confirm in teach_entries(browsed, len(photos)):
                menu.addAction(text, partial(self.tagging.teach, photos, browsed, confirm=confirm))
        # Anywhere else too (all photos, a search, a folder): the labels that fit or tagged them.
        teach = lambda chosen, name, confirm: self.tagging.teach(chosen, name, confirm=confirm)  # noqa: E731
        add_labels_menu(menu, photos, photo, self.library, self.embedder, teach, shown_already=browsed)
        menu.addSeparator()
        menu.addAction(self.trash_action)
        return menu

    def show_in_file_manager(self, path: str) -> None:
        """The photo selected in the file manager; else its folder opened; else where it is."""
        folder_instead = lambda target: open_folder_or_say_where(self, os.path.dirname(target), "The photo's folder")  # noqa: E731
        show_in_file_manager(path, parent=self, fallback=folder_instead)

    def trash_selected(self, *, confirm: bool = True) -> None:
        photos = self.selected_photos()
        if not photos:
            return
        them = "it" if len(photos) == 1 else "them"  # "Moved 1 photo … puts them back" read wrong (walk 24)
        if confirm:
            what = display_path(photos[0].name) if len(photos) == 1 else plural(len(photos), "photo")
            if not ask.confirm(
                self,
                "Move to trash",
                f"Move {what} to the trash?",
                "Move to Trash",
                details=f"Edit → Undo move to trash puts {them} back while photoclip is open; the trash keeps {them} after that.",
            ):
                return

        def trashed(changes: Changes) -> None:
            moved = [p.path for p in photos if p.id in changes.photos_removed]
            if moved:
                self.trash_history.append(moved)
                self.undo_trash_action.setEnabled(True)
                changes.message += f" Edit → Undo move to trash (Ctrl+Z) puts {them} back."
            self.apply_changes(changes)

        self.library.call(lambda ctx: library_ops.trash_photos(ctx.lib, photos), trashed, self._report_error)

    def undo_trash(self) -> None:
        """Put the last photos this session moved to the trash back where they were, then read them again."""
        if not self.trash_history:
            self.statusBar().showMessage("Nothing was moved to the trash in this session.", 6000)
            return
        paths = self.trash_history.pop()
        self.undo_trash_action.setEnabled(bool(self.trash_history))

        def done(result: Restored) -> None:
            if result.problems:
                QMessageBox.information(
                    self,
                    "Undo move to trash",
                    result.message + "\n\nYour file manager's Trash may still have them: restore them from there.",
                )
            else:
                self.statusBar().showMessage(result.message, 8000)
            if result.restored:
                self.indexer.start()  # the files are back: the next pass reads them into the library again

        self.pool.run(lambda: restore_from_trash(paths), done, self._report_error)

    def apply_changes(self, changes: Changes) -> None:
        """Refresh only what a use case says it changed (Anki's OpChanges idea)."""
        if changes.message:
            self.statusBar().showMessage(changes.message, 8000)
        if changes.photos_removed:
            self._remove_rows(changes.photos_removed)
        if changes.library_changed:
            self.refresh_sidebar()
            self.refresh_albums()  # an album of a tag counts its photos again (it waited for the next indexing pass)
        if changes.tags_changed and self.tag_filter():
            self.run_query()  # the grid is filtered by a tag whose photos may have changed
        viewer = self._viewer
        # The viewer shows its photo's tags, and every label's threshold: a label edit or an
        # edit of this photo redraws it; an edit of other photos does not.
        if viewer is not None and (changes.labels_changed or (changes.tags_changed and changes.touches(viewer.photo.id))):
            viewer.refresh_labels()

    def _remove_rows(self, photo_ids: set[int]) -> None:
        """Take trashed photos out of the grid; the photo after them is selected, so a keyboard
        user keeps their place, and the Match scale and counts are of what is left."""
        rows = [r for r in (self.grid_model.row_of(i) for i in photo_ids) if r is not None]
        self.grid_model.remove_ids(sorted(photo_ids))
        if self.grid_model.is_search:
            self.match_filter.set_scores(self.grid_model.scores())
        self._update_counts()
        count = self.grid_model.rowCount()
        if rows and count:
            self.grid.setCurrentIndex(self.grid_model.index(min(min(rows), count - 1), 0))

    # == view ===================================================================================

    def set_thumbnail_edge(self, edge: int) -> None:
        edge = max(MIN_EDGE, min(MAX_EDGE, int(edge)))
        self.settings.thumbnail_edge = edge
        self.delegate.edge = edge
        self.thumbs.set_edge(round(edge * self.devicePixelRatioF()))
        self.fit_grid_columns()
        if self.size_slider.value() != edge:
            self.size_slider.setValue(edge)
        self.grid.doItemsLayout()

    def fit_grid_columns(self) -> None:
        """Cells share the grid's whole width: no column's worth of empty space on the right.

        The width counts the vertical scroll bar as always there, so a scroll bar that comes
        and goes can never make the columns flip back and forth.
        """
        cell = self.delegate.cell_size() + QSize(4, 4)
        room = self.grid.contentsRect().width() - self.grid.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent) - 2
        columns = max(1, room // cell.width())
        size = QSize(max(cell.width(), room // columns), cell.height())
        if self.grid.gridSize() != size:
            self.grid.setGridSize(size)

    def step_thumbnail(self, direction: int) -> None:
        self.set_thumbnail_edge(self.delegate.edge + direction * EDGE_STEP)

    def _update_page(self) -> None:
        if self.problems_button.isChecked():
            page: QWidget = self.problems
        elif self.grid_model.rowCount():
            page = self.grid
        elif not self.counts.get("folders") and not self.grid_model.is_search:
            page = self.empty
        elif self.grid_model.is_search or self.grid_model.total or self.filters() != Filters() or self.search_bar.typed_text():
            # typed filter words alone (`#dogs`, `2019`) make an empty browse list: say why, not a blank grid
            page = self.no_results
        else:
            page = self.grid
        self.pages.setCurrentWidget(self.grid_page if page is self.grid else page)  # the grid shares its page with the scrubber
        self._update_counts()

    def _update_counts(self) -> None:
        self.count_label.setText(self.count_text())

    def count_text(self) -> str:
        """What the status bar says about the view: what is shown, out of what, and what is searchable."""
        c = self.counts
        shown = self.grid_model.rowCount()
        photos = c.get("photos", 0)
        if self.grid_model.is_search:
            text = f"{shown:,} of {plural(self.grid_model.total, 'result')}"
        elif self.filters() != Filters() and photos:
            text = f"{shown:,} of {plural(photos, 'photo')}"  # a folder, tag or date narrows the view
        else:
            text = plural(photos if photos else shown, "photo")
        if self.model_service.state in (CHECKING, LOADING) and self.embedder is None:
            text += " · loading the model…"  # not "0 searchable": nothing is wrong, it is on its way
        elif photos:
            text += f" · {c.get('embedded', 0):,} searchable"
        selected = len(self.grid.selectionModel().selectedIndexes()) if self.grid.selectionModel() else 0
        if selected > 1:
            text += f" · {selected:,} selected"
        return text


class OnResize(QObject):
    """Calls `callback` after `widget` changes size (an event filter, so no subclass is needed)."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._callback()
        return False


_UNOWNED_BOXES: set[QMessageBox] = set()


def say_where(parent: QWidget | None, path: str | os.PathLike[str], what: str, missing: str) -> None:
    """No program took the file or folder: say where it is (selectable, to copy)."""
    box = QMessageBox(QMessageBox.Icon.Information, what, f"{what} is here:\n\n{os.fspath(path)}", QMessageBox.StandardButton.Ok, parent)
    box.setInformativeText(f"No program to open {missing} was found on this computer; copy the path above.")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if parent is None:  # nothing owns it (the app was not the active window): keep it until closed
        _UNOWNED_BOXES.add(box)
        box.finished.connect(lambda _result: _UNOWNED_BOXES.discard(box))
    box.open()


def _say_where_it_is(target: str) -> None:
    if os.path.isdir(target):
        say_where(QApplication.activeWindow(), target, "The folder", "folders")
    else:
        say_where(QApplication.activeWindow(), target, "The photo", "this kind of file")


def open_path(path: str | os.PathLike[str], on_failed: Callable[[str], None] = _say_where_it_is) -> bool:
    """Hand a file or folder to the desktop; False when no program could be asked. When the
    desktop answers later that none could open it, `on_failed` says where it is instead."""
    return open_with_desktop(path, on_failed)


def open_folder_or_say_where(parent: QWidget, folder: str | os.PathLike[str], what: str) -> None:
    """Open a folder in the file manager; without one, say where it is (selectable, to copy)."""
    if not open_path(folder, lambda target: say_where(parent, target, what, "folders")):
        say_where(parent, folder, what, "folders")


def open_paths(photos: list[Photo]) -> None:
    for photo in photos:
        open_path(photo.path)


def copy_paths(photos: list[Photo]) -> None:
    QGuiApplication.clipboard().setText("\n".join(p.path for p in photos))
