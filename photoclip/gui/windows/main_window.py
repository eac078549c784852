"""The main window: sidebar (folders, problems), search bar with chips, the photo grid, status bar.

It wires the pieces together and shows what core returns. Work happens elsewhere:
database reads, writes and searches on the library thread (`LibraryRunner`),
model loading and downloads in the job pool (`TaskRunner`), indexing on its own
QThread (`IndexController`), thumbnails in `ThumbnailLoader`'s workers.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QDate, QMimeData, QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QGuiApplication,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoclip import __version__
from photoclip.app import library as library_ops
from photoclip.app.changes import Changes
from photoclip.app.fetch import fetch_image, store_image_bytes
from photoclip.app.tags import photos_with_tag, tag_names
from photoclip.core import paths
from photoclip.core.db import Photo, display_path
from photoclip.core.errors import PhotoclipError
from photoclip.core.ingest.pipeline import IndexProgress
from photoclip.core.search import Filters, QueryTerm, Result
from photoclip.core.settings import Settings
from photoclip.gui.dialogs.settings import CHECKPOINT_FILTER, SettingsDialog
from photoclip.gui.dialogs.viewer import ViewerDialog
from photoclip.gui.models import (
    SORT_DATE,
    SORT_NAME,
    SORT_RELEVANCE,
    Entry,
    FolderModel,
    PhotoGridModel,
    ProblemsModel,
)
from photoclip.gui.qtcompat import emit, keep_singletons_alive
from photoclip.gui.services.indexer import IndexController
from photoclip.gui.services.model_service import CHECKING, LOADING, MISSING, READY, UNAVAILABLE, ModelService
from photoclip.gui.services.reveal import show_in_file_manager
from photoclip.gui.services.thumbnails import ThumbnailLoader
from photoclip.gui.services.workers import LibraryRunner, TaskRunner
from photoclip.gui.widgets import Banner, ChipTerm, EmptyState, IndexStatus, PhotoDelegate, SearchBar
from photoclip.gui.widgets.tag_list import TagListPanel
from photoclip.gui.windows.tagging import TaggingCommands

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000  # results fetched per query; the min-score slider filters these live
TYPING_DELAY_MS = 350  # search-as-you-type waits for a pause in typing
MIN_EDGE, MAX_EDGE, EDGE_STEP = 80, 320, 20


class MainWindow(QMainWindow):
    # Emitted when a query's results (or the browse list) are in the grid: tests and the script driver wait on it.
    results_shown = Signal(bool)  # True for a search, False for browsing
    sidebar_refreshed = Signal()

    def __init__(self, db_path: Path, settings: Settings | None = None, *, load_model: bool = True) -> None:
        super().__init__()
        keep_singletons_alive()
        self.db_path = Path(db_path)
        self.settings = settings or Settings.load()
        self.thumbnail_dir = paths.thumbnail_dir()
        self.setWindowTitle("photoclip")
        self.setAcceptDrops(True)

        self.pool = TaskRunner("jobs", max_workers=3, parent=self)
        self.library = LibraryRunner(self.db_path, parent=self)
        self.pool.unhandled = self.library.unhandled = self._report_error
        self.thumbs = ThumbnailLoader(self.thumbnail_dir, parent=self)
        self.indexer = IndexController(self.db_path, self.thumbnail_dir, parent=self)
        self.model_service = ModelService(self.pool, parent=self)
        self.indexer.write_xmp = self.settings.write_xmp
        self.tagging = TaggingCommands(self.db_path, self.library, lambda: self.embedder, lambda: self.settings.write_xmp, self)

        self.grid_model = PhotoGridModel(self.thumbs, self)
        self.folder_model = FolderModel(self)
        self.problems_model = ProblemsModel(self)
        self.folder_filter: str | None = None
        self.counts: dict[str, int] = {}
        self._query_token: int | None = None
        self._pending_query = False
        self._after_index: list[Callable[[], None]] = []
        self._closed = False
        self._viewer: ViewerDialog | None = None

        self._build_ui()
        self._build_actions()
        self._connect()
        self._restore_geometry()
        self.refresh_sidebar()
        self.browse()
        if load_model:
            # After the first paint: the window is on screen before torch is even imported.
            QTimer.singleShot(0, self.load_model)

    # == layout ===================================================================

    def _build_ui(self) -> None:
        self.search_bar = SearchBar(self)
        self.typing_timer = QTimer(self)
        self.typing_timer.setSingleShot(True)
        self.typing_timer.setInterval(TYPING_DELAY_MS)

        # sidebar
        sidebar = QWidget(self)
        side = QVBoxLayout(sidebar)
        side.setContentsMargins(6, 6, 0, 6)
        title = QLabel("<b>Library</b>", sidebar)
        self.folder_view = QListView(sidebar)
        self.folder_view.setModel(self.folder_model)
        self.folder_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.folder_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        buttons = QHBoxLayout()
        self.add_button = QToolButton(sidebar)
        self.add_button.setText("Add…")
        self.remove_button = QToolButton(sidebar)
        self.remove_button.setText("Remove")
        self.rescan_button = QToolButton(sidebar)
        self.rescan_button.setText("Rescan")
        for b in (self.add_button, self.remove_button, self.rescan_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.problems_button = QPushButton("Problems (0)", sidebar)
        self.problems_button.setCheckable(True)
        self.problems_button.setToolTip("Files that could not be read, and why")
        self.tag_list = TagListPanel(sidebar)
        side.addWidget(title)
        side.addWidget(self.folder_view, 1)
        side.addLayout(buttons)
        side.addWidget(self.problems_button)
        side.addSpacing(8)
        side.addWidget(self.tag_list, 1)

        # filter row
        filters = QWidget(self)
        row = QHBoxLayout(filters)
        row.setContentsMargins(0, 0, 0, 0)
        self.date_check = QCheckBox("Taken from", filters)
        self.date_from = QDateEdit(QDate.currentDate().addYears(-1), filters)
        self.date_to = QDateEdit(QDate.currentDate(), filters)
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.setEnabled(False)
        self.tag_combo = QComboBox(filters)
        self.tag_combo.setEditable(True)
        self.tag_combo.setMinimumWidth(120)
        self.tag_combo.lineEdit().setPlaceholderText("Any tag")
        self.tag_combo.setToolTip("Only photos with this tag")
        self.min_score = QSlider(Qt.Orientation.Horizontal, filters)
        self.min_score.setRange(0, 100)
        self.min_score.setFixedWidth(110)
        self.min_score.setToolTip("Hide results scoring below this")
        self.min_score_label = QLabel("Min score 0.00", filters)
        self.sort_combo = QComboBox(filters)
        self.sort_combo.addItem("Relevance", SORT_RELEVANCE)
        self.sort_combo.addItem("Date taken", SORT_DATE)
        self.sort_combo.addItem("Name", SORT_NAME)
        self.sort_combo.setCurrentIndex(1)
        self.size_slider = QSlider(Qt.Orientation.Horizontal, filters)
        self.size_slider.setRange(MIN_EDGE, MAX_EDGE)
        self.size_slider.setSingleStep(EDGE_STEP)
        self.size_slider.setPageStep(EDGE_STEP)
        self.size_slider.setFixedWidth(110)
        self.size_slider.setToolTip("Thumbnail size (Ctrl+= / Ctrl+-)")
        for w in (
            self.date_check,
            self.date_from,
            QLabel("to", filters),
            self.date_to,
            QLabel("  Tag", filters),
            self.tag_combo,
            QLabel("  ", filters),
            self.min_score_label,
            self.min_score,
        ):
            row.addWidget(w)
        row.addStretch(1)
        for w in (QLabel("Sort", filters), self.sort_combo, QLabel("  Size", filters), self.size_slider):
            row.addWidget(w)

        # grid and the pages that can replace it
        self.banner = Banner(self)
        self.grid = QListView(self)
        self.grid.setObjectName("grid")
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setUniformItemSizes(True)  # one size for all cells: layout stays O(1) over 100k photos
        self.grid.setLayoutMode(QListView.LayoutMode.Batched)
        self.grid.setBatchSize(2000)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setDragEnabled(True)
        self.grid.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.grid.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.grid.setAcceptDrops(False)  # drops go to the window: image search or a new folder
        self.grid.setMouseTracking(True)
        self.grid.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.setSpacing(4)
        self.delegate = PhotoDelegate(self.grid)
        self.grid.setItemDelegate(self.delegate)
        self.grid.setModel(self.grid_model)
        self.empty = EmptyState(self)
        self.no_results = QLabel("No photos match. Try other words, lower the minimum score, or clear the filters.", self)
        self.no_results.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.problems = QTableView(self)
        self.problems.setModel(self.problems_model)
        self.problems.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.problems.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.problems.verticalHeader().hide()
        self.problems.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.pages = QStackedWidget(self)
        for page in (self.grid, self.empty, self.no_results, self.problems):
            self.pages.addWidget(page)

        right = QWidget(self)
        main = QVBoxLayout(right)
        main.setContentsMargins(6, 6, 6, 0)
        main.addWidget(self.search_bar)
        main.addWidget(filters)
        main.addWidget(self.banner)
        main.addWidget(self.pages, 1)
        self.splitter = QSplitter(self)
        self.splitter.addWidget(sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 980])
        self.setCentralWidget(self.splitter)

        # status bar
        self.model_label = QLabel("Model: starting…", self)
        self.count_label = QLabel("", self)
        self.index_status = IndexStatus(self)
        self.index_status.hide()
        for label in (self.model_label, self.count_label):
            label.setContentsMargins(10, 0, 10, 0)
        # Permanent widgets: passing messages (left) never hide the model state or the counts.
        self.statusBar().addPermanentWidget(self.index_status)
        self.statusBar().addPermanentWidget(self.tagging.status)
        self.statusBar().addPermanentWidget(self.count_label)
        self.statusBar().addPermanentWidget(self.model_label)
        self.set_thumbnail_edge(self.settings.thumbnail_edge)

    def _build_actions(self) -> None:
        def action(text: str, slot: Callable[[], object], keys: object = None, where: QWidget | None = None) -> QAction:
            act = QAction(text, where or self)
            if keys is not None:
                act.setShortcuts(keys if isinstance(keys, list) else [QKeySequence(keys)])
            act.triggered.connect(slot)
            if where is not None:
                act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
                where.addAction(act)
            return act

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(action("&Add folder…", self.choose_folder, QKeySequence.StandardKey.Open))
        file_menu.addAction(action("&Rescan folders", self.rescan, "F5"))
        file_menu.addSeparator()
        file_menu.addAction(action("&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences))
        file_menu.addSeparator()
        file_menu.addAction(action("&Quit", self.close, QKeySequence.StandardKey.Quit))
        edit = bar.addMenu("&Edit")
        edit.addAction(action("&Find", self.focus_search, QKeySequence.StandardKey.Find))
        edit.addAction(action("&Clear search", self.clear_search, "Esc"))
        edit.addAction(action("&Paste image as query", self.paste_image, "Ctrl+Shift+V"))
        self.trash_action = action("Move to &trash…", self.trash_selected, QKeySequence.StandardKey.Delete, self.grid)
        edit.addAction(self.trash_action)
        view = bar.addMenu("&View")
        view.addAction(action("&Bigger thumbnails", lambda: self.step_thumbnail(+1), [QKeySequence("Ctrl+="), QKeySequence("Ctrl++")]))
        view.addAction(action("&Smaller thumbnails", lambda: self.step_thumbnail(-1), "Ctrl+-"))
        view.addAction(action("&Problems", lambda: self.problems_button.click()))
        tools = bar.addMenu("&Tools")
        self.labels_action = action("&Labels…", self.open_labels, "Ctrl+L")
        tools.addAction(self.labels_action)
        self.tagging.add_to_menu(tools)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(action("Open &log folder", lambda: open_path(paths.log_dir())))
        help_menu.addAction(action("&About photoclip", self.about))
        # In the grid: Enter opens the viewer (QListView.activated), Ctrl+V searches by a pasted image.
        action("Paste image", self.paste_image, QKeySequence.StandardKey.Paste, self.grid)

    def _connect(self) -> None:
        self.search_bar.text_edited.connect(self.typing_timer.start)
        self.search_bar.query_changed.connect(self.run_query)
        self.search_bar.image_dropped.connect(self.handle_mime)
        self.typing_timer.timeout.connect(self.run_query)
        self.folder_view.selectionModel().currentChanged.connect(self._folder_selected)
        self.folder_view.customContextMenuRequested.connect(self._folder_menu)
        self.add_button.clicked.connect(self.choose_folder)
        self.remove_button.clicked.connect(self._remove_selected_folder)
        self.rescan_button.clicked.connect(self.rescan)
        self.problems_button.toggled.connect(self._show_problems)
        self.date_check.toggled.connect(self._date_toggled)
        self.date_from.dateChanged.connect(self.run_query)
        self.date_to.dateChanged.connect(self.run_query)
        self.tag_combo.lineEdit().editingFinished.connect(self.run_query)
        self.tag_combo.activated.connect(self.run_query)
        self.tag_list.chosen.connect(self.set_tag_filter)
        self.min_score.valueChanged.connect(self._min_score_changed)
        self.sort_combo.currentIndexChanged.connect(self._sort_changed)
        self.size_slider.valueChanged.connect(self.set_thumbnail_edge)
        self.grid.activated.connect(self.open_viewer)
        self.grid.customContextMenuRequested.connect(self._grid_menu)
        self.grid.selectionModel().selectionChanged.connect(self._update_counts)
        self.grid_model.modelReset.connect(self._update_page)
        self.grid_model.rowsRemoved.connect(self._update_page)
        self.empty.add_clicked.connect(self.choose_folder)
        self.banner.first.clicked.connect(self._banner_first)
        self.banner.second.clicked.connect(self._banner_second)
        self.index_status.pause_clicked.connect(self._toggle_pause)
        self.index_status.cancel_clicked.connect(self.indexer.cancel)
        self.indexer.progress.connect(self._index_progress)
        self.indexer.finished.connect(self._index_finished)
        self.indexer.failed.connect(self._index_failed)
        self.indexer.running_changed.connect(self._index_running)
        self.indexer.sidecars_due.connect(self.tagging.write_sidecars_for)
        self.indexer.paused_changed.connect(self.index_status.set_paused)
        self.model_service.state_changed.connect(self._model_state)
        self.model_service.download_progress.connect(self._download_progress)
        self.model_service.ready.connect(self._model_ready)
        self.tagging.message.connect(self.statusBar().showMessage)
        self.tagging.tags_changed.connect(self._tags_edited)
        self.sidebar_timer = QTimer(self)
        self.sidebar_timer.setSingleShot(True)
        self.sidebar_timer.setInterval(1500)
        self.sidebar_timer.timeout.connect(self.refresh_sidebar)
        self.guard_timer = QTimer(self)  # see qtcompat: keeps a binding bug from ever crashing a long session
        self.guard_timer.setInterval(60_000)
        self.guard_timer.timeout.connect(keep_singletons_alive)
        self.guard_timer.start()

    # == model ========================================================================

    def load_model(self, *, download: bool = False) -> None:
        self.model_service.start(self.settings.model_choice(), download=download)

    @property
    def embedder(self) -> object | None:
        return self.model_service.embedder

    def _model_state(self, state: str, message: str) -> None:
        text = {
            CHECKING: f"Model: checking {message}…",
            LOADING: f"Model: loading {message}…",
            READY: f"Model: {message} ready",
            MISSING: "Model: not downloaded",
            UNAVAILABLE: "Model: not available",
        }[state]
        self.model_label.setText(text)
        self.model_label.setToolTip(message)
        if state == MISSING:
            self.banner.show_message(message, "Download model", "Choose checkpoint file…")
        elif state == UNAVAILABLE:
            self.banner.show_message(f"Search is not available: {message}", "Try again (download)", "Choose checkpoint file…")
        else:
            self.banner.hide()
        if state in (MISSING, UNAVAILABLE):
            self.indexer.set_embedder(None)
            self.indexer.start()  # still catalogue photos and make thumbnails: browsing works

    def _download_progress(self, done: int, total: int) -> None:
        if total:
            self.model_label.setText(f"Model: downloading {done / total:.0%} of {total / 1e6:.0f} MB…")
        else:
            self.model_label.setText(f"Model: downloading {done / 1e6:.0f} MB…")

    def _model_ready(self, embedder: object) -> None:
        self.indexer.set_embedder(embedder)
        self.indexer.start()
        self.refresh_sidebar()
        if self._pending_query or not self.search_bar.is_empty():
            self._pending_query = False
            self.run_query()

    def _banner_first(self) -> None:
        self.load_model(download=True)

    def _banner_second(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model checkpoint", "", CHECKPOINT_FILTER)
        if path:
            self.settings.weights = path
            self.settings.save()
            self.load_model()

    # == library and sidebar ================================================================

    def refresh_sidebar(self) -> None:
        model_id = getattr(self.embedder, "model_id", None)

        def job(ctx) -> dict:
            lib = ctx.lib
            return {
                "folders": lib.folders(model_id),
                "counts": lib.counts(model_id),
                "skipped": lib.skipped(),
                "tags": tag_names(lib),
            }

        self.library.call(job, self._sidebar_loaded)

    def _sidebar_loaded(self, data: dict) -> None:
        current = self.folder_filter
        self.folder_view.selectionModel().blockSignals(True)
        self.folder_model.set_folders(data["folders"], data["counts"])
        self.folder_view.setCurrentIndex(self.folder_model.index(self.folder_model.row_of(current), 0))
        self.folder_view.selectionModel().blockSignals(False)
        self.problems_model.set_problems(data["skipped"])
        self.problems_button.setText(f"Problems ({len(data['skipped']):,})")
        self.counts = data["counts"]
        typed = self.tag_combo.currentText()
        self.tag_combo.blockSignals(True)
        self.tag_combo.clear()
        self.tag_combo.addItem("", "")
        for name, count in data["tags"]:
            self.tag_combo.addItem(f"{name} ({count})", name)
        self.tag_combo.setEditText(typed)
        self.tag_combo.blockSignals(False)
        self.tag_list.set_tags(data["tags"], self.tag_filter())
        self._update_counts()
        self._update_page()
        emit(self.sidebar_refreshed)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        """Add a folder (a write: on the library thread), then index it."""

        def added(changes: Changes) -> None:
            self.apply_changes(changes)
            self.indexer.start()

        self.library.call(lambda ctx: library_ops.add_folder(ctx.lib, folder), added, self._report_error)

    def remove_folder(self, folder: str, *, confirm: bool = True) -> None:
        if confirm:
            answer = QMessageBox.question(
                self,
                "Remove folder",
                f"Stop showing the photos in\n{display_path(folder)}?\n\n"
                "photoclip forgets them (and their tags); the files on disk are not touched.",
            )
            if answer != QMessageBox.StandardButton.Yes:
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
        self.indexer.start()

    def _folder_selected(self, current, _previous) -> None:
        folder = self.folder_model.folder(current.row())
        self.folder_filter = folder.path if folder else None
        if self.problems_button.isChecked():
            self.problems_button.setChecked(False)
        self.run_query()

    def _folder_menu(self, pos) -> None:
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
        self.index_status.setVisible(running)
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
        if event.phase == "index" and event.done == 0 and event.total and self.search_bar.is_empty():
            self.browse()
        if not self.sidebar_timer.isActive():
            self.sidebar_timer.start()

    def _tags_edited(self, changes: Changes) -> None:
        # The tagging commands already told the user what happened: no second message.
        self.apply_changes(replace(changes, message=""))

    def _index_finished(self, final: IndexProgress) -> None:
        if final.cancelled:
            self.statusBar().showMessage("Indexing cancelled; it resumes where it stopped on the next rescan.", 8000)
        elif final.total and self.embedder is None:
            self.statusBar().showMessage(
                f"Read {final.done:,} photos ({final.skipped:,} skipped); they become searchable once a model is ready.",
                8000,
            )
        elif final.total:
            self.statusBar().showMessage(
                f"Indexed {final.done:,} photos ({final.embedded:,} made searchable, {final.skipped:,} skipped).", 8000
            )
        self.refresh_sidebar()
        self.run_query()  # new photos and vectors: show them

    def _index_failed(self, message: str) -> None:
        self.banner.show_message(f"Indexing stopped: {message}", "Try again", None)
        self.banner.first.clicked.disconnect()
        self.banner.first.clicked.connect(lambda: (self.banner.hide(), self._reconnect_banner(), self.rescan()))

    def _reconnect_banner(self) -> None:
        self.banner.first.clicked.disconnect()
        self.banner.first.clicked.connect(self._banner_first)

    # == queries ====================================================================================

    def filters(self) -> Filters:
        date_from = date_to = None
        if self.date_check.isChecked():
            date_from = self.date_from.date().toPython()
            date_to = self.date_to.date().toPython()
        return Filters(folder=self.folder_filter, date_from=date_from, date_to=date_to, label=self.tag_filter())

    def tag_filter(self) -> str | None:
        data = self.tag_combo.currentData()
        text = self.tag_combo.currentText().strip()
        if data and self.tag_combo.itemText(self.tag_combo.currentIndex()) == text:
            return str(data)
        return text or None

    def set_tag_filter(self, name: str) -> None:
        """Show only photos with this tag ("" for all), as choosing it in the filter row would."""
        index = self.tag_combo.findData(name) if name else 0
        self.tag_combo.setCurrentIndex(max(index, 0))
        if index < 0:
            self.tag_combo.setEditText(name)
        self.run_query()

    def run_query(self) -> None:
        """Search with the bar's terms, or browse the library when the bar is empty."""
        self.typing_timer.stop()
        if self._closed:
            return
        self.tag_list.select(self.tag_filter())
        terms = self.search_bar.terms()
        if not terms:
            self.browse()
        else:
            self.search(terms)

    def search(self, terms: list[QueryTerm]) -> None:
        embedder = self.embedder
        if embedder is None:
            self._pending_query = True
            state = self.model_service.state
            why = "is still loading" if state in (CHECKING, LOADING) else "is not available"
            self.statusBar().showMessage(f"Search waits for the model, which {why}.", 5000)
            return
        filters = self.filters()
        self._start_query(
            lambda ctx: ctx.searcher(embedder).search(terms, limit=SEARCH_LIMIT, filters=filters),
            self._show_results,
        )

    def find_similar(self, photo_id: int) -> None:
        """Replace the query with one photo: "find similar"."""
        row = self.grid_model.row_of(photo_id)
        name = self.grid_model.photo(row).name if row is not None else f"photo {photo_id}"
        self.search_bar.add_chip(ChipTerm("photo", photo_id, 1.0, name), replace=True)

    def more_like(self, photo: Photo, weight: float) -> None:
        """ "More like this" / "less like this": a + or - chip for that photo."""
        self.search_bar.add_chip(ChipTerm("photo", photo.id, weight, photo.name))

    def search_image_file(self, path: str) -> None:
        self.search_bar.add_chip(ChipTerm("image", os.path.abspath(path), 1.0, os.path.basename(path)), replace=True)

    def browse(self) -> None:
        filters = self.filters()
        order = "name" if self.grid_model.sort == SORT_NAME else "taken"

        def job(ctx) -> list[Photo]:
            photos = ctx.lib.all_photos(order=order)
            return filter_photos(ctx.lib, photos, filters)

        self._start_query(job, self._show_library)

    def _start_query(self, fn: Callable, on_done: Callable) -> None:  # type: ignore[type-arg]
        if self._query_token is not None:
            self.library.discard(self._query_token)  # a newer query makes the running one stale
        self._query_token = self.library.call(fn, on_done, self._query_failed)

    def _show_results(self, results: list[Result]) -> None:
        self._query_token = None
        if not self.grid_model.is_search and self.sort_combo.currentData() == SORT_DATE:
            self.sort_combo.setCurrentIndex(self.sort_combo.findData(SORT_RELEVANCE))  # a new search: best first
        self.grid_model.set_entries((Entry(r.photo, r.score) for r in results), is_search=True)
        self.min_score.setEnabled(True)
        if self.grid_model.rowCount():
            self.grid.setCurrentIndex(self.grid_model.index(0, 0))
        emit(self.results_shown, True)

    def _show_library(self, photos: list[Photo]) -> None:
        self._query_token = None
        if self.grid_model.is_search and self.sort_combo.currentData() == SORT_RELEVANCE:
            self.sort_combo.setCurrentIndex(self.sort_combo.findData(SORT_DATE))  # browsing: newest first
        self.grid_model.set_photos(photos)
        self.min_score.setEnabled(False)
        emit(self.results_shown, False)

    def _query_failed(self, exc: BaseException) -> None:
        self._query_token = None
        if isinstance(exc, PhotoclipError):
            self.statusBar().showMessage(str(exc), 8000)
        else:
            self._report_error(exc)

    def clear_search(self) -> None:
        """Esc: back to the whole library, newest first."""
        if self.problems_button.isChecked():
            self.problems_button.setChecked(False)
        if not self.search_bar.is_empty():
            self.search_bar.clear()
        self.grid.setFocus()

    def focus_search(self) -> None:
        self.search_bar.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_bar.edit.selectAll()

    def _min_score_changed(self, value: int) -> None:
        self.min_score_label.setText(f"Min score {value / 100:.2f}")
        self.grid_model.set_min_score(value / 100 if value else None)

    def _sort_changed(self) -> None:
        self.grid_model.set_sort(self.sort_combo.currentData())
        self._update_page()

    def _date_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.run_query()

    # == drops and paste ====================================================================

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        if self.handle_mime(event.mimeData()):
            event.acceptProposedAction()

    def handle_mime(self, mime: QMimeData) -> bool:
        """A drop or paste: folders are added, an image (file, URL or data) becomes the query."""
        folders = []
        for url in mime.urls():
            if url.isLocalFile():
                path = url.toLocalFile()
                if os.path.isdir(path):
                    folders.append(path)
                elif os.path.isfile(path):
                    self.search_image_file(path)
                    return True
            elif url.scheme() in ("http", "https"):
                self._fetch_url(url.toString())
                return True
        for folder in folders:
            self.add_folder(folder)
        if folders:
            return True
        if mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self._search_qimage(image)
                return True
        if mime.urls():
            self.statusBar().showMessage("Only image files, folders and http(s) image addresses can be dropped.", 6000)
        return False

    def _fetch_url(self, url: str) -> None:
        self.statusBar().showMessage(f"Downloading {url}…")
        self.pool.run(lambda: fetch_image(url), self.search_image_file, self._query_failed)

    def _search_qimage(self, image: QImage) -> None:
        def save() -> str:
            # QImage (unlike QPixmap) may be used in any thread.
            from PySide6.QtCore import QBuffer, QIODevice

            buffer = QBuffer()
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            image.save(buffer, "PNG")
            return store_image_bytes(bytes(buffer.data()), ".png")

        self.pool.run(save, lambda path: self.search_bar.add_chip(ChipTerm("image", path, 1.0, "pasted image"), replace=True))

    def paste_image(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self.handle_mime(mime):
            self.statusBar().showMessage("The clipboard holds no image to search with.", 5000)

    # == grid actions ======================================================================

    def selected_photos(self) -> list[Photo]:
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [self.grid_model.photo(r) for r in rows]

    def open_viewer(self, index) -> None:
        if not index.isValid():
            return
        if self._viewer is not None:
            self._viewer.close()
        viewer = ViewerDialog(self.grid_model, index.row(), self.pool, self.thumbnail_dir, open_path, self.tagging.actions, self)
        viewer.find_similar.connect(self.find_similar)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.destroyed.connect(lambda: setattr(self, "_viewer", None))
        self._viewer = viewer
        viewer.show()

    def _grid_menu(self, pos) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        if not self.grid.selectionModel().isSelected(index):
            self.grid.setCurrentIndex(index)
        photos = self.selected_photos()
        photo = self.grid_model.photo(index.row())
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.open_viewer(index))
        menu.addAction("Open with system viewer", lambda: [open_path(p.path) for p in photos])
        menu.addAction("Show in file manager", lambda: show_in_file_manager(photo.path, parent=self))
        menu.addAction("Copy path" if len(photos) == 1 else f"Copy {len(photos)} paths", lambda: copy_paths(photos))
        menu.addSeparator()
        menu.addAction("Find similar", lambda: self.find_similar(photo.id))
        menu.addAction("More like this", lambda: self.more_like(photo, 1.0))
        menu.addAction("Less like this", lambda: self.more_like(photo, -1.0))
        menu.addSeparator()
        menu.addAction("Add tag…", lambda: self.tagging.ask_add_tag(photos))
        menu.addAction("Remove tag…", lambda: self.tagging.ask_remove_tag(photos))
        tag = self.tag_filter()
        if tag and self.tag_combo.findData(tag) > 0:  # a label, not only a level of the tree
            # Browsing one tag is where wrong tags show up: correct them here, the label learns.
            what = "this photo" if len(photos) == 1 else f"these {len(photos)} photos"
            menu.addAction(f"Not “{tag}”: teach the label", lambda: self.tagging.teach(photos, tag, confirm=False))
            menu.addAction(f"Yes, {what}: “{tag}”", lambda: self.tagging.teach(photos, tag, confirm=True))
        menu.addSeparator()
        menu.addAction(self.trash_action)
        menu.exec(self.grid.viewport().mapToGlobal(pos))

    def trash_selected(self, *, confirm: bool = True) -> None:
        photos = self.selected_photos()
        if not photos:
            return
        if confirm:
            what = display_path(photos[0].name) if len(photos) == 1 else f"{len(photos)} photos"
            answer = QMessageBox.question(self, "Move to trash", f"Move {what} to the trash?\n\nYou can restore them from the trash.")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.library.call(lambda ctx: library_ops.trash_photos(ctx.lib, photos), self.apply_changes, self._report_error)

    def apply_changes(self, changes: Changes) -> None:
        """Refresh only what a use case says it changed (Anki's OpChanges idea)."""
        if changes.message:
            self.statusBar().showMessage(changes.message, 8000)
        if changes.photos_removed:
            self.grid_model.remove_ids(sorted(changes.photos_removed))
        if changes.library_changed:
            self.refresh_sidebar()
        if changes.tags_changed and self.tag_filter():
            self.run_query()  # the grid is filtered by a tag whose photos may have changed
        viewer = self._viewer
        # The viewer shows its photo's tags, and every label's threshold: a label edit or an
        # edit of this photo redraws it; an edit of other photos does not.
        if viewer is not None and (changes.labels_changed or (changes.tags_changed and changes.touches(viewer.photo.id))):
            viewer.refresh_labels()

    # == view ===================================================================================

    def set_thumbnail_edge(self, edge: int) -> None:
        edge = max(MIN_EDGE, min(MAX_EDGE, int(edge)))
        self.settings.thumbnail_edge = edge
        self.delegate.edge = edge
        self.thumbs.set_edge(round(edge * self.devicePixelRatioF()))
        self.grid.setGridSize(self.delegate.cell_size() + QSize(4, 4))
        if self.size_slider.value() != edge:
            self.size_slider.setValue(edge)
        self.grid.doItemsLayout()

    def step_thumbnail(self, direction: int) -> None:
        self.set_thumbnail_edge(self.delegate.edge + direction * EDGE_STEP)

    def _update_page(self) -> None:
        if self.problems_button.isChecked():
            page: QWidget = self.problems
        elif self.grid_model.rowCount():
            page = self.grid
        elif not self.counts.get("folders") and not self.grid_model.is_search:
            page = self.empty
        elif self.grid_model.is_search or self.grid_model.total or self.filters() != Filters():
            page = self.no_results
        else:
            page = self.grid
        self.pages.setCurrentWidget(page)
        self._update_counts()

    def _update_counts(self) -> None:
        c = self.counts
        shown = self.grid_model.rowCount()
        if self.grid_model.is_search:
            text = f"{shown:,} of {self.grid_model.total:,} results"
        else:
            text = f"{c.get('photos', 0):,} photos · {c.get('embedded', 0):,} searchable"
        selected = len(self.grid.selectionModel().selectedIndexes()) if self.grid.selectionModel() else 0
        if selected > 1:
            text += f" · {selected:,} selected"
        self.count_label.setText(text)

    # == settings, errors, lifecycle ==========================================================

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, [f.path for f in self.folder_model.folders], self.thumbnail_dir, self.pool, self)
        dialog.add_folder_requested.connect(self.choose_folder)
        dialog.remove_folder_requested.connect(self.remove_folder)
        dialog.cache_cleared.connect(self.thumbs.clear)
        self.sidebar_refreshed.connect(lambda: dialog.set_folders([f.path for f in self.folder_model.folders]))
        if dialog.exec() != dialog.DialogCode.Accepted:
            return
        new = dialog.result_settings()
        changed = (new.model, new.weights, new.device) != (self.settings.model, self.settings.weights, self.settings.device)
        new.thumbnail_edge = self.settings.thumbnail_edge
        turned_on = new.write_xmp and not self.settings.write_xmp
        self.settings = new
        self.settings.save()
        self.indexer.write_xmp = new.write_xmp
        if turned_on:
            self.tagging.export_sidecars(confirm=False)  # the user just asked for sidecars: bring them up to date
        if changed:
            self.indexer.cancel()
            self.load_model()

    def open_labels(self) -> QDialog:
        """The Labels dialog, non-modal; the tag filter is refreshed when it closes."""
        from photoclip.gui.dialogs.labels import LabelsDialog  # imported here: tagging loads only when asked for

        dialog = LabelsDialog(self.library, self.tagging, self.embedder, self, self.thumbs)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.model_service.ready.connect(dialog.set_embedder)
        dialog.finished.connect(lambda _: self.refresh_sidebar())
        dialog.open()
        return dialog

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About photoclip",
            f"<b>photoclip {__version__}</b><p>Find your photos by describing them or by example.</p>"
            f"<p>Everything stays on this computer.</p><p>Library: {display_path(str(self.db_path))}</p>",
        )

    def _report_error(self, exc: BaseException) -> None:
        if isinstance(exc, PhotoclipError):
            self.statusBar().showMessage(str(exc), 10000)
            box = QMessageBox(QMessageBox.Icon.Warning, "photoclip", str(exc), QMessageBox.StandardButton.Ok, self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()  # not exec(): never block the caller on a message
        else:
            # app.py installs the hook that logs it and tells the user; tests get Python's default.
            sys.excepthook(type(exc), exc, exc.__traceback__)

    def _window_settings(self) -> QSettings:
        # A file under photoclip's config dir (not the platform registry), so PHOTOCLIP_HOME isolates it.
        return QSettings(str(paths.config_dir() / "window.ini"), QSettings.Format.IniFormat)

    def _restore_geometry(self) -> None:
        stored = self._window_settings()
        geometry = stored.value("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 820)
        splitter = stored.value("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._viewer is not None:
            self._viewer.close()
        stored = self._window_settings()
        stored.setValue("geometry", self.saveGeometry())
        stored.setValue("splitter", self.splitter.saveState())
        stored.sync()
        try:
            self.settings.save()  # the thumbnail size
        except OSError:
            log.warning("could not save settings", exc_info=True)
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop every background piece and wait for it (no thread outlives the window)."""
        if self._closed:
            return
        self._closed = True
        self.typing_timer.stop()
        self.sidebar_timer.stop()
        self.guard_timer.stop()
        self.indexer.shutdown()
        self.tagging.shutdown()
        self.thumbs.shutdown()
        self.pool.shutdown()
        self.library.shutdown()


# -- helpers that run in workers or need no window ---------------------------------------------


def filter_photos(lib, photos: list[Photo], filters: Filters) -> list[Photo]:
    """Browse-mode filters (library thread): folder prefix, date range, tag."""
    out = photos
    if filters.folder:
        prefix = os.path.abspath(filters.folder).rstrip(os.sep) + os.sep
        out = [p for p in out if p.path.startswith(prefix)]
    if filters.date_from:
        start = filters.date_from.isoformat()
        out = [p for p in out if p.taken_at and p.taken_at >= start]
    if filters.date_to:
        end = filters.date_to.isoformat() + "T99"
        out = [p for p in out if p.taken_at and p.taken_at < end]
    if filters.label:
        allowed = photos_with_tag(lib, filters.label)
        if allowed is not None:
            out = [p for p in out if p.id in allowed]
    return out


def open_path(path: str | os.PathLike[str]) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(os.fspath(path)))


def copy_paths(photos: list[Photo]) -> None:
    QGuiApplication.clipboard().setText("\n".join(p.path for p in photos))
