"""GUI test fixtures: a library with real photos, and a guard against leftover threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from photoclip.gui.qtcompat import keep_singletons_alive

# pytest-qt's model tester reads many empty QVariants; see photoclip/gui/qtcompat.py.
keep_singletons_alive()


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()}


@pytest.fixture(autouse=True)
def no_leftover_threads(qapp):
    """Fail a test that leaves a Python thread (the app's workers among them) running."""
    from PySide6.QtCore import QThreadPool

    from photoclip.gui.services.workers import running_worker_threads

    before = _live_threads()
    yield
    QThreadPool.globalInstance().waitForDone(5000)
    # Python registers foreign (Qt-made) threads as never-ending "dummy" threads: those are
    # checked through the app's own QThread registry instead.
    leftover = [t.name for t in _live_threads() - before if not isinstance(t, threading._DummyThread)]
    assert not leftover, f"threads left running after the test: {leftover}"
    assert not running_worker_threads(), "a photoclip worker thread is still running"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "library.db"


@pytest.fixture
def indexed_db(db_path: Path, photo_dir: Path, tiny_embedder) -> Path:
    """A library whose photos are all embedded with the tiny model (done without Qt)."""
    from photoclip.core import paths
    from photoclip.core.db import Library
    from photoclip.core.ingest.pipeline import index_library

    with Library(db_path) as lib:
        lib.add_folder(photo_dir)
        for _ in index_library(lib, tiny_embedder, thumbnails=paths.thumbnail_dir()):
            pass
    return db_path


def open_ready_window(qtbot, db: Path, embedder):
    """The main window over `db`, shown, `embedder` handed to it as the loaded model, and the
    indexing pass that this starts finished."""
    from photoclip.core.settings import Settings
    from photoclip.gui.qtcompat import emit
    from photoclip.gui.windows.main_window import MainWindow

    win = MainWindow(db, Settings(), load_model=False)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.indexer.finished, timeout=60000):
        win.model_service.embedder = embedder
        win.model_service._set("ready", "photoclip-tiny")
        emit(win.model_service.ready, embedder)
    return win


@pytest.fixture
def window(qtbot, indexed_db: Path, tiny_embedder):
    """The main window over the indexed photos, its model ready and the first pass done."""
    win = open_ready_window(qtbot, indexed_db, tiny_embedder)
    qtbot.waitUntil(lambda: win.grid_model.rowCount() == 8 and not win.library.busy)
    yield win
    win.close()
