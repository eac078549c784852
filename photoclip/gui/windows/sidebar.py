"""The sidebar (folders, problems, tags) and what indexing shows in the window."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint
from PySide6.QtWidgets import (
    QFileDialog,
    QMenu,
)

from photoclip.app import library as library_ops
from photoclip.app.changes import Changes
from photoclip.app.tags import tag_names
from photoclip.app.words import plural
from photoclip.core.db import display_path
from photoclip.core.ingest.pipeline import IndexProgress
from photoclip.gui.qtcompat import emit
from photoclip.gui.services.workers import LibraryContext
from photoclip.gui.widgets import ask
from photoclip.gui.windows.base import WindowPart
from photoclip.gui.windows.grid_actions import open_path

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000  # results fetched per query; the min-score slider filters these live
TYPING_DELAY_MS = 350  # search-as-you-type waits for a pause in typing
MIN_EDGE, MAX_EDGE, EDGE_STEP = 80, 320, 20


class Sidebar(WindowPart):
    _sidebar_due = False  # a change arrived while `sidebar_timer` ran: refresh when it ends
    # == library and sidebar ================================================================

    def refresh_sidebar(self) -> None:
        model_id = getattr(self.embedder, "model_id", None)

        def job(ctx: LibraryContext) -> dict[str, Any]:
            lib = ctx.lib
            return {
                "folders": lib.folders(model_id),
                "counts": lib.counts(model_id),
                "skipped": lib.skipped(),
                "tags": tag_names(lib),
            }

        self.library.call(job, self._sidebar_loaded)

    def _sidebar_loaded(self, data: dict[str, Any]) -> None:
        current = self.folder_filter
        self.folder_view.selectionModel().blockSignals(True)
        self.folder_model.set_folders(data["folders"], data["counts"])
        self.folder_view.setCurrentIndex(self.folder_model.index(self.folder_model.row_of(current), 0))
        self.folder_view.selectionModel().blockSignals(False)
        self.problems_model.set_problems(data["skipped"])
        self.problems_button.setText(f"Problems ({len(data['skipped']):,})")
        self.counts = data["counts"]
        # The tag filtered by, not the box's text: "boat (1)" kept as text after the count
        # changed would filter by a tag of that name, which does not exist.
        chosen = self.tag_filter()
        self.tag_combo.blockSignals(True)
        self.tag_combo.clear()
        self.tag_combo.addItem("", "")
        for name, count in data["tags"]:
            self.tag_combo.addItem(f"{name} ({count})", name)
        self.tag_combo.blockSignals(False)
        self._show_tag(chosen or "")  # a typed name that is no tag stays as typed
        # The drop-down as wide as its longest name (the combo itself stays narrow in the filter bar).
        view = self.tag_combo.view()
        view.setMinimumWidth(view.sizeHintForColumn(0) + view.verticalScrollBar().sizeHint().width() + 8)
        self.tag_list.set_tags(data["tags"], self.tag_filter())
        self._update_counts()
        self._update_page()
        emit(self.sidebar_refreshed)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos", ask.pictures_folder())
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        """Add a folder (a write: on the library thread), then index it."""

        def added(changes: Changes) -> None:
            self.apply_changes(changes)
            self.indexer.start()

        self.library.call(lambda ctx: library_ops.add_folder(ctx.lib, folder), added, self._report_error)

    def remove_folder(self, folder: str, *, confirm: bool = True) -> None:
        if confirm and not ask.confirm(
            self,
            "Remove folder",
            f"Stop showing the photos in\n{display_path(folder)}?",
            "Remove Folder",
            details="photoclip forgets them (and their tags); the files on disk are not touched.",
        ):
            return

        def removed(changes: Changes) -> None:
            if self.folder_filter == folder:
                self.folder_filter = None
            self.apply_changes(changes)
            self.run_query()

        def remove() -> None:
            self.library.call(lambda ctx: library_ops.remove_folder(ctx.lib, folder), removed, self._report_error)

        if self.indexer.running:
            # The indexer may be writing rows of that folder: stop it first, remove, then go on.
            self._after_index.append(remove)
            self._after_index.append(self.indexer.start)
            self.indexer.cancel()
        else:
            remove()

    def _remove_selected_folder(self) -> None:
        folder = self.folder_model.folder(self.folder_view.currentIndex().row())
        if folder is not None:
            self.remove_folder(folder.path)

    def rescan(self) -> None:
        if not self.rescan_elsewhere():
            self.indexer.start()

    def _folder_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        folder = self.folder_model.folder(current.row())
        self.folder_filter = folder.path if folder else None
        if self.problems_button.isChecked():
            self.problems_button.setChecked(False)
        self.run_query()

    def _folder_menu(self, pos: QPoint) -> None:
        folder = self.folder_model.folder(self.folder_view.indexAt(pos).row())
        if folder is None:
            return
        menu = QMenu(self)
        menu.addAction("Open folder", lambda: open_path(folder.path))
        menu.addAction("Rescan", self.rescan)
        menu.addAction("Remove from library…", lambda: self.remove_folder(folder.path))
        menu.exec(self.folder_view.viewport().mapToGlobal(pos))

    def _show_problems(self, on: bool) -> None:
        self._update_page()

    # == indexing ===============================================================================

    def _index_running(self, running: bool) -> None:
        self.index_status.setVisible(running or self.watching.other is not None)
        self.index_status.set_paused(False)
        if not running:
            queued, self._after_index = self._after_index, []
            for fn in queued:
                fn()

    def _toggle_pause(self) -> None:
        if self.indexer.paused:
            self.indexer.resume()
        else:
            self.indexer.pause()

    def _index_progress(self, event: IndexProgress) -> None:
        self.index_status.show_progress(event.phase, event.done, event.total, event.seen, event.eta, self.indexer.paused)
        # The scan found the photos: show them now, while they are read and embedded.
        found = event.phase == "index" and event.done == 0 and event.total > 0
        if found and self.search_bar.is_empty():
            self.browse(keep_order=True)  # new photos join the end; the grid reorders when the pass ends
        self.refresh_sidebar_soon(now=found)  # the counts of the photos found come with them

    def refresh_sidebar_soon(self, *, now: bool = False) -> None:
        """The sidebar's counts follow indexing at most once per `sidebar_timer` interval.

        The first change refreshes them at once (they used to wait for the timer, a second
        and a half behind the grid that had just shown the photos); changes within the
        interval are gathered into one more refresh when it ends, so the last one is never lost.
        The refresh itself runs on the library thread.
        """
        if self.sidebar_timer.isActive() and not now:
            self._sidebar_due = True
            return
        self._sidebar_due = False
        self.refresh_sidebar()
        self.sidebar_timer.start()

    def _sidebar_timer_ended(self) -> None:
        if self._sidebar_due:
            self.refresh_sidebar_soon()

    def _tags_edited(self, changes: Changes) -> None:
        # The tagging commands already told the user what happened: no second message.
        self.apply_changes(replace(changes, message=""))

    def _index_finished(self, final: IndexProgress) -> None:
        gone = self._unavailable_folders(final)
        if final.cancelled:
            self.statusBar().showMessage("Indexing cancelled; it resumes where it stopped on the next rescan.", 8000)
        elif final.total and self.embedder is None:
            self.statusBar().showMessage(
                f"Read {plural(final.done, 'photo')} ({final.skipped:,} skipped); they become searchable once a model is ready.{gone}",
                8000,
            )
        elif final.total:
            self.statusBar().showMessage(
                f"Indexed {plural(final.done, 'photo')} ({final.embedded:,} made searchable, {final.skipped:,} skipped).{gone}", 8000
            )
        elif gone:
            self.statusBar().showMessage(gone.strip(), 10000)
        self.refresh_sidebar()
        self.run_query()  # new photos and vectors: show them

    def _unavailable_folders(self, final: IndexProgress) -> str:
        """Library folders the scan could not reach (an unplugged drive, a folder renamed or
        replaced by a file), in words. Before, a Rescan then said nothing at all while the
        folder's photos stayed in the grid."""
        folders = {folder.path for folder in self.folder_model.folders}
        gone = [path for path, _reason in (final.scan.problems if final.scan else []) if path in folders]
        if final.scan is not None and not final.cancelled:
            self.folder_model.set_unavailable(gone)  # the list keeps saying it once the status bar has moved on
        if not gone:
            return ""
        name = os.path.basename(os.path.normpath(gone[0])) or gone[0]
        more, whose = (f" and {plural(len(gone) - 1, 'other folder')}", "their") if len(gone) > 1 else ("", "its")
        return f" “{display_path(name)}”{more} could not be read (moved, deleted or not mounted): {whose} photos are kept as they were."

    def _index_failed(self, message: str) -> None:
        self.banner.show_message(f"Indexing stopped: {message}", "Try again", None)
        self.banner.first.clicked.disconnect()
        self.banner.first.clicked.connect(self._retry_index)

    def _retry_index(self) -> None:
        self.banner.hide()
        self._reconnect_banner()
        self.rescan()

    def _reconnect_banner(self) -> None:
        self.banner.first.clicked.disconnect()
        self.banner.first.clicked.connect(self._banner_first)
