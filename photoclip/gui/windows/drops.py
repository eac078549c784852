"""Drops and pastes that become queries: image files, folders, web and data: images.

Everything that can wait (a folder on a sleeping network drive, a download, decoding a
pasted picture) runs in the window's pool; a newer query cancels what is still on its way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog

from photoclip.app.fetch import FetchCancelled, fetch_image, image_from_data_url, store_image_bytes
from photoclip.core.cancel import CancelToken
from photoclip.gui.widgets import ChipTerm, ask
from photoclip.gui.widgets.search_bar import TakesImageDrops, accept_without_move
from photoclip.gui.windows.base import WindowPart

NOT_DROPPABLE = "Only image files, folders and http(s) image addresses can be dropped."
# A drop only ever uses its first file or its folders; 1 MB is some 10,000 file names. Qt
# parses the whole list on the GUI thread (10 MB: ~0.7 s, and every urls() call fetches and
# parses it again), while its size is known once the bytes are fetched, before any parsing.
MAX_URI_LIST_BYTES = 1 << 20


def too_many_text(size: int) -> str:
    # Short: at 1024 px the status bar has some 600 px beside its counts.
    return f"That drop names too many files ({size / 1e6:.0f} MB): drop one photo or a few folders."


class Drops(TakesImageDrops, WindowPart):
    _drop_token: int | None = None  # the download or paste on its way to becoming the query
    _drop_message = ""  # what the status bar says while that download runs

    def dropEvent(self, event: QDropEvent) -> None:
        if self.handle_mime(event.mimeData()):
            accept_without_move(event)

    def handle_mime(self, mime: QMimeData) -> bool:
        """A drop or paste: folders are added, an image (file, URL or data) becomes the query."""
        size = uri_list_size(mime)
        if size > MAX_URI_LIST_BYTES:
            self.statusBar().showMessage(too_many_text(size), 8000)
            return False
        urls = mime.urls() if mime.hasUrls() else []  # parsed once: each call fetches and parses again
        local = [local_path(url) for url in urls if url.isLocalFile()]
        if local:
            self._take_local_paths(local)
            return True
        for url in urls:
            if url.scheme() in ("http", "https"):
                self._fetch_url(url.toString())
                return True
            if url.scheme() == "data" and url.path().lower().startswith("image/"):
                self._take_data_url(url.toString())  # a browser drags an inline picture so
                return True
        if mime.hasImage():
            image = mime.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self._search_qimage(image)
                return True
        if urls:
            self.statusBar().showMessage(NOT_DROPPABLE, 6000)
        return False

    def _take_local_paths(self, paths: list[str]) -> None:
        """Dropped files and folders, looked at in a worker: a folder on a sleeping network
        drive can take seconds to answer, and the window froze for them at the drop."""
        self.forget_pending_drop()

        def use(found: tuple[list[str], str | None]) -> None:
            folders, image = found
            if image is not None:
                self.search_image_file(image)
            for folder in folders if image is None else ():
                self.add_folder(folder)
            if image is None and not folders:
                self.statusBar().showMessage(NOT_DROPPABLE, 6000)

        self._start_drop(lambda _cancel: sort_dropped(paths), use)

    def _fetch_url(self, url: str) -> None:
        self.forget_pending_drop()
        self._drop_message = f"Downloading {url}…"
        self.statusBar().showMessage(self._drop_message)
        self._start_drop(lambda cancel: fetch_image(url, cancel=cancel), self.search_image_file)

    def _take_data_url(self, text: str) -> None:
        self.forget_pending_drop()

        def use(path: str) -> None:
            self.search_bar.add_chip(ChipTerm("image", path, 1.0, "dropped image"), replace=True)

        self._start_drop(lambda _cancel: image_from_data_url(text), use)

    def _start_drop(self, job: Callable[[CancelToken], Any], use: Callable[[Any], None]) -> None:
        """Run `job` in the pool; `use` gets its result only if nothing newer came first."""

        def arrived(result: Any) -> None:
            self._end_drop()
            use(result)

        def failed(exc: BaseException) -> None:
            self._end_drop()
            if not isinstance(exc, FetchCancelled):
                self._query_failed(exc)

        self._drop_token = self.pool.submit(job, arrived, failed)

    def forget_pending_drop(self) -> None:
        """The query changed (typing, another drop): a download still running would overwrite
        it when it lands, seconds later; it is stopped and its result dropped."""
        token = self._drop_token
        self._end_drop()
        if token is not None:
            self.pool.cancel(token)  # the download lets go of its thread within a moment
            self.pool.discard(token)

    def _end_drop(self) -> None:
        """No download is on its way: the status bar stops saying one is (it said so for good)."""
        self._drop_token = None
        if self._drop_message and self.statusBar().currentMessage() == self._drop_message:
            self.statusBar().clearMessage()
        self._drop_message = ""

    def _search_qimage(self, image: QImage) -> None:
        def save() -> str:
            # QImage (unlike QPixmap) may be used in any thread.
            from PySide6.QtCore import QBuffer, QIODevice

            buffer = QBuffer()
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            image.save(buffer, "PNG")  # type: ignore[call-overload]  # the binding takes a str; the stubs say bytes
            return store_image_bytes(bytes(buffer.data().data()), ".png")

        self.forget_pending_drop()

        def use(path: str) -> None:
            self.search_bar.add_chip(ChipTerm("image", path, 1.0, "pasted image"), replace=True)

        self._start_drop(lambda _cancel: save(), use)

    def choose_example_photo(self) -> None:
        """Edit → Find photos like a file…: the same as dropping that file on the window, for
        whoever cannot drag one there (a full-screen file manager, a trackpad, a keyboard)."""
        path, _ = QFileDialog.getOpenFileName(self, "Find photos like this one", ask.pictures_folder(), example_filter())
        if path:
            self._take_local_paths([path])

    def paste_image(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self.handle_mime(mime):
            self.statusBar().showMessage("The clipboard holds no image to search with.", 5000)


def uri_list_size(mime: QMimeData) -> int:
    """The size of the drop's list of URLs (0: none). Fetches the bytes (from another program
    over X, 0.4 s for 10 MB) but parses nothing: that is left to urls(), for a list small enough."""
    return mime.data("text/uri-list").size() if mime.hasUrls() else 0


def local_path(url: QUrl) -> str:
    """The dropped file's path. A name that is not UTF-8 (a folder copied from an old camera
    or Windows disk: "M\\xe4rz") comes percent-encoded byte by byte, and toLocalFile decoded
    those bytes as UTF-8, into U+FFFD: no such file, and "Only image files…" for a photo.
    The bytes are kept here as Python keeps such names (os.fsdecode), as the scan does."""
    if os.name != "posix" or url.host():
        return url.toLocalFile()
    return os.fsdecode(unquote_to_bytes(url.path(QUrl.ComponentFormattingOption.FullyEncoded)))


def example_filter() -> str:
    """The file dialog's filter: the images photoclip reads (as a library would), then any file."""
    from photoclip.core.media.decode import HEIF_EXTENSIONS, RAW_EXTENSIONS, STANDARD_EXTENSIONS

    patterns = " ".join(f"*{ext}" for ext in sorted(STANDARD_EXTENSIONS | HEIF_EXTENSIONS | RAW_EXTENSIONS))
    return f"Photos ({patterns});;All files (*)"


# -- helpers that run in workers ---------------------------------------------


def sort_dropped(paths: list[str]) -> tuple[list[str], str | None]:
    """(the folders, the first regular file): that file is the query, else the folders are added.
    A FIFO or a device is neither (it is never opened)."""
    folders = []
    for path in paths:
        if os.path.isdir(path):
            folders.append(path)
        elif os.path.isfile(path):
            return folders, path
    return folders, None
