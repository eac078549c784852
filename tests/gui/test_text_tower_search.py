"""The app's word searches go through the cached text tower: the first one does not wait for the model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

from photoclip.core.model import OpenClipEmbedder
from photoclip.core.model.query import QueryEmbedder, prepare_text_tower
from photoclip.core.settings import Settings
from photoclip.gui.widgets import ChipTerm

TINY = "photoclip-tiny"


def _scores(window) -> list[tuple[int, float]]:
    model = window.grid_model
    return [(model.photo(row).id, round(float(model.entry(row).score or 0.0), 5)) for row in range(model.rowCount())]


@pytest.fixture
def slow_model(monkeypatch: pytest.MonkeyPatch):
    """The full model's load waits until the test lets it go (a cold torch start, made visible)."""
    release = threading.Event()
    load = OpenClipEmbedder.load

    def held_load(self: OpenClipEmbedder) -> OpenClipEmbedder:
        assert release.wait(120), "the test never released the model"
        return load(self)

    monkeypatch.setattr(OpenClipEmbedder, "load", held_load)
    yield release
    release.set()  # never leave a job thread waiting


def test_first_word_search_answered_by_the_tower_before_the_model_loads(
    indexed_db: Path, tiny_embedder: OpenClipEmbedder, tiny_weights: Path, slow_model: threading.Event, qtbot
) -> None:
    from photoclip.gui.windows.main_window import MainWindow

    assert prepare_text_tower(tiny_embedder)  # as after an earlier run of the app with these weights
    settings = Settings(model=TINY, weights=str(tiny_weights), device="cpu", precision="fp32")
    win = MainWindow(indexed_db, settings)  # loads its model as the app does, after the first paint
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model_service.text_embedder is not None, timeout=60000)
    assert win.model_service.embedder is None  # the full model is still loading
    assert isinstance(win.model_service.text_embedder, QueryEmbedder) and win.model_service.text_embedder.uses_tower

    with qtbot.waitSignal(win.results_shown, timeout=60000, check_params_cb=lambda is_search: is_search):
        win.search_bar.edit.setText("a dog on a sofa")
        win.run_query()
    assert win.model_service.embedder is None  # answered without it
    before = _scores(win)
    assert len(before) == 8

    # An image file needs the full model: that search waits for it, then is answered.
    photo = str(next(iter(sorted(Path(win.grid_model.photo(0).path).parent.glob("*.jpg")))))
    win.search_bar.add_chip(ChipTerm("image", photo, 1.0, "a photo"), replace=True)
    assert "waits for the model" in win.statusBar().currentMessage()
    with qtbot.waitSignal(win.results_shown, timeout=120000, check_params_cb=lambda is_search: is_search):
        slow_model.set()
    assert win.model_service.embedder is not None
    assert win.grid_model.rowCount() == 8

    # The same words score the same once the full model is here (still the tower's numbers).
    win.search_bar.clear()
    with qtbot.waitSignal(win.results_shown, timeout=60000, check_params_cb=lambda is_search: is_search):
        win.search_bar.edit.setText("a dog on a sofa")
        win.run_query()
    assert _scores(win) == before
    win.close()
