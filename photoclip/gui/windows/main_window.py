"""The main window: sidebar (folders, problems), search bar with chips, the photo grid, status bar.

It wires the pieces together and shows what core returns. Work happens elsewhere:
database reads, writes and searches on the library thread (`LibraryRunner`),
model loading and downloads in the job pool (`TaskRunner`), indexing on its own
QThread (`IndexController`), thumbnails in `ThumbnailLoader`'s workers.
"""

from __future__ import annotations

import copy
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, QTimer
from PySide6.QtGui import (
    QCloseEvent,
)
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QMessageBox,
)

from photoclip import __version__
from photoclip.core import paths
from photoclip.core.db import display_path
from photoclip.core.errors import PhotoclipError
from photoclip.core.model import Embedder
from photoclip.core.settings import Settings
from photoclip.gui.dialogs.settings import CHECKPOINT_FILTER, SettingsDialog
from photoclip.gui.dialogs.viewer import ViewerDialog
from photoclip.gui.models import (
    FolderModel,
    PhotoGridModel,
    ProblemsModel,
)
from photoclip.gui.qtcompat import keep_singletons_alive
from photoclip.gui.services.indexer import IndexController
from photoclip.gui.services.model_service import CHECKING, LOADING, MISSING, READY, UNAVAILABLE, ModelService, missing_parts
from photoclip.gui.services.thumbnails import ThumbnailLoader
from photoclip.gui.services.watching import LibraryWatch
from photoclip.gui.services.workers import LibraryRunner, TaskRunner
from photoclip.gui.widgets import ask
from photoclip.gui.widgets.screen import fitted_size
from photoclip.gui.windows.albums import AlbumCommands
from photoclip.gui.windows.base import WindowBase
from photoclip.gui.windows.drops import Drops
from photoclip.gui.windows.grid_actions import GridActions, copy_paths, open_path  # noqa: F401  (public helpers)
from photoclip.gui.windows.layout import WindowLayout
from photoclip.gui.windows.opening import Opening
from photoclip.gui.windows.queries import Queries
from photoclip.gui.windows.sidebar import Sidebar
from photoclip.gui.windows.tagging import TaggingCommands
from photoclip.gui.windows.timeline import TimelineView
from photoclip.gui.windows.understood import UnderstoodQueries
from photoclip.gui.windows.watching import WatchingView

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000  # results fetched per query; the min-score slider filters these live
TYPING_DELAY_MS = 350  # search-as-you-type waits for a pause in typing
MIN_EDGE, MAX_EDGE, EDGE_STEP = 80, 320, 20


def default_window_size(room: QSize) -> QSize:
    """1280x820 where there is room; on a small screen, most of what is available
    (a 1366x768 laptop leaves about 1366x740 once its panel is counted)."""
    return fitted_size(QSize(1280, 820), room)


MODEL_QUIT_WAIT_S = 0.5  # a quit waits this long for a model load in progress, then leaves it
MODEL_LABEL_WIDTH = 230  # px: "Model: ViT-B-32-256 (file …safetensors) ready" cut in the middle


class MainWindow(
    WindowLayout, Sidebar, Queries, Drops, UnderstoodQueries, AlbumCommands, TimelineView, GridActions, Opening, WatchingView, WindowBase
):
    """The window: its parts are mixins, one job each (see photoclip/gui/windows/)."""

    def __init__(self, db_path: Path, settings: Settings | None = None, *, load_model: bool = True) -> None:
        super().__init__()
        keep_singletons_alive()
        self.db_path = Path(db_path)
        self.settings = settings or Settings.load()
        self._settings_kept = copy.copy(self.settings)  # as on disk (see save_settings)
        self.thumbnail_dir = paths.thumbnail_dir()
        self.setWindowTitle("photoclip")
        self.setAcceptDrops(True)

        self.pool = TaskRunner("jobs", max_workers=3, parent=self)
        self.library = LibraryRunner(self.db_path, parent=self)
        self.pool.unhandled = self.library.unhandled = self._report_error
        self.thumbs = ThumbnailLoader(self.thumbnail_dir, parent=self)
        self.indexer = IndexController(self.db_path, self.thumbnail_dir, parent=self)
        # Loading torch and a model takes seconds and cannot be interrupted; it writes nothing
        # the library needs, so its own threads may be left behind when the window closes.
        self.model_pool = TaskRunner("model", max_workers=2, parent=self, may_abandon=True)
        self.model_pool.unhandled = self._report_error
        self.model_service = ModelService(self.model_pool, parent=self)
        self.indexer.write_xmp = self.settings.write_xmp
        # The app watches the folders too, and never indexes beside another photoclip (services/watching.py).
        self.watching = LibraryWatch(
            self.db_path, self.indexer, lambda: self.settings.model_choice(), lambda: getattr(self.embedder, "model_id", None), parent=self
        )
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
        self.trash_history: list[list[str]] = []
        self.open_after_results: int | None = None  # a photo handed to the app: its viewer opens with its results

        self._build_ui()
        self._build_actions()
        self._connect()
        self._restore_geometry()
        self.refresh_sidebar()
        self.refresh_albums()
        self.browse()
        if load_model:
            # After the first paint: the window is on screen before torch is even imported.
            QTimer.singleShot(0, self.load_model)

    def _connect(self) -> None:
        self.search_bar.text_edited.connect(self.typing_timer.start)
        self.search_bar.text_edited.connect(self.forget_pending_drop)
        self.search_bar.query_changed.connect(self.forget_pending_drop)
        self.search_bar.query_changed.connect(self.run_query)
        self.search_bar.image_dropped.connect(self.handle_mime)
        self.search_bar.results_requested.connect(self.focus_results)
        self.typing_timer.timeout.connect(self.run_query)
        self.folder_view.selectionModel().currentChanged.connect(self._folder_selected)
        self.folder_view.customContextMenuRequested.connect(self._folder_menu)
        self.add_button.clicked.connect(self.choose_folder)
        self.remove_button.clicked.connect(self._remove_selected_folder)
        self.rescan_button.clicked.connect(self.rescan)
        self.problems_button.toggled.connect(self._show_problems)
        self.date_check.toggled.connect(self._date_toggled)
        self.date_from.dateChanged.connect(self._dates_edited)
        self.date_to.dateChanged.connect(self._dates_edited)
        self.tag_line().editingFinished.connect(self._tag_edited)
        self.tag_combo.activated.connect(self._tag_edited)
        self.tag_list.chosen.connect(self.set_tag_filter)
        self.match_filter.changed.connect(self._min_score_changed)
        self.sort_combo.currentIndexChanged.connect(self._sort_changed)
        self.size_slider.valueChanged.connect(self.set_thumbnail_edge)
        self.grid.activated.connect(self.open_viewer)
        self.results_shown.connect(self._results_for_opened)
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
        self.model_service.text_ready.connect(self._text_ready)
        self.tagging.message.connect(self.statusBar().showMessage)
        self.tagging.tags_changed.connect(self._tags_edited)
        self._connect_issue11()
        self._connect_watching()
        self.sidebar_timer = QTimer(self)
        self.sidebar_timer.setSingleShot(True)
        self.sidebar_timer.setInterval(1500)
        self.sidebar_timer.timeout.connect(self._sidebar_timer_ended)
        self.guard_timer = QTimer(self)  # see qtcompat: keeps a binding bug from ever crashing a long session
        self.guard_timer.setInterval(60_000)
        self.guard_timer.timeout.connect(keep_singletons_alive)
        self.guard_timer.start()

    def _connect_issue11(self) -> None:
        """Understood chips, Places, Albums, the timeline (windows/understood.py, albums.py, timeline.py)."""
        bar = self.search_bar
        bar.understands = True
        bar.pin_requested.connect(self._pin_typed)
        bar.save_requested.connect(self.save_album_dialog)
        bar.query_changed.connect(lambda: self.places_panel.select(self.current_place()))
        self.places_panel.chosen.connect(self._place_chosen)
        self.connect_albums()
        self.sidebar_refreshed.connect(self._refresh_places)
        self.indexer.finished.connect(lambda _final: self.refresh_albums())
        self.model_service.ready.connect(lambda _embedder: self.refresh_albums())
        self.grid_model.modelReset.connect(self.update_timeline)
        self.grid_model.rowsRemoved.connect(self.update_timeline)
        self.indexer.running_changed.connect(self.update_timeline)  # "Dates still being read…" ends with the pass
        self.grid.verticalScrollBar().valueChanged.connect(self._grid_scrolled)
        self.scrubber.jump.connect(self.jump_to_row)

    # == model ========================================================================

    def load_model(self, *, download: bool = False) -> None:
        self.model_service.start(self.settings.model_choice(), download=download)

    def _model_state(self, state: str, message: str) -> None:
        text = {
            CHECKING: f"Model: checking {message}…",
            LOADING: f"Model: loading {message}…",
            READY: f"Model: {message} ready",
            MISSING: "Model: not downloaded",
            UNAVAILABLE: "Model: not available",
        }[state]
        self._show_model(text)
        self.model_label.setToolTip(message)
        if state == MISSING:
            now, offline = missing_parts(message)
            self.banner.show_message(now, "Download model", "Choose checkpoint file…", details=offline, details_link="No internet here?")
        elif state == UNAVAILABLE:
            choice = self.model_service.choice
            # A local file cannot be downloaded: "try again" loads it again, nothing more.
            retry = "Try again" if choice is not None and choice.weights_is_file else "Try again (download)"
            self.banner.show_message(f"Search is not available: {message}", retry, "Choose checkpoint file…")
        else:
            self.banner.hide()
        if state in (MISSING, UNAVAILABLE):
            self.indexer.set_embedder(None)
            self.indexer.start()  # still catalogue photos and make thumbnails: browsing works

    def _download_progress(self, done: int, total: int) -> None:
        if total:
            self._show_model(f"Model: downloading {done / total:.0%} of {total / 1e6:.0f} MB…")
        else:
            self._show_model(f"Model: downloading {done / 1e6:.0f} MB…")

    def _show_model(self, text: str) -> None:
        """The model's state in MODEL_LABEL_WIDTH (a file's long name left the status bar no room
        at 1024 px): the weights in brackets go first, then the middle (the tooltip has it all)."""
        metrics = self.model_label.fontMetrics()
        if metrics.horizontalAdvance(text) > MODEL_LABEL_WIDTH:
            text = re.sub(r" \(.*\)", "", text)
        self.model_label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, MODEL_LABEL_WIDTH))

    def _model_ready(self, embedder: Embedder) -> None:
        self.indexer.set_embedder(embedder)
        self.indexer.start()
        self.refresh_sidebar()
        if self._pending_query or not self.search_bar.is_empty():
            self._pending_query = False
            self.run_query()

    def _banner_first(self) -> None:
        choice = self.model_service.choice
        self.load_model(download=not (choice is not None and choice.weights_is_file))

    def _banner_second(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model checkpoint", ask.downloads_folder(), CHECKPOINT_FILTER)
        if path:
            self.settings.weights = path
            self.save_settings()
            self.load_model()

    # == settings, errors, lifecycle ==========================================================

    def open_settings(self) -> None:
        dialog = SettingsDialog(
            self.settings,
            [f.path for f in self.folder_model.folders],
            self.thumbnail_dir,
            self.pool,
            self,
            in_use=self.model_service.choice,
            model_state=self.model_service.state,
        )
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
        self.save_settings()
        self.indexer.write_xmp = new.write_xmp
        if turned_on:
            self.tagging.export_sidecars(confirm=False)  # the user just asked for sidecars: bring them up to date
        if changed:
            self.indexer.cancel()
            self.load_model()

    def open_labels(self, select: str | None = None) -> QDialog:
        """The Labels dialog (on the label `select`, if given); the tag filter is refreshed when it closes."""
        from photoclip.gui.dialogs.labels import LabelsDialog  # imported here: tagging loads only when asked for

        dialog = LabelsDialog(self.library, self.tagging, self.embedder, self, self.thumbs, select)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.model_service.ready.connect(dialog.set_embedder)
        dialog.finished.connect(lambda _: self.refresh_sidebar())
        dialog.open()
        return dialog

    def open_suggestions(self) -> QDialog:
        """Tools → Suggest labels…: non-modal; a label made there opens in the Labels dialog."""
        from photoclip.gui.dialogs.suggest import SuggestDialog

        dialog = SuggestDialog(self.db_path, self.pool, self.library, self.embedder, self.thumbs, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.model_service.ready.connect(dialog.set_embedder)
        dialog.changed.connect(self.apply_changes)
        dialog.label_made.connect(self._open_made_label)
        dialog.show()
        return dialog

    def _open_made_label(self, name: str) -> None:
        """A label just made from a suggestion: the Labels dialog says what happened and
        what is next (the suggestion's photo count is a group, not what the line tags)."""
        from photoclip.app.label_counts import made_label_text
        from photoclip.gui.dialogs.labels import LabelsDialog  # imported here, as open_labels does

        labels = self.open_labels(name)
        assert isinstance(labels, LabelsDialog)
        labels.status.setText(made_label_text(name))

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
            self.resize(default_window_size(self.screen().availableGeometry().size()))
        else:
            # A window saved on a bigger monitor must still fit this one (a laptop on its own).
            room = self.screen().availableGeometry().size()
            if self.width() > room.width() or self.height() > room.height():
                self.resize(self.size().boundedTo(room))
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
        self.save_settings(when_changed=True)  # the thumbnail size
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
        self.watching.shutdown()
        self.indexer.shutdown()
        self.tagging.shutdown()
        self.thumbs.shutdown()
        self.pool.shutdown()
        self.model_pool.shutdown(wait_s=MODEL_QUIT_WAIT_S)
        self.library.shutdown()
