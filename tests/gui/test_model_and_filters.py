"""Model states (ready, missing, unavailable), tag and folder filters, keys, problems, settings."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.model import ModelChoice
from photoclip.core.settings import Settings
from photoclip.gui.dialogs.settings import SettingsDialog
from photoclip.gui.services.model_service import MISSING, READY, UNAVAILABLE, ModelService
from photoclip.gui.services.workers import TaskRunner
from photoclip.gui.windows.main_window import MainWindow


@pytest.fixture
def runner():
    pool = TaskRunner("test")
    yield pool
    pool.shutdown()


def _final_state(qtbot, service: ModelService) -> str:
    qtbot.waitUntil(lambda: service.state in (READY, MISSING, UNAVAILABLE), timeout=120000)
    return service.state


def test_model_loads_from_a_checkpoint_file(qtbot, runner: TaskRunner, tiny_weights: Path) -> None:
    service = ModelService(runner)
    with qtbot.waitSignal(service.ready, timeout=120000):
        service.start(ModelChoice("photoclip-tiny", str(tiny_weights), device="cpu", precision="fp32"))
    assert service.state == READY and service.embedder is not None


def test_default_model_not_downloaded_is_missing_not_fetched(qtbot, runner: TaskRunner) -> None:
    service = ModelService(runner)
    service.start(ModelChoice())  # the default model; this machine has no weights and is offline
    assert _final_state(qtbot, service) == MISSING
    assert "Download" in service.message and "checkpoint file" in service.message


def test_download_failure_is_reported_plainly(qtbot, runner: TaskRunner) -> None:
    service = ModelService(runner)
    service.start(ModelChoice(), download=True)  # HF_HUB_OFFLINE=1 in tests: the download fails
    assert _final_state(qtbot, service) == UNAVAILABLE
    assert "checkpoint" in service.message


def test_broken_checkpoint_is_unavailable(qtbot, runner: TaskRunner, tmp_path: Path) -> None:
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    service = ModelService(runner)
    service.start(ModelChoice("photoclip-tiny", str(bad), device="cpu"))
    assert _final_state(qtbot, service) == UNAVAILABLE
    assert "broken.pt" in service.message


def test_a_named_pipe_as_the_checkpoint_is_unavailable_with_its_name(qtbot, runner: TaskRunner, tmp_path: Path) -> None:
    # Before: the model id's digest opened the pipe and blocked: "Checking…" forever.
    fifo = tmp_path / "clip.pt"
    os.mkfifo(fifo)
    service = ModelService(runner)
    service.start(ModelChoice("photoclip-tiny", str(fifo), device="cpu"))
    assert _final_state(qtbot, service) == UNAVAILABLE
    assert str(fifo) in service.message and "named pipe" in service.message


def test_a_pickle_that_would_run_code_is_unavailable_and_never_run(qtbot, runner: TaskRunner, tmp_path: Path) -> None:
    evil = tmp_path / "evil.pt"
    marker = tmp_path / "ran"
    evil.write_bytes(pickle.dumps({"weight": _RunsCode(marker)}))
    service = ModelService(runner)
    service.start(ModelChoice("photoclip-tiny", str(evil), device="cpu"))
    assert _final_state(qtbot, service) == UNAVAILABLE
    assert "evil.pt" in service.message and "could run code" in service.message and "weights_only" not in service.message
    assert not marker.exists()


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_tag_filter_shows_tagged_photos(window: MainWindow, qtbot, indexed_db: Path) -> None:
    with Library(indexed_db) as lib:
        photo = lib.all_photos()[0]
        tagging.add_tag(lib, photo.id, "cats")
    with qtbot.waitSignal(window.sidebar_refreshed, timeout=10000):
        window.refresh_sidebar()
    assert window.tag_combo.findData("cats") > 0
    window.tag_combo.setCurrentIndex(window.tag_combo.findData("cats"))
    with qtbot.waitSignal(window.results_shown, timeout=10000):
        window.run_query()
    assert window.grid_model.rowCount() == 1 and window.grid_model.photo(0).id == photo.id


def test_folder_filter_and_keys(window: MainWindow, qtbot, photo_dir: Path) -> None:
    qtbot.waitUntil(lambda: window.folder_model.rowCount() == 2)
    with qtbot.waitSignal(window.results_shown, timeout=10000):
        window.folder_view.setCurrentIndex(window.folder_model.index(1, 0))
    assert window.folder_filter == str(photo_dir)
    assert window.grid_model.rowCount() == 8
    window.focus_search()
    assert window.search_bar.edit.hasFocus() or window.focusWidget() is window.search_bar.edit
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        qtbot.keyClicks(window.search_bar.edit, "stars")
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: not s):
        window.clear_search()
    assert window.search_bar.is_empty()
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.grid_model.index(0, 0))
    qtbot.keyClick(window.grid, Qt.Key.Key_Right)
    assert window.grid.currentIndex().row() == 1
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window._viewer is not None)


def test_problems_list_skipped_files(qtbot, tmp_path: Path, photo_dir: Path) -> None:
    (photo_dir / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    db = tmp_path / "p.db"
    with Library(db) as lib:
        lib.add_folder(photo_dir)
    win = MainWindow(db, Settings(), load_model=False)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.indexer.finished, timeout=60000):
        win.indexer.start()
    qtbot.waitUntil(lambda: win.problems_model.rowCount() == 1, timeout=10000)
    assert win.problems_button.text() == "Problems (1)"
    win.problems_button.click()
    assert win.pages.currentWidget() is win.problems
    assert "broken.jpg" in win.problems_model.data(win.problems_model.index(0, 0))
    win.close()


def test_settings_dialog_edits_a_copy(qtbot, runner: TaskRunner, tmp_path: Path) -> None:
    dialog = SettingsDialog(Settings(), ["/photos/a"], tmp_path / "thumbs", runner)
    qtbot.addWidget(dialog)
    assert dialog.folders.count() == 1
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.checkpoint.setText(str(tmp_path / "model.pt"))
    result = dialog.result_settings()
    assert result.device == "cpu" and result.weights == str(tmp_path / "model.pt")
    qtbot.waitUntil(lambda: "MB" in dialog.cache_label.text())
