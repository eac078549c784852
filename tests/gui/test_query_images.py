"""A photo used as a query is read off the library thread: a huge or slow file holds up no
other library job, it is embedded on the model's thread, and a newer search drops it.

The decode is held on an Event (a stand-in for a file that takes seconds), never a sleep.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from photoclip.core.db import Library
from photoclip.core.search import Searcher
from photoclip.core.search import query as query_module
from photoclip.gui.widgets import ChipTerm
from photoclip.gui.windows.main_window import MainWindow
from tests.conftest import PHOTOS


class HeldDecode:
    """open_image, held until `release` is set; records the threads that decoded and embedded."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.decoded_on: list[str] = []
        self.embedded_on: list[str] = []


@pytest.fixture
def held(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldDecode]:
    held = HeldDecode()
    real_open = query_module.open_image

    def slow_open(path: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        held.decoded_on.append(threading.current_thread().name)
        held.entered.set()
        assert held.release.wait(60), "the test never let the decode go"
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(query_module, "open_image", slow_open)
    embedder = window.embedder
    assert embedder is not None
    real_embed = embedder.embed_images

    def recorded(batch):  # type: ignore[no-untyped-def]
        held.embedded_on.append(threading.current_thread().name)
        return real_embed(batch)

    monkeypatch.setattr(embedder, "embed_images", recorded)
    yield held
    held.release.set()  # never leave a thread waiting


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A photo that is not in the library: it has no stored vector, so it must be decoded."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return Path(shutil.copy(PHOTOS / "skimage_chelsea.jpg", folder / "cat.jpg"))


def _scores(window: MainWindow) -> list[tuple[int, float]]:
    model = window.grid_model
    return [(model.photo(row).id, round(float(model.entry(row).score or 0.0), 4)) for row in range(model.rowCount())]


def test_a_dropped_photo_is_decoded_off_the_library_thread_and_embedded_on_the_models(
    window: MainWindow, held: HeldDecode, outside: Path, qtbot
) -> None:
    window.search_image_file(str(outside))
    qtbot.waitUntil(held.entered.is_set, timeout=10000)
    # While the file is being read, the library thread answers other jobs (it was stuck in the decode).
    answered: list[object] = []
    window.library.call(lambda ctx: ctx.lib.counts(None), answered.append)
    qtbot.waitUntil(lambda: bool(answered), timeout=5000)

    with qtbot.waitSignal(window.results_shown, timeout=60000, check_params_cb=lambda is_search: is_search):
        held.release.set()
    assert held.decoded_on and not any(name.startswith("photoclip-library") for name in held.decoded_on)
    assert held.embedded_on and all(name.startswith("photoclip-model") for name in held.embedded_on)
    # The same photos and scores as the command line's `similar` on that file.
    with Library(window.db_path) as lib:
        expected = Searcher(lib, window.embedder, approximate_from=0).similar(str(outside), limit=1000)  # type: ignore[arg-type]
    assert _scores(window) == [(r.photo.id, round(r.score, 4)) for r in expected]


def test_a_newer_search_is_answered_while_the_photo_is_read_and_the_photo_never_lands(
    window: MainWindow, held: HeldDecode, outside: Path, qtbot
) -> None:
    window.search_image_file(str(outside))
    qtbot.waitUntil(held.entered.is_set, timeout=10000)
    with qtbot.waitSignal(window.results_shown, timeout=10000, check_params_cb=lambda is_search: is_search):
        window.search_bar.add_chip(ChipTerm("text", "a cat", 1.0, "a cat"), replace=True)  # the user moved on
    words = _scores(window)
    assert len(words) == 8

    later: list[bool] = []
    window.results_shown.connect(later.append)
    held.release.set()
    qtbot.waitUntil(lambda: not window.pool.busy and not window.model_pool.busy and not window.library.busy, timeout=10000)
    qtbot.wait(200)
    assert later == [] and _scores(window) == words  # the photo read too late changed nothing
    assert held.embedded_on == []  # and was never embedded


def test_a_typed_file_name_is_read_off_the_library_thread_too(window: MainWindow, held: HeldDecode, outside: Path, qtbot) -> None:
    held.release.set()
    with qtbot.waitSignal(window.results_shown, timeout=60000, check_params_cb=lambda is_search: is_search):
        window.search_bar.edit.setText(str(outside))
        window.run_query()
    assert held.decoded_on and not any(name.startswith("photoclip-library") for name in held.decoded_on)
    assert len(_scores(window)) == 8
