"""The one cancel token of the project: every long job in core takes one, and the app's
background workers hand the same object to the job they run. Pausing is part of it,
since a paused job must still wake up to notice a cancel."""

from __future__ import annotations

import threading


class CancelToken:
    """Cooperative cancel and pause, shared between a worker thread and its owner."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # a paused job must wake up to notice

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_if_paused(self) -> None:
        self._running.wait()
