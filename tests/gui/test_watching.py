"""The open app watches its folders, and never indexes beside another photoclip (services/watching.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QToolTip

from photoclip.core.db import Library
from photoclip.core.ingest.lock import IndexLock
from photoclip.core.settings import Settings
from photoclip.gui.qtcompat import emit
from photoclip.worker import status
from photoclip.worker.watcher import FollowTiming
from tests.core.helpers import write_jpeg

ROOT = Path(__file__).resolve().parents[2]
QUICK = FollowTiming(debounce=0.2, max_delay=5.0)


def _follows(window, folder: Path) -> bool:
    return window.watching.owner and str(folder) in window.watching.watched


def _quicken(window) -> None:
    # Later bursts end after 0.2 quiet seconds instead of 2: the test waits less, nothing else changes.
    window.watching.follower.timing = QUICK


def _paths_in_grid(window) -> set[str]:
    model = window.grid_model
    return {os.path.basename(model.photo(row).path) for row in range(model.rowCount())}


def test_a_photo_copied_in_moved_or_deleted_shows_without_rescan(window, photo_dir: Path, qtbot) -> None:
    qtbot.waitUntil(lambda: _follows(window, photo_dir), timeout=30000)
    _quicken(window)
    started: list[bool] = []
    window.indexer.started.connect(lambda: started.append(True))

    with qtbot.waitSignal(window.results_shown, timeout=60000, check_params_cb=lambda _s: "new-arrival.jpg" in _paths_in_grid(window)):
        write_jpeg(photo_dir / "new-arrival.jpg", seed=41)
    assert started, "the photo came in through an indexing pass"
    qtbot.waitUntil(lambda: not window.indexer.running, timeout=60000)
    with Library(window.db_path) as lib:
        assert lib.counts(window.embedder.model_id)["pending"] == 0  # it is searchable, not only listed

    (photo_dir / "sub").mkdir()
    with qtbot.waitSignal(window.results_shown, timeout=60000, check_params_cb=lambda _s: "moved.jpg" in _paths_in_grid(window)):
        os.rename(photo_dir / "new-arrival.jpg", photo_dir / "sub" / "moved.jpg")
    assert "new-arrival.jpg" not in _paths_in_grid(window)

    with qtbot.waitSignal(window.results_shown, timeout=60000, check_params_cb=lambda _s: "moved.jpg" not in _paths_in_grid(window)):
        os.remove(photo_dir / "sub" / "moved.jpg")
    assert window.grid_model.rowCount() == 8


def test_status_describes_the_open_app(window, qtbot) -> None:
    qtbot.waitUntil(lambda: window.watching.owner, timeout=30000)
    qtbot.waitUntil(lambda: (seen := status.worker_status(window.db_path)).get("kind") == "app" and seen["model_loaded"])
    env = dict(os.environ, PYTHONPATH=str(ROOT), PHOTOCLIP_NO_WORKER="1")
    done = subprocess.run(
        [sys.executable, "-m", "photoclip", "--db", str(window.db_path), "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    worker = json.loads(done.stdout)["worker"]
    assert worker["running"] is True
    assert worker["pid"] == os.getpid()
    assert worker["kind"] == "app"
    assert worker["model_loaded"] is True
    assert worker["device"] == "cpu"  # where the app's model runs, not the "auto" it is set to
    assert "indexing" in worker
    # A `photoclip watch` started now refuses in one line, naming the app.
    watch = subprocess.run(
        [sys.executable, "-m", "photoclip", "--db", str(window.db_path), "watch"], env=env, capture_output=True, text=True, timeout=120
    )
    assert watch.returncode == 2, watch.stderr
    assert "photoclip app is open on this library" in watch.stderr and "Traceback" not in watch.stderr


@pytest.fixture
def held_by_a_watcher(indexed_db: Path):
    """The library as a running `photoclip watch` holds it: its lock, and the status it publishes."""
    lock = status.WorkerLock(indexed_db)
    assert lock.acquire()
    document = {
        "pid": 4242,
        "kind": "watcher",
        "db": os.path.realpath(indexed_db),
        "model_loaded": True,
        "indexing": {"phase": "index", "done": 3, "total": 8},
    }
    status.publish(indexed_db, document)
    yield lock, document
    lock.release()
    status.withdraw(indexed_db)


def _open_window(qtbot, db: Path, embedder):
    from photoclip.gui.windows.main_window import MainWindow

    win = MainWindow(db, Settings(), load_model=False)
    qtbot.addWidget(win)
    win.show()
    win.model_service.embedder = embedder
    win.model_service._set("ready", "photoclip-tiny")
    emit(win.model_service.ready, embedder)
    return win


def test_the_app_leaves_indexing_to_a_running_watcher_and_shows_its_progress(held_by_a_watcher, indexed_db, tiny_embedder, qtbot) -> None:
    lock, document = held_by_a_watcher
    win = _open_window(qtbot, indexed_db, tiny_embedder)
    started: list[bool] = []
    win.indexer.started.connect(lambda: started.append(True))
    qtbot.waitUntil(lambda: win.watching.other is not None, timeout=30000)
    other = win.watching.other
    assert (other.kind, other.pid, other.done, other.total) == ("watcher", 4242, 3, 8)
    assert win.index_status.isVisible()
    text = win.index_status.label.text()
    assert text == "The background watcher is adding photos: 3 of 8"
    assert "photoclip watch (process 4242)" in win.index_status.toolTip()
    assert not win.index_status.pause.isVisible() and not win.index_status.cancel.isVisible()
    assert win.index_status.bar.maximum() == 8 and win.index_status.bar.value() == 3

    # Its progress is read again on a timer: a new published figure shows up.
    status.publish(indexed_db, {**document, "indexing": {"phase": "index", "done": 6, "total": 8}})
    qtbot.waitUntil(lambda: "6 of 8" in win.index_status.label.text(), timeout=30000)

    win.rescan()
    assert "No need to rescan: the background watcher adds new and changed photos" in QToolTip.text()
    assert not started and not win.indexer.running and not win.watching.owner

    # The watcher stops: the app takes the library over, watches and catches up with a pass.
    with qtbot.waitSignal(win.indexer.finished, timeout=60000):
        lock.release()
        status.withdraw(indexed_db)
    assert win.watching.owner and win.watching.other is None
    assert status.worker_status(indexed_db)["pid"] == os.getpid()
    win.close()


def test_an_index_run_holding_the_library_is_waited_for_and_shown(window, photo_dir: Path, qtbot) -> None:
    qtbot.waitUntil(lambda: window.watching.owner, timeout=30000)
    other_index = IndexLock(window.db_path)  # what `photoclip index` holds while it runs
    assert other_index.acquire()
    try:
        failures: list[str] = []
        window.indexer.failed.connect(failures.append)
        with qtbot.waitSignal(window.indexer.busy, timeout=30000):
            window.rescan()
        qtbot.waitUntil(lambda: window.watching.other is not None and window.watching.other.photos == 8, timeout=30000)
        text = window.index_status.label.text()
        assert text == "Another photoclip is adding photos: 8 of 8 searchable", text
        assert f"photoclip index (process {os.getpid()})" in window.index_status.toolTip()
        assert not failures and not window.banner.isVisible()
        assert (status.worker_status(window.db_path)["indexing"] or {}).get("phase") == "waiting"
    finally:
        with qtbot.waitSignal(window.indexer.finished, timeout=60000):
            other_index.release()
    assert window.watching.other is None


def test_a_first_run_whose_library_folder_does_not_exist_yet_still_indexes(qtbot, tmp_path: Path, photo_dir: Path, tiny_embedder) -> None:
    """On a fresh machine the data folder appears only when the database is first opened, on
    the library thread; the worker lock beside it must not fail for that and block indexing."""
    from photoclip.gui.windows.main_window import MainWindow

    db_path = tmp_path / "not-yet" / "data" / "library.db"
    win = MainWindow(db_path, Settings(), load_model=False)
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.watching.owner, timeout=30000)
        assert not win.indexer.blocked
        win.model_service.embedder = tiny_embedder
        win.model_service._set("ready", "photoclip-tiny")
        emit(win.model_service.ready, tiny_embedder)
        win.add_folder(str(photo_dir))
        qtbot.waitUntil(lambda: win.counts.get("photos", 0) == 8 and win.counts.get("embedded", 0) == 8, timeout=120000)
    finally:
        win.close()
