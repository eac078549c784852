"""The main window, offscreen: browsing, drop-to-search, text search plumbing, clean shutdown."""

from __future__ import annotations

from pathlib import Path

import PySide6
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from photoclip.core.settings import Settings
from photoclip.gui.qtcompat import emit
from photoclip.gui.windows.main_window import MainWindow


@pytest.fixture
def window(qtbot, indexed_db: Path):
    win = MainWindow(indexed_db, Settings(), load_model=False)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.results_shown, timeout=10000):
        win.show()
    yield win
    win.close()


def _ready_model(win: MainWindow, embedder) -> None:
    # What ModelService does when a load succeeds, without loading again.
    win.model_service.embedder = embedder
    win.model_service._set("ready", "photoclip-tiny")
    emit(win.model_service.ready, embedder)


def test_browse_shows_library_newest_first(window: MainWindow, qtbot) -> None:
    assert window.grid_model.rowCount() == 8
    assert not window.grid_model.is_search
    qtbot.waitUntil(lambda: window.folder_model.rowCount() == 2)
    assert "(8)" in window.folder_model.data(window.folder_model.index(1, 0))


def test_drop_file_url_searches_by_that_image(window: MainWindow, qtbot, photo_dir: Path, tiny_embedder) -> None:
    with qtbot.waitSignal(window.indexer.finished, timeout=60000):
        _ready_model(window, tiny_embedder)
    target = photo_dir / "skimage_chelsea.jpg"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(target))])
    # As a file manager does it: drag enter (accepted), then drop.
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    # Qt 6.12 takes a QPointF here and deprecates the QPoint form that 6.11 needs.
    where = QPointF(300, 300) if PySide6.__version_info__ >= (6, 12) else QPoint(300, 300)
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime, buttons, mods)
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda is_search: is_search):
        QApplication.sendEvent(window, event)
    assert event.isAccepted()
    assert window.grid_model.is_search
    first = window.grid_model.entry(0)
    assert Path(first.photo.path) == target
    assert first.score == pytest.approx(1.0, abs=1e-2)
    # clearing the search shows the whole library again
    with qtbot.waitSignal(window.results_shown, timeout=10000, check_params_cb=lambda is_search: not is_search):
        window.clear_search()
    assert window.grid_model.rowCount() == 8


def test_text_search_runs_off_thread_and_min_score_filters(window: MainWindow, qtbot, tiny_embedder) -> None:
    with qtbot.waitSignal(window.indexer.finished, timeout=60000):
        _ready_model(window, tiny_embedder)
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        qtbot.keyClicks(window.search_bar.edit, "a cat")
    # random weights: only the plumbing is checked, never which photo comes first
    assert window.grid_model.rowCount() == 8
    scores = [window.grid_model.entry(r).score for r in range(8)]
    assert scores == sorted(scores, reverse=True)
    window.match_filter.set_percent(100)  # the best result only (and any tie with it)
    assert window.grid_model.rowCount() < 8 or scores[0] == scores[-1]
    window.match_filter.set_percent(0)
    assert window.grid_model.rowCount() == 8
    # Enter pins the words as a chip; the query stays the same
    with qtbot.waitSignal(window.results_shown, timeout=30000):
        qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Return)
    assert len(window.search_bar.chips) == 1 and window.search_bar.edit.text() == ""
    # "less like this" adds a negative photo chip
    photo = window.grid_model.photo(0)
    with qtbot.waitSignal(window.results_shown, timeout=30000):
        window.more_like(photo, -1.0)
    assert [c.term.weight for c in window.search_bar.chips] == [1.0, -1.0]


def test_thumbnail_size_keys(window: MainWindow, qtbot) -> None:
    start = window.delegate.edge
    window.step_thumbnail(+1)
    assert window.delegate.edge == start + 20
    window.step_thumbnail(-1)
    window.step_thumbnail(-1)
    assert window.delegate.edge == start - 20


def test_no_model_banner_and_library_browsable(qtbot, indexed_db: Path) -> None:
    win = MainWindow(indexed_db, Settings(), load_model=False)
    qtbot.addWidget(win)
    win.show()
    win.model_service._set("missing", "The search model X is not on this computer yet.")
    assert win.banner.isVisible()
    assert win.banner.first.text() == "Download model"
    assert not win.banner.more.isVisible()  # nothing folded: no link to unfold it
    qtbot.waitUntil(lambda: win.grid_model.rowCount() == 8)
    win.close()


def test_the_offline_how_to_is_folded_until_asked_for(qtbot, indexed_db: Path) -> None:
    """At 1024x700 the whole first-start message took a third of the window: what to do
    now stays in view, the offline how-to opens from its link."""
    from photoclip.gui.services.model_service import missing_text

    win = MainWindow(indexed_db, Settings(), load_model=False)
    qtbot.addWidget(win)
    win.resize(1024, 700)
    win.show()
    message = missing_text(None)
    win.model_service._set("missing", message)
    banner = win.banner
    assert banner.text.text().endswith("your photos stay browsable meanwhile.")
    assert "another computer" in banner.details.text() and "another computer" not in banner.text.text()
    folded = banner.sizeHint().height()
    assert banner.more.isVisible() and not banner.details.isVisible()
    banner.more.click()
    assert banner.details.isVisible()
    assert banner.sizeHint().height() > folded
    banner.more.click()
    assert not banner.details.isVisible()
    win.close()


def test_a_long_model_name_is_cut_in_the_middle_and_whole_in_its_tooltip(window: MainWindow, qtbot) -> None:
    """Walk 22: "Model: ViT-B-32-256 (file /tmp/…/random.safetensors) ready" took ~320 px of
    the status bar and left indexing messages 2 letters at 1024 px. Walk 23: cut in the middle
    it read "Model: photoclip-ti…clip-tiny.pt) ready" (the default's, "ViT-B-32-2…s34b_b86k)"):
    the weights in brackets go first, and the model's name stays whole."""
    from photoclip.gui.windows.main_window import MODEL_LABEL_WIDTH

    long_name = "ViT-B-32-256 (file /home/someone/Pictures/models/random-weights-for-testing.safetensors)"
    window.model_service._set("ready", long_name)
    qtbot.waitUntil(lambda: window.model_label.toolTip() == long_name)
    assert window.model_label.text() == "Model: ViT-B-32-256 ready"
    window.model_service._set("loading", "ViT-B-32-256 (datacomp_s34b_b86k)")
    qtbot.waitUntil(lambda: window.model_label.text() == "Model: loading ViT-B-32-256…")
    very_long = "an-architecture-of-my-own-with-a-very-long-name-indeed (file x.pt)"
    window.model_service._set("ready", very_long)
    qtbot.waitUntil(lambda: window.model_label.toolTip() == very_long)
    text = window.model_label.text()
    assert text.startswith("Model: an-") and text.endswith("ready") and "…" in text and "x.pt" not in text
    assert window.model_label.fontMetrics().horizontalAdvance(text) <= MODEL_LABEL_WIDTH
    window.model_service._set("ready", "photoclip-tiny")
    qtbot.waitUntil(lambda: window.model_label.text() == "Model: photoclip-tiny ready")  # a short name whole


def test_adding_a_folder_is_said_whole_beside_the_indexing_progress_at_1024(window: MainWindow, qtbot, tmp_path: Path) -> None:
    """Walk 22: at 1024x700 "Added /tmp/walk22/Pictures; reading its photos…" showed as "Ad":
    the progress bar, the counts and a side-loaded model's name took the status bar."""
    from photoclip.app.library import add_folder
    from photoclip.core.db import Library

    folder = tmp_path / "home" / "anna" / "Pictures from the summer"
    folder.mkdir(parents=True)
    lib = Library(tmp_path / "other.db")
    try:
        message = add_folder(lib, str(folder)).message
    finally:
        lib.close()
    assert message == "Added “Pictures from the summer”; reading its photos…"
    window.resize(1024, 700)
    window.model_service._set("ready", "ViT-B-32-256 (file random-weights.safetensors)")
    window.index_status.show_progress("index", 1_234, 12_345, 12_345, None, True)
    window.index_status.show()
    window.count_label.setText("12,345 photos · 1,234 searchable")
    window.statusBar().showMessage(message)
    qtbot.wait(50)
    assert not window.count_label.isVisible()  # "Indexing 1,234 / 12,345" says it while indexing
    bar = window.statusBar()
    permanent = sum(
        w.width() for w in (window.index_status, window.tagging.status, window.count_label, window.model_label) if w.isVisible()
    )
    assert bar.fontMetrics().horizontalAdvance(message) <= bar.width() - permanent
    window.index_status.hide()  # the pass ended
    assert window.count_label.isVisible()


def test_a_pass_with_nothing_to_read_says_it_is_checking_not_indexing_0_of_0(window, qtbot) -> None:
    """Walk 24: after Undo move to trash the status bar showed "Indexing 0 / 0", an empty
    bar, Pause and Cancel, as if stuck."""
    status = window.index_status
    status.show_progress("index", 0, 0, 35, None, False)
    assert status.label.text() == "Checking folders…"
    assert (status.bar.minimum(), status.bar.maximum()) == (0, 0)  # busy, not an empty bar
    status.show_progress("index", 3, 10, 35, None, False)
    assert status.label.text().startswith("Indexing 3 / 10")
