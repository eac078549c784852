"""The indexing worker on its QThread: real photos, the tiny model, signals awaited."""

from __future__ import annotations

from pathlib import Path

from photoclip.core import paths
from photoclip.core.db import Library
from photoclip.gui.services.indexer import IndexController


def test_indexes_real_photos(qtbot, db_path: Path, photo_dir: Path, tiny_embedder) -> None:
    with Library(db_path) as lib:
        lib.add_folder(photo_dir)
    controller = IndexController(db_path, paths.thumbnail_dir())
    controller.set_embedder(tiny_embedder)
    events = []
    controller.progress.connect(events.append)
    try:
        with qtbot.waitSignal(controller.finished, timeout=120000) as blocker:
            controller.start()
        final = blocker.args[0]
        assert not final.cancelled
        assert final.embedded == 8
        assert any(e.phase == "index" for e in events)
        qtbot.waitUntil(lambda: not controller.running)
    finally:
        controller.shutdown()
    with Library(db_path) as lib:
        assert lib.counts(tiny_embedder.model_id)["embedded"] == 8


def test_cancel_then_rerun_completes(qtbot, db_path: Path, photo_dir: Path, tiny_embedder) -> None:
    with Library(db_path) as lib:
        lib.add_folder(photo_dir)
    controller = IndexController(db_path, paths.thumbnail_dir())
    controller.set_embedder(tiny_embedder)
    try:
        # Pause as soon as the pass starts, then cancel: the worker must wake and stop cleanly.
        controller.started.connect(controller.pause)
        with qtbot.waitSignal(controller.finished, timeout=60000) as blocker:
            controller.start()
            qtbot.waitUntil(lambda: controller.paused)
            controller.cancel()
        assert blocker.args[0].cancelled
        qtbot.waitUntil(lambda: not controller.running)
        controller.started.disconnect(controller.pause)
        with Library(db_path) as lib:
            assert lib.integrity_ok()
            assert lib.counts(tiny_embedder.model_id)["embedded"] < 8
        with qtbot.waitSignal(controller.finished, timeout=120000) as blocker:
            controller.start()
        assert not blocker.args[0].cancelled
        qtbot.waitUntil(lambda: not controller.running)
    finally:
        controller.shutdown()
    with Library(db_path) as lib:
        counts = lib.counts(tiny_embedder.model_id)
        assert counts["embedded"] == 8 and counts["pending"] == 0


def test_catalogue_without_model_then_embed(qtbot, db_path: Path, photo_dir: Path, tiny_embedder) -> None:
    with Library(db_path) as lib:
        lib.add_folder(photo_dir)
    controller = IndexController(db_path, paths.thumbnail_dir())
    try:
        with qtbot.waitSignal(controller.finished, timeout=60000) as blocker:
            controller.start()
        assert blocker.args[0].catalogued == 8 and blocker.args[0].embedded == 0
        qtbot.waitUntil(lambda: not controller.running)
        controller.set_embedder(tiny_embedder)
        with qtbot.waitSignal(controller.finished, timeout=120000) as blocker:
            controller.start()
        assert blocker.args[0].embedded == 8
        qtbot.waitUntil(lambda: not controller.running)
    finally:
        controller.shutdown()
