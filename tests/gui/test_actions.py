"""Grid actions: viewer, trash (confirmed, never a hard delete), paste, URL fetch, folder drop, crash log."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QGuiApplication, QImage

from photoclip.app.fetch import FetchError, fetch_image
from photoclip.gui.windows.main_window import MainWindow


def test_viewer_loads_off_thread_and_steps(window: MainWindow, qtbot) -> None:
    window.open_viewer(window.grid_model.index(0, 0))
    viewer = window._viewer
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer._pixmap is not None, timeout=20000)
    assert not viewer.prev_button.isEnabled()
    viewer.next_button.click()
    assert viewer.row == 1
    qtbot.waitUntil(lambda: viewer._pixmap is not None, timeout=20000)
    first = window.grid_model.photo(1).id
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        viewer.find_similar_button.click()
    assert window.grid_model.photo(0).id == first


def test_trash_moves_files_and_forgets_them(window: MainWindow, qtbot, monkeypatch) -> None:
    trashed: list[str] = []
    import send2trash

    monkeypatch.setattr(send2trash, "send2trash", trashed.append)  # the real trash lives in $HOME
    window.grid.selectionModel().clear()
    for row in (0, 1):
        window.grid.selectionModel().select(window.grid_model.index(row, 0), window.grid.selectionModel().SelectionFlag.Select)
    doomed = {window.grid_model.photo(0).path, window.grid_model.photo(1).path}
    with qtbot.waitSignal(window.sidebar_refreshed, timeout=20000):
        window.trash_selected(confirm=False)
    assert set(trashed) == doomed
    assert window.grid_model.rowCount() == 6
    assert window.counts["photos"] == 6
    assert all(Path(p).exists() for p in doomed)  # the stub moved nothing: no hard delete anywhere
    assert window.undo_trash_action.isEnabled()  # Edit → Undo move to trash knows what to put back
    assert [set(paths) for paths in window.trash_history] == [doomed]
    assert "Undo" in window.statusBar().currentMessage() and "2 photos" in window.statusBar().currentMessage()
    assert window.statusBar().currentMessage().endswith("puts them back.")


def test_trashing_one_photo_says_undo_puts_it_back(window: MainWindow, qtbot, monkeypatch) -> None:
    """Walk 24: "Moved 1 photo to the trash. … puts them back." """
    import send2trash

    from photoclip.gui.widgets import ask

    monkeypatch.setattr(send2trash, "send2trash", lambda path: None)
    asked: list[str] = []
    monkeypatch.setattr(ask, "confirm", lambda *a, details="", **k: asked.append(details) or True)
    window.grid.selectionModel().clear()
    window.grid.selectionModel().select(window.grid_model.index(0, 0), window.grid.selectionModel().SelectionFlag.Select)
    with qtbot.waitSignal(window.sidebar_refreshed, timeout=20000):
        window.trash_selected()
    assert "puts it back" in asked[0] and "them" not in asked[0]
    assert window.statusBar().currentMessage().endswith("(Ctrl+Z) puts it back.")


def test_trashing_a_search_result_closes_up_the_places_and_keeps_the_keyboard_place(window: MainWindow, qtbot, monkeypatch) -> None:
    """The photographer's walk: after trashing result #1 the rest read #2..#8, Match still
    said "all 8" and nothing was selected, so a keyboard user lost their place."""
    import send2trash

    monkeypatch.setattr(send2trash, "send2trash", lambda path: None)
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        qtbot.keyClicks(window.search_bar.edit, "a cat")
    assert window.grid_model.rowCount() == 8 and window.grid_model.rank(0) == 1
    window.grid.setCurrentIndex(window.grid_model.index(0, 0))
    next_best = window.grid_model.photo(1).id
    with qtbot.waitSignal(window.sidebar_refreshed, timeout=20000):
        window.trash_selected(confirm=False)
    assert window.grid_model.rowCount() == 7
    assert sorted(window.grid_model.rank(r) for r in range(7)) == list(range(1, 8))
    assert window.grid_model.rank(window.grid_model.row_of(next_best)) == 1
    assert window.match_filter.count.text() == "all 7"
    assert window.grid.currentIndex().row() == 0 and window.grid_model.photo(0).id == next_best
    assert window.grid.selectionModel().isSelected(window.grid.currentIndex())


def fake_trash_can(monkeypatch: pytest.MonkeyPatch, bin_dir: Path) -> None:
    """The desktop's trash as a folder: send2trash moves a photo into it, and restoring
    (which photoclip asks of the desktop) moves it back."""
    import shutil

    import send2trash

    from photoclip.app.trash import Restored
    from photoclip.gui.windows import grid_actions

    bin_dir.mkdir()
    monkeypatch.setattr(send2trash, "send2trash", lambda path: shutil.move(path, bin_dir / Path(path).name))

    def restore(paths: list[str]) -> Restored:
        for path in paths:
            shutil.move(bin_dir / Path(path).name, path)
        return Restored(restored=list(paths))

    monkeypatch.setattr(grid_actions, "restore_from_trash", restore)


def test_undo_of_a_trash_brings_the_photo_back_into_the_search_results(window: MainWindow, qtbot, monkeypatch, tmp_path) -> None:
    fake_trash_can(monkeypatch, tmp_path / "trash-can")
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        qtbot.keyClicks(window.search_bar.edit, "a cat")
    window.grid.setCurrentIndex(window.grid_model.index(0, 0))
    gone = window.grid_model.photo(0).path
    with qtbot.waitSignal(window.sidebar_refreshed, timeout=20000):
        window.trash_selected(confirm=False)
    assert window.grid_model.rowCount() == 7 and not Path(gone).exists()
    window.undo_trash()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 8, timeout=60000)
    assert gone in {window.grid_model.photo(r).path for r in range(8)} and window.grid_model.is_search


def test_paste_image_searches_with_it(window: MainWindow, qtbot, photo_dir: Path) -> None:
    QGuiApplication.clipboard().setImage(QImage(str(photo_dir / "skimage_camera.png")))
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        window.paste_image()
    chip = window.search_bar.chips[0]
    assert chip.term.kind == "image" and chip.term.label == "pasted image"
    assert window.grid_model.rowCount() == 8


def test_drop_folder_adds_it(window: MainWindow, qtbot, tmp_path: Path, photo_dir: Path) -> None:
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "coffee.jpg").write_bytes((photo_dir / "skimage_coffee.jpg").read_bytes())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(extra))])
    with qtbot.waitSignal(window.indexer.finished, timeout=60000):
        assert window.handle_mime(mime)
    qtbot.waitUntil(lambda: window.folder_model.rowCount() == 3, timeout=20000)


@pytest.fixture
def image_server(photo_dir: Path) -> Iterator[str]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(photo_dir), **kwargs)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="photoclip-test-http")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_fetch_image_url_rules(image_server: str, photo_dir: Path) -> None:
    (photo_dir / "notes.txt").write_text("not a picture")
    path = fetch_image(f"{image_server}/skimage_chelsea.jpg")
    assert Path(path).stat().st_size > 1000
    with pytest.raises(FetchError, match="larger than"):
        fetch_image(f"{image_server}/skimage_chelsea.jpg", max_bytes=1000)
    with pytest.raises(FetchError, match="not an image"):
        fetch_image(f"{image_server}/notes.txt")
    with pytest.raises(FetchError, match="http"):
        fetch_image("file:///etc/passwd")


def test_dropped_image_url_is_fetched_off_thread(window: MainWindow, qtbot, image_server: str) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl(f"{image_server}/skimage_grass.png")])
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        assert window.handle_mime(mime)
    assert window.search_bar.chips[0].term.kind == "image"
    assert window.grid_model.entry(0).score == pytest.approx(1.0, abs=0.02)  # the same pixels as a library photo


def test_excepthook_writes_the_log(qtbot, isolated_home: Path) -> None:
    from photoclip.gui import app

    try:
        raise RuntimeError("boom for the log")
    except RuntimeError as exc:
        app.report_exception(type(exc), exc, exc.__traceback__)
    text = app.log_file().read_text()
    assert "boom for the log" in text and str(isolated_home) in str(app.log_file())


def test_enter_in_the_viewer_neither_steps_back_nor_closes_it(window: MainWindow, qtbot) -> None:
    """Walk 24: "◀ Previous" was the dialog's default button (framed as such), so Enter, the
    key that had just opened the viewer, stepped back one photo."""
    from PySide6.QtCore import Qt

    window.open_viewer(window.grid_model.index(3, 0))
    viewer = window._viewer
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer._pixmap is not None, timeout=20000)
    qtbot.keyClick(viewer.image, Qt.Key.Key_Return)
    assert viewer.row == 3 and viewer.isVisible()
    assert not any(b.isDefault() or b.autoDefault() for b in viewer.findChildren(type(viewer.prev_button)))


def test_undo_of_a_trash_brings_the_same_photo_back_with_its_hand_tags(window: MainWindow, qtbot, monkeypatch, tmp_path) -> None:
    """Walk 24: trashing forgot the photo, so Undo brought back a new one: its hand tags and
    answers gone, embedded again. Now it is missing while in the trash, and found again."""
    from photoclip.app import tags as tag_ops
    from photoclip.core.db import Library

    fake_trash_can(monkeypatch, tmp_path / "trash-can")
    photo = window.grid_model.photo(0)
    with Library(window.db_path) as lib:
        tag_ops.add_tags(lib, [photo.id], "Portfolio")
        assert dict(tag_ops.tag_names(lib))["Portfolio"] == 1
    window.grid.selectionModel().clear()
    window.grid.setCurrentIndex(window.grid_model.index(0, 0))
    with qtbot.waitSignal(window.sidebar_refreshed, timeout=20000):
        window.trash_selected(confirm=False)
    assert window.grid_model.rowCount() == 7 and not Path(photo.path).exists()
    with Library(window.db_path) as lib:
        assert dict(tag_ops.tag_names(lib))["Portfolio"] == 0  # a tag counts the photos it shows
    embedded: list[int] = []
    window.indexer.finished.connect(lambda final: embedded.append(final.embedded))
    window.undo_trash()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 8 and bool(embedded), timeout=60000)
    assert photo.id in {window.grid_model.photo(r).id for r in range(8)}  # the same photo, not a new one
    assert set(embedded) == {0}  # nothing embedded again
    with Library(window.db_path) as lib:
        assert dict(tag_ops.tag_names(lib))["Portfolio"] == 1
