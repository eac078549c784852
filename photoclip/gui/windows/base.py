"""What the parts of the main window share: its widgets, services and cross-part methods.

The window is split by job into mixins (layout, sidebar, queries, grid actions), each
under ~400 lines; this base declares what they use of each other, so a type checker
sees one window. The stubs below are overridden by the part that owns each method.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QMimeData, QModelIndex, QTimer, Signal
from PySide6.QtGui import (
    QAction,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QWidget,
)

from photoclip.app.changes import Changes
from photoclip.core.db import Photo
from photoclip.core.model import Embedder
from photoclip.core.search import Filters, Result
from photoclip.core.settings import Settings
from photoclip.gui.dialogs.viewer import ViewerDialog
from photoclip.gui.models import (
    FolderModel,
    PhotoGridModel,
    ProblemsModel,
)
from photoclip.gui.services.indexer import IndexController
from photoclip.gui.services.model_service import ModelService
from photoclip.gui.services.thumbnails import ThumbnailLoader
from photoclip.gui.services.watching import LibraryWatch
from photoclip.gui.services.workers import LibraryRunner, TaskRunner
from photoclip.gui.widgets import Banner, EmptyState, IndexStatus, PhotoDelegate, SearchBar
from photoclip.gui.widgets.albums import AlbumsPanel
from photoclip.gui.widgets.match_filter import MatchFilter
from photoclip.gui.widgets.photo_grid_view import PhotoGridView
from photoclip.gui.widgets.places import PlacesPanel
from photoclip.gui.widgets.tag_list import TagListPanel
from photoclip.gui.widgets.timeline import TimelineScrubber
from photoclip.gui.windows.tagging import TaggingCommands

if TYPE_CHECKING:
    from photoclip.gui.windows.outcome import Outcome

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000  # results fetched per query; the min-score slider filters these live
TYPING_DELAY_MS = 350  # search-as-you-type waits for a pause in typing
MIN_EDGE, MAX_EDGE, EDGE_STEP = 80, 320, 20


class WindowBase(QMainWindow):
    # What every part of the window shares: made in MainWindow.__init__ and _build_ui.
    db_path: Path
    settings: Settings
    thumbnail_dir: Path
    pool: TaskRunner
    model_pool: TaskRunner
    library: LibraryRunner
    thumbs: ThumbnailLoader
    indexer: IndexController
    watching: LibraryWatch
    model_service: ModelService
    tagging: TaggingCommands
    grid_model: PhotoGridModel
    folder_model: FolderModel
    problems_model: ProblemsModel
    folder_filter: str | None
    counts: dict[str, int]
    _query_token: int | None
    _pending_query: bool
    _after_index: list[Callable[[], None]]
    _closed: bool
    _viewer: ViewerDialog | None
    search_bar: SearchBar
    typing_timer: QTimer
    sidebar_timer: QTimer
    guard_timer: QTimer
    folder_view: QListView
    add_button: QToolButton
    remove_button: QToolButton
    rescan_button: QToolButton
    problems_button: QPushButton
    tag_list: TagListPanel
    date_check: QCheckBox
    date_from: QDateEdit
    date_to: QDateEdit
    tag_combo: QComboBox
    match_filter: MatchFilter
    sort_combo: QComboBox
    size_slider: QSlider
    banner: Banner
    grid: PhotoGridView
    delegate: PhotoDelegate
    empty: EmptyState
    no_results: QLabel
    problems: QTableView
    pages: QStackedWidget
    splitter: QSplitter
    model_label: QLabel
    count_label: QLabel
    index_status: IndexStatus
    filter_bar: QWidget
    trash_action: QAction
    undo_trash_action: QAction
    places_panel: PlacesPanel
    albums_panel: AlbumsPanel
    grid_page: QWidget
    scrubber: TimelineScrubber
    labels_action: QAction
    suggest_action: QAction
    trash_history: list[list[str]]  # paths moved to the trash in this session, one list per move
    open_after_results: int | None

    # Signals and methods one part calls in another (each defined once, in its part).
    # Emitted when a query's results (or the browse list) are in the grid: tests and the script driver wait on it.
    results_shown = Signal(bool)  # True for a search, False for browsing
    sidebar_refreshed = Signal()

    _settings_kept: Settings

    def save_settings(self, *, when_changed: bool = False) -> None:
        """Write the settings file (with `when_changed`, only if they changed since loaded or
        saved: a file the user wrote that photoclip could not use stays as they wrote it). A
        folder that cannot be written is said in the status bar, not raised: the settings
        still apply until photoclip closes."""
        if when_changed and self.settings == self._settings_kept:
            return
        try:
            self.settings.save()
        except OSError as exc:
            log.warning("could not save the settings to %s: %s", Settings.path(), exc)
            self.statusBar().showMessage(
                f"Settings not saved: cannot write {Settings.path()} ({exc.strerror or exc}). They apply until photoclip closes.", 20000
            )
            return
        self._settings_kept = copy.copy(self.settings)

    @property
    def embedder(self) -> Embedder | None:
        return self.model_service.embedder

    def more_like(self, photo: Photo, weight: float) -> None:
        raise NotImplementedError

    def _banner_first(self) -> None:
        raise NotImplementedError

    def _text_ready(self, _embedder: object) -> None:
        raise NotImplementedError

    def tag_line(self) -> QLineEdit:
        """The tag filter's line edit (an editable combo box always has one)."""
        line = self.tag_combo.lineEdit()
        assert line is not None
        return line

    def run_query(self) -> None:
        raise NotImplementedError

    def browse(self, *, keep_order: bool = False) -> None:
        raise NotImplementedError

    def refresh_sidebar(self) -> None:
        raise NotImplementedError

    def refresh_albums(self, select: str | None = None) -> None:
        raise NotImplementedError

    def filters(self) -> Filters:
        raise NotImplementedError

    def tag_filter(self) -> str | None:
        raise NotImplementedError

    def apply_changes(self, changes: Changes) -> None:
        raise NotImplementedError

    def _report_error(self, exc: BaseException) -> None:
        raise NotImplementedError

    def _query_failed(self, exc: BaseException) -> None:
        raise NotImplementedError

    def search_image_file(self, path: str) -> None:
        raise NotImplementedError

    def add_folder(self, folder: str) -> None:
        raise NotImplementedError

    def choose_folder(self) -> None:
        raise NotImplementedError

    def rescan(self) -> None:
        raise NotImplementedError

    def rescan_elsewhere(self) -> bool:
        raise NotImplementedError

    def find_similar(self, photo_id: int) -> None:
        raise NotImplementedError

    def open_viewer(self, index: QModelIndex) -> None:
        raise NotImplementedError

    def open_outside_viewer(self, path: str) -> None:
        raise NotImplementedError

    def _update_page(self) -> None:
        raise NotImplementedError

    def _update_counts(self) -> None:
        raise NotImplementedError

    def set_thumbnail_edge(self, edge: int) -> None:
        raise NotImplementedError

    def fit_grid_columns(self) -> None:
        raise NotImplementedError

    def load_model(self, *, download: bool = False) -> None:
        raise NotImplementedError

    def open_settings(self) -> None:
        raise NotImplementedError

    def open_labels(self, select: str | None = None) -> QDialog:
        raise NotImplementedError

    def open_suggestions(self) -> QDialog:
        raise NotImplementedError

    def about(self) -> None:
        raise NotImplementedError

    def focus_search(self) -> None:
        raise NotImplementedError

    def clear_search(self) -> None:
        raise NotImplementedError

    def choose_example_photo(self) -> None:
        raise NotImplementedError

    def paste_image(self) -> None:
        raise NotImplementedError

    def trash_selected(self, *, confirm: bool = True) -> None:
        raise NotImplementedError

    def undo_trash(self) -> None:
        raise NotImplementedError

    def count_text(self) -> str:
        raise NotImplementedError

    def step_thumbnail(self, direction: int) -> None:
        raise NotImplementedError

    def remove_folder(self, folder: str, *, confirm: bool = True) -> None:
        raise NotImplementedError

    def handle_mime(self, mime: QMimeData) -> bool:
        raise NotImplementedError

    def set_tag_filter(self, name: str) -> None:
        raise NotImplementedError

    # Issue 11's parts (windows/understood.py, albums.py, timeline.py) and what they use of Queries.
    def base_filters(self) -> Filters:
        raise NotImplementedError

    def with_chip_filters(self, base: Filters) -> Filters:
        raise NotImplementedError

    def _show_results(self, results: list[Result]) -> None:
        raise NotImplementedError

    def _show_library(self, photos: list[Photo]) -> None:
        raise NotImplementedError

    def _show_understood(self, outcome: Outcome) -> None:
        raise NotImplementedError

    def _after_query_shown(self) -> None:
        raise NotImplementedError

    def explain_no_results(self, unknown: dict[str, list[str]], *, browsing: bool = False) -> None:
        raise NotImplementedError

    def _min_score_changed(self, threshold: float | None) -> None:
        raise NotImplementedError

    def _show_tag(self, name: str) -> None:
        raise NotImplementedError

    def save_album_dialog(self) -> None:
        raise NotImplementedError

    def look_up_place(self, photo_id: int, on_done: Callable[[str | None], None]) -> None:
        raise NotImplementedError

    def query_image_vectors(self, paths: Sequence[str]) -> dict[str, np.ndarray] | None:
        raise NotImplementedError

    def read_query_images(self, paths: Sequence[str]) -> None:
        raise NotImplementedError

    def forget_query_images(self) -> None:
        raise NotImplementedError


# The parts are plain mixins at run time: one Qt base class only (several Python classes
# deriving from QMainWindow in one window crash the binding). A type checker sees each
# part as a WindowBase, so what the parts use of each other is checked.
if TYPE_CHECKING:
    WindowPart = WindowBase
else:
    WindowPart = object
