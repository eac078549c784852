"""The main window's widgets and menus, built once."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoclip.core import paths
from photoclip.gui.models import (
    SORT_DATE,
    SORT_NAME,
    SORT_RELEVANCE,
)
from photoclip.gui.widgets import Banner, EmptyState, IndexStatus, PhotoDelegate, SearchBar
from photoclip.gui.widgets.albums import AlbumsPanel
from photoclip.gui.widgets.flow import FlowLayout
from photoclip.gui.widgets.match_filter import MatchFilter
from photoclip.gui.widgets.photo_grid_view import PhotoGridView
from photoclip.gui.widgets.places import PlacesPanel
from photoclip.gui.widgets.tag_list import TagListPanel
from photoclip.gui.widgets.timeline import TimelineScrubber
from photoclip.gui.windows.base import WindowPart
from photoclip.gui.windows.grid_actions import OnResize, open_folder_or_say_where

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000  # results fetched per query; the Match slider filters these live
TYPING_DELAY_MS = 350  # search-as-you-type waits for a pause in typing
# A menu action's shortcut: one key sequence, a standard key, or several.
Keys = str | QKeySequence | QKeySequence.StandardKey | list[QKeySequence] | None
MIN_EDGE, MAX_EDGE, EDGE_STEP = 80, 320, 20


NO_RESULTS_TEXT = "No photos match. Try other words, lower the Match slider, or clear the filters."
# Browsing (no words typed): only the filters can be why nothing shows.
NO_PHOTOS_TEXT = "No photos match these filters. Clear the Tag box, the dates or the folder to see more."


def default_dates() -> tuple[QDate, QDate]:
    """The date pickers' range until the user or a date chip sets one: the last year."""
    today = QDate.currentDate()
    return today.addYears(-1), today


class WindowLayout(WindowPart):
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
        self.places_panel = PlacesPanel(sidebar)
        self.albums_panel = AlbumsPanel(sidebar)
        side.addWidget(self.places_panel, 1)
        side.addWidget(self.albums_panel, 1)

        # filter row
        filters = self.filter_bar = QWidget(self)
        self.date_check = QCheckBox("Taken from", filters)
        first, last = default_dates()
        self.date_from = QDateEdit(first, filters)
        self.date_to = QDateEdit(last, filters)
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.setEnabled(False)
        self.tag_combo = QComboBox(filters)
        self.tag_combo.setEditable(True)
        self.tag_combo.setMinimumWidth(120)
        self.tag_combo.setMinimumContentsLength(14)
        self.tag_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        # "Animals/Dogs" and "Animals/Birds" must not both read "Animal…s": never elide in the list.
        self.tag_combo.view().setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tag_line().setPlaceholderText("Any tag")
        self.tag_combo.setToolTip("Only photos with this tag")
        self.match_filter = MatchFilter(filters)
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
        # Groups that stay together; the flow layout wraps between groups on narrow windows.
        self.filter_flow = FlowLayout(filters, spacing=12)
        groups: list[tuple[QWidget, ...]] = [
            (self.date_check, self.date_from, QLabel("to", filters), self.date_to),
            (QLabel("Tag", filters), self.tag_combo),
            (self.match_filter,),
            (QLabel("Sort", filters), self.sort_combo),
            (QLabel("Size", filters), self.size_slider),
        ]
        for members in groups:
            group = QWidget(filters)
            row = QHBoxLayout(group)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(4)
            for w in members:
                w.setParent(group)
                row.addWidget(w)
            self.filter_flow.addWidget(group)

        # grid and the pages that can replace it
        self.banner = Banner(self)
        # One lazy view of equal cells; sorted by date it adds month headers (see photo_grid_view.py).
        self.grid = PhotoGridView(self)
        self.grid.setObjectName("grid")
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setDragEnabled(True)
        self.grid.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.grid.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.grid.setAcceptDrops(False)  # drops go to the window: image search or a new folder
        self.grid.setMouseTracking(True)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid_resize_watch = OnResize(self.grid, lambda: self.fit_grid_columns())
        self.delegate = PhotoDelegate(self.grid)
        self.grid.setItemDelegate(self.delegate)
        self.grid.setModel(self.grid_model)
        self.empty = EmptyState(self)
        self.no_results = QLabel(NO_RESULTS_TEXT, self)
        self.no_results.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_results.setWordWrap(True)
        self.problems = QTableView(self)
        self.problems.setModel(self.problems_model)
        self.problems.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.problems.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.problems.verticalHeader().hide()
        self.problems.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # The grid's page: the grid, and the timeline's scrubber beside it (shown when sorted by date).
        self.grid_page = QWidget(self)
        grid_row = QHBoxLayout(self.grid_page)
        grid_row.setContentsMargins(0, 0, 0, 0)
        grid_row.setSpacing(0)
        self.scrubber = TimelineScrubber(self.grid_page)
        self.scrubber.hide()
        grid_row.addWidget(self.grid, 1)
        grid_row.addWidget(self.scrubber)
        self.pages = QStackedWidget(self)
        for page in (self.grid_page, self.empty, self.no_results, self.problems):
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
        # While indexing, "Indexing 1,234 / 12,345" says what the counts say: they make room
        # for passing messages (at 1024 px an added folder's name was cut to "Ad").
        self.index_status.shown.connect(lambda indexing: self.count_label.setVisible(not indexing))
        for label in (self.model_label, self.count_label):
            label.setContentsMargins(10, 0, 10, 0)
        # Permanent widgets: passing messages (left) never hide the model state or the counts.
        self.statusBar().addPermanentWidget(self.index_status)
        self.statusBar().addPermanentWidget(self.tagging.status)
        self.statusBar().addPermanentWidget(self.count_label)
        self.statusBar().addPermanentWidget(self.model_label)
        self.set_thumbnail_edge(self.settings.thumbnail_edge)
        self._order_tabs()

    def _order_tabs(self) -> None:
        """Tab walks the window as it reads, top to bottom: the search box, the filter row, the
        results, and only then the sidebar (built first, so Qt's own order put it second)."""
        chain: list[QWidget] = [
            self.search_bar.edit,
            self.search_bar.save_button,
            self.date_check,
            self.date_from,
            self.date_to,
            self.tag_combo,
            self.match_filter.slider,
            self.sort_combo,
            self.size_slider,
            self.grid,
        ]
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)

    def _build_actions(self) -> None:
        def action(text: str, slot: Callable[[], object], keys: Keys = None, where: QWidget | None = None) -> QAction:
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
        edit.addAction(action("Find photos like a &file…", self.choose_example_photo, "Ctrl+Shift+O"))
        edit.addAction(action("&Paste image as query", self.paste_image, "Ctrl+Shift+V"))
        edit.addAction(action("Save search as &album…", self.save_album_dialog, "Ctrl+Shift+S"))
        self.trash_action = action("Move to &trash…", self.trash_selected, QKeySequence.StandardKey.Delete, self.grid)
        edit.addAction(self.trash_action)
        self.undo_trash_action = action("&Undo move to trash", self.undo_trash, QKeySequence.StandardKey.Undo)
        self.undo_trash_action.setEnabled(False)
        edit.addAction(self.undo_trash_action)
        view = bar.addMenu("&View")
        view.addAction(action("&Bigger thumbnails", lambda: self.step_thumbnail(+1), [QKeySequence("Ctrl+="), QKeySequence("Ctrl++")]))
        view.addAction(action("&Smaller thumbnails", lambda: self.step_thumbnail(-1), "Ctrl+-"))
        view.addAction(action("&Problems", lambda: self.problems_button.click()))
        tools = bar.addMenu("&Tools")
        self.labels_action = action("&Labels…", lambda: self.open_labels(), "Ctrl+L")  # not triggered(checked) as `select`
        tools.addAction(self.labels_action)
        self.suggest_action = action("&Suggest labels…", self.open_suggestions)
        tools.addAction(self.suggest_action)
        self.tagging.add_to_menu(tools)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(action("Open &log folder", lambda: open_folder_or_say_where(self, paths.log_dir(), "The log folder")))
        help_menu.addAction(action("&About photoclip", self.about))
        # In the grid: Enter opens the viewer (QAbstractItemView.activated), Ctrl+V searches by a pasted image.
        action("Paste image", self.paste_image, QKeySequence.StandardKey.Paste, self.grid)
