"""What the window shows while another photoclip works on its library (services/watching.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolTip

from photoclip.gui.services.model_service import READY
from photoclip.gui.services.watching import OtherIndexer
from photoclip.gui.windows.base import WindowPart

LOCK_WAIT_TEXT = "Waiting for another photoclip to finish writing the library…"


class WatchingView(WindowPart):
    _lock_waiters: frozenset[str] = frozenset()  # the app's threads whose write waits for another process

    def _connect_watching(self) -> None:
        # A `photoclip index` or `watch` holding the write lock made the app's writes wait up
        # to 30 s without a word: past half a second the status bar says why (core/db/connection.py).
        # Emitted in those threads: bound methods and queued, so the status bar is only touched here.
        queued = Qt.ConnectionType.QueuedConnection
        self.library.lock_waiting.connect(self._library_lock_waiting, queued)
        self.tagging.tagger.lock_waiting.connect(self._tagging_lock_waiting, queued)
        watching = self.watching
        watching.other_changed.connect(self._other_indexer)
        watching.others_wrote.connect(self._others_wrote)
        watching.note.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.model_service.ready.connect(watching.model_changed)  # the socket answers with it, the status says so
        self.model_service.state_changed.connect(self._model_state_for_watching)
        self.sidebar_refreshed.connect(watching.folders_changed)

    def _library_lock_waiting(self, waiting: bool) -> None:
        self._lock_waiting("library", waiting)

    def _tagging_lock_waiting(self, waiting: bool) -> None:
        self._lock_waiting("tagging", waiting)

    def _lock_waiting(self, who: str, waiting: bool) -> None:
        self._lock_waiters = self._lock_waiters | {who} if waiting else self._lock_waiters - {who}
        bar = self.statusBar()
        if waiting:
            bar.showMessage(LOCK_WAIT_TEXT)  # until the write goes through: no time-out
        elif not self._lock_waiters and bar.currentMessage() == LOCK_WAIT_TEXT:
            bar.clearMessage()

    def _model_state_for_watching(self, state: str, _message: str) -> None:
        if state != READY:
            self.watching.model_changed(None)  # loading another, or none: the socket stops answering with the old one

    def _other_indexer(self, other: OtherIndexer | None) -> None:
        """Another photoclip's progress in the status bar, where the app's own would be."""
        if other is None:
            self.index_status.setVisible(self.indexer.running)
            return
        done, total = other.progress()
        self.index_status.show_elsewhere(other.sentence(), done, total, other.busy)
        self.index_status.setToolTip(other.explanation())
        self.index_status.show()

    def _others_wrote(self, finished: bool) -> None:
        """New photos or vectors from the other process: the grid and the sidebar follow."""
        self.refresh_sidebar()
        if self.search_bar.is_empty():
            self.browse(keep_order=not finished)
        elif finished:
            self.run_query()

    def rescan_elsewhere(self) -> bool:
        """Rescan while another worker owns the library: say who picks changes up. True when it does."""
        other = self.watching.other
        if other is None or other.kind == "indexer":
            return False
        # Beside the button, not in the status bar: on a small screen the bar has no room left for it.
        words = f"No need to rescan: {other.who[0].lower()}{other.who[1:]} adds new and changed photos, and they appear here by themselves."
        button = self.rescan_button
        QToolTip.showText(button.mapToGlobal(button.rect().bottomLeft()), words, button, button.rect(), 8000)
        return True
