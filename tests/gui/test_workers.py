"""The one background-work abstraction: results, progress and errors arrive on the GUI
thread; generator jobs get their CancelToken; stale requests are dropped; shutdown joins."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest
from PySide6.QtCore import QThread

from photoclip.core.cancel import CancelToken
from photoclip.gui.services.workers import TaskRunner, Worker, running_worker_threads


def test_a_generator_job_reports_progress_and_its_result_on_the_gui_thread(qtbot) -> None:
    worker = Worker("test")
    gui = QThread.currentThread()
    seen: list[tuple[object, bool]] = []
    result: list[object] = []

    def job(cancel: CancelToken) -> Generator[int, None, str]:
        assert threading.current_thread().name.startswith("photoclip-test")
        yield from range(3)
        return "done"

    try:
        worker.submit(job, result.append, on_progress=lambda item: seen.append((item, QThread.currentThread() is gui)))
        qtbot.waitUntil(lambda: result == ["done"], timeout=5000)
        assert seen == [(0, True), (1, True), (2, True)]
    finally:
        worker.shutdown()
    assert not running_worker_threads()


def test_errors_go_to_on_error_or_to_the_unhandled_hook(qtbot) -> None:
    runner = TaskRunner("test", max_workers=1)
    errors: list[BaseException] = []
    unhandled: list[BaseException] = []
    runner.unhandled = unhandled.append

    def boom() -> None:
        raise ValueError("boom")

    try:
        runner.run(boom, on_error=errors.append)
        runner.run(boom)
        qtbot.waitUntil(lambda: len(errors) == 1 and len(unhandled) == 1, timeout=5000)
        assert isinstance(errors[0], ValueError) and isinstance(unhandled[0], ValueError)
    finally:
        runner.shutdown()


def test_a_cancelled_generator_job_stops_at_its_own_check_and_still_returns(qtbot) -> None:
    worker = Worker("test")
    started, result = threading.Event(), []
    token = CancelToken()

    def job(cancel: CancelToken) -> Generator[int, None, str]:
        started.set()
        n = 0
        while not cancel.cancelled:  # like core: the job decides where stopping is safe
            yield n
            n += 1
            cancel._cancelled.wait(0.01)
        return f"stopped after {n}"

    try:
        worker.submit(job, result.append, cancel=token)
        assert started.wait(5)
        token.cancel()
        qtbot.waitUntil(lambda: bool(result), timeout=5000)
        assert result[0].startswith("stopped after")
    finally:
        worker.shutdown()


def test_newest_request_first_one_per_key_and_discarded_results_dropped(qtbot) -> None:
    worker = Worker("test", newest_first=True, max_pending=4)
    gate = threading.Event()
    order: list[str] = []
    try:
        worker.submit(lambda c: gate.wait(5), key="blocker")  # holds the only thread
        qtbot.waitUntil(lambda: worker.pending == 1 and not worker._pending, timeout=5000)
        for name in ("a", "b", "c", "d"):  # "a" falls off when a fifth job comes: only 4 may wait
            worker.submit(lambda c, n=name: order.append(n), key=name)
        worker.submit(lambda c: order.append("b-again"), key="b")  # already waiting: moved up, not doubled
        stale = worker.submit(lambda c: "late", lambda r: order.append(r))
        worker.discard(stale)
        gate.set()
        qtbot.waitUntil(lambda: worker.pending == 0 and not worker.busy, timeout=5000)
        assert order == ["b", "d", "c"]
    finally:
        worker.shutdown()


def test_shutdown_cancels_running_jobs_and_joins_the_threads(qtbot) -> None:
    worker = Worker("test", threads=2)
    started = threading.Barrier(3)
    tokens: list[CancelToken] = []

    def wait_for_cancel(cancel: CancelToken) -> None:
        tokens.append(cancel)
        started.wait(5)
        cancel.wait_if_paused()
        cancel._cancelled.wait(10)

    worker.submit(wait_for_cancel)
    worker.submit(wait_for_cancel)
    started.wait(5)
    worker.shutdown()
    assert all(t.cancelled for t in tokens)
    assert not running_worker_threads()
    assert worker.submit(lambda c: None) == -1  # after shutdown, requests are dropped


@pytest.fixture(autouse=True)
def _no_threads_before() -> None:
    assert not running_worker_threads()
