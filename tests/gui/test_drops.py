"""URL drops while the download is slow: quitting does not wait for it, and a download that
arrives after the user moved on to another query does not overwrite that query.

The servers are the local http.server of test_fetch, each request waiting on an Event
(never a sleep), so every step here is awaited.
"""

from __future__ import annotations

import http.server
import os
import threading
import time
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
from PySide6.QtCore import QByteArray, QMimeData, QUrl

from photoclip.gui.windows.main_window import MainWindow
from tests.gui.test_fetch import serve  # noqa: F401  (the fixture)


def held_image(data: bytes, arrived: threading.Event, release: threading.Event, finished: threading.Event):
    """A server that answers with `data` once `release` is set (headers first, body after)."""

    def answer(request: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        try:
            request.send_response(200)
            request.send_header("Content-Type", "image/jpeg")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.flush()
            arrived.set()
            while not (release.wait(0.05) or stop.is_set()):
                pass
            request.wfile.write(data)
            request.wfile.flush()
        finally:
            finished.set()

    return answer


def drop_url(window: MainWindow, url: str) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl(url)])
    assert window.handle_mime(mime)


def test_quitting_during_a_slow_download_does_not_wait_for_it(window: MainWindow, qtbot, serve) -> None:  # noqa: F811
    arrived, release, finished = threading.Event(), threading.Event(), threading.Event()
    url = serve(held_image(b"\xff\xd8" * 10, arrived, release, finished)) + "/slow.jpg"
    drop_url(window, url)
    qtbot.waitUntil(arrived.is_set, timeout=10000)
    started = time.monotonic()
    window.shutdown()
    # Before: the pool joined the download's thread, which ran to fetch's 15 s deadline.
    assert time.monotonic() - started < 5.0


def test_a_download_that_arrives_after_the_user_typed_leaves_the_query_alone(
    window: MainWindow,
    qtbot,
    serve,  # noqa: F811
    photo_dir: Path,
) -> None:
    arrived, release, finished = threading.Event(), threading.Event(), threading.Event()
    data = (photo_dir / "skimage_chelsea.jpg").read_bytes()
    drop_url(window, serve(held_image(data, arrived, release, finished)) + "/cat.jpg")
    qtbot.waitUntil(arrived.is_set, timeout=10000)
    qtbot.keyClicks(window.search_bar.edit, "red car")
    release.set()
    qtbot.waitUntil(finished.is_set, timeout=10000)
    qtbot.waitUntil(lambda: window.pool.pending == 0 and not window.pool.busy, timeout=10000)
    qtbot.wait(0)  # deliver anything the worker posted
    assert window.search_bar.edit.text() == "red car"
    assert [chip.term.kind for chip in window.search_bar.chips] == []
    assert "Downloading" not in window.statusBar().currentMessage()  # it no longer is


def test_once_the_image_is_here_the_bar_no_longer_says_downloading(window: MainWindow, qtbot, serve, photo_dir: Path) -> None:  # noqa: F811
    arrived, release, finished = threading.Event(), threading.Event(), threading.Event()
    release.set()
    data = (photo_dir / "skimage_chelsea.jpg").read_bytes()
    before = sorted(photo_dir.rglob("*"))
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        drop_url(window, serve(held_image(data, arrived, release, finished)) + "/cat.jpg")
        assert window.statusBar().currentMessage().startswith("Downloading")
    assert sorted(photo_dir.rglob("*")) == before  # kept in the cache, never beside the photos
    assert "Downloading" not in window.statusBar().currentMessage()  # before: for good


def test_a_second_drop_wins_over_a_slow_first_one(window: MainWindow, qtbot, serve, photo_dir: Path) -> None:  # noqa: F811
    arrived, release, finished = threading.Event(), threading.Event(), threading.Event()
    slow = (photo_dir / "skimage_chelsea.jpg").read_bytes()
    drop_url(window, serve(held_image(slow, arrived, release, finished)) + "/first.jpg")
    qtbot.waitUntil(arrived.is_set, timeout=10000)
    second = photo_dir / "skimage_coffee.jpg"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(second))])
    assert window.handle_mime(mime)
    release.set()
    qtbot.waitUntil(finished.is_set, timeout=10000)
    qtbot.waitUntil(lambda: window.pool.pending == 0 and not window.pool.busy, timeout=10000)
    qtbot.wait(0)
    assert [chip.term.value for chip in window.search_bar.chips] == [str(second)]


def test_a_fifo_a_device_and_a_data_address_of_text_are_refused_with_a_message(window: MainWindow, qtbot, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)  # opening it to read would block until a writer comes: nothing may open it
    for url in (QUrl.fromLocalFile(str(fifo)), QUrl.fromLocalFile("/dev/zero"), QUrl("data:text/plain,hello")):
        window.statusBar().clearMessage()
        mime = QMimeData()
        mime.setUrls([url])
        window.handle_mime(mime)  # a local path is accepted, then looked at in a worker
        qtbot.waitUntil(lambda: "Only image files" in window.statusBar().currentMessage(), timeout=10000)
        assert window.search_bar.chips == []
        qtbot.waitUntil(lambda: window.pool.pending == 0, timeout=10000)


def test_the_window_never_looks_at_a_dropped_path_itself(window: MainWindow, qtbot, photo_dir: Path, monkeypatch) -> None:
    """A file on a network drive that is asleep answers its first stat after seconds: the
    window froze for them at the drop. Every stat of the dropped path is watched here."""
    import os

    target = str(photo_dir / "skimage_coffee.jpg")
    real_stat = os.stat
    from_window: list[str] = []

    def stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(path) == target and threading.current_thread() is threading.main_thread():
            from_window.append(target)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(target)])
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        assert window.handle_mime(mime)
    assert [chip.term.value for chip in window.search_bar.chips] == [target]
    assert from_window == []


def test_a_dropped_data_address_of_an_image_searches_with_it(window: MainWindow, qtbot, photo_dir: Path) -> None:
    """A browser drags an inline picture as a data: address. Before: 'Only image files…'."""
    import base64

    data = (photo_dir / "skimage_grass.png").read_bytes()
    before = sorted(photo_dir.rglob("*"))
    mime = QMimeData()
    mime.setUrls([QUrl("data:image/png;base64," + base64.b64encode(data).decode())])
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        assert window.handle_mime(mime)
    assert sorted(photo_dir.rglob("*")) == before  # kept in the cache, never beside the photos
    chip = window.search_bar.chips[0]
    assert chip.term.kind == "image" and chip.term.label == "dropped image"
    assert Path(str(chip.term.value)).read_bytes() == data
    assert window.grid_model.entry(0).score == pytest.approx(1.0, abs=0.02)  # the same pixels as a library photo


def test_a_damaged_data_address_says_so(window: MainWindow, qtbot) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl("data:image/png;base64,iVBORw0K!!!not base64")])
    assert window.handle_mime(mime)
    qtbot.waitUntil(lambda: "damaged" in window.statusBar().currentMessage(), timeout=10000)
    assert window.search_bar.chips == []


def dropped_as_a_file_manager_does(path: bytes) -> QMimeData:
    """GTK file managers (Nautilus, Thunar) write each byte of a name that is not UTF-8 as %XX."""
    from urllib.parse import quote_from_bytes

    from PySide6.QtCore import QByteArray

    mime = QMimeData()
    mime.setData("text/uri-list", QByteArray(b"file://" + quote_from_bytes(path).encode("ascii") + b"\r\n"))
    return mime


def test_a_photo_whose_name_is_not_utf8_is_searched_with(window: MainWindow, qtbot, photo_dir: Path) -> None:
    """A name from an old camera or Windows disk ("M\\xe4rz", Latin-1): before, the bytes were
    read as UTF-8 into U+FFFD, no such file was found, and the window said "Only image files…"."""
    import os

    name = os.fsencode(photo_dir) + b"/M\xe4rz.jpg"
    with open(name, "wb") as fh:
        fh.write((photo_dir / "skimage_coffee.jpg").read_bytes())
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        assert window.handle_mime(dropped_as_a_file_manager_does(name))
    assert [chip.term.value for chip in window.search_bar.chips] == [os.fsdecode(name)]
    assert window.grid_model.entry(0).score == pytest.approx(1.0, abs=0.02)  # the same pixels as skimage_coffee.jpg


def test_a_folder_whose_name_is_not_utf8_is_added(window: MainWindow, qtbot, photo_dir: Path, tmp_path: Path) -> None:
    import os

    folder = os.fsencode(tmp_path) + b"/Fotos M\xe4rz"
    os.mkdir(folder)
    with open(folder + b"/cat.jpg", "wb") as fh:
        fh.write((photo_dir / "skimage_chelsea.jpg").read_bytes())
    with qtbot.waitSignal(window.indexer.finished, timeout=30000):
        assert window.handle_mime(dropped_as_a_file_manager_does(folder))
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 9, timeout=10000)
    assert os.fsdecode(folder) in [f.path for f in window.folder_model.folders]


class CountingMime(QMimeData):
    """Counts the parses of its list of URLs (each urls() call parses the whole list again)."""

    parsed = 0

    def urls(self) -> list[QUrl]:
        self.parsed += 1
        return super().urls()


def test_a_drop_naming_too_many_files_is_refused_before_its_list_is_parsed(window: MainWindow, qtbot, photo_dir: Path) -> None:
    """10 MB of file names: Qt parsed them on the GUI thread three times over (a second or
    more, and each urls() call fetches them from the other program again); the size is known
    from the bytes alone, so the drop is refused unparsed."""
    line = b"file://" + quote_from_bytes(os.fsencode(photo_dir / "skimage_coffee.jpg")).encode("ascii") + b"\r\n"
    huge = CountingMime()
    huge.setData("text/uri-list", QByteArray(line * (10_000_000 // len(line))))
    assert not window.handle_mime(huge)
    assert huge.parsed == 0
    assert window.statusBar().currentMessage().startswith("That drop names too many files (10 MB)")
    assert window.search_bar.is_empty()

    small = CountingMime()
    small.setData("text/uri-list", QByteArray(line * 100))  # a hundred photos dragged: the first is the query
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        assert window.handle_mime(small)
    assert small.parsed == 1  # once, not once per question asked of it


def test_a_photo_chosen_in_a_file_dialog_is_searched_with_as_a_drop_would_be(
    window: MainWindow, qtbot, photo_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """Walk 24: the only ways to search by an example photo from disk were dragging it onto the
    window or pasting it; a photographer with the file manager full screen (or no mouse) had
    none. Edit → Find photos like a file… opens a file dialog and searches as a drop does."""
    import shutil

    from PySide6.QtWidgets import QFileDialog

    example = tmp_path / "from the card.jpg"  # a photo outside the library
    shutil.copy(photo_dir / "skimage_coffee.jpg", example)
    asked: list[str] = []

    def chosen(_parent, caption, _folder, filters):
        asked.append(filters)
        return str(example), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(chosen))
    found = [a for a in window.findChildren(type(window.trash_action)) if a.text().replace("&", "") == "Find photos like a file…"]
    assert found and found[0].shortcut().toString() == "Ctrl+Shift+O"
    with qtbot.waitSignal(window.results_shown, timeout=30000, check_params_cb=lambda s: s):
        found[0].trigger()
    assert "*.jpg" in asked[0] and "*.png" in asked[0]
    assert [(chip.term.kind, chip.term.value) for chip in window.search_bar.chips] == [("image", str(example))]
    assert window.grid_model.entry(0).score == pytest.approx(1.0, abs=0.02)  # the same pixels as skimage_coffee.jpg
