"""A library folder renamed, moved away or put back while it is watched (worker/watcher.py).

inotify reports a watched folder's own rename to nobody (watchdog drops IN_MOVE_SELF), so
before, the app and `photoclip watch` went on showing the folder's photos as if nothing had
happened until someone pressed Rescan; and a folder that came back (a disk plugged in again)
waited five minutes for the periodic rescan."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from photoclip.worker import watcher
from photoclip.worker.watcher import NOT_AVAILABLE, FolderFollower, FollowTiming

QUICK = FollowTiming(debounce=0.1, max_delay=2.0, rescan_every=300.0)


def _wait_in_thread(follower: FolderFollower) -> tuple[threading.Thread, list[bool]]:
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(follower.wait()), daemon=True)
    thread.start()
    return thread, outcome


@pytest.fixture
def follower(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(watcher, "ROOT_CHECK_S", 0.1)
    follower = FolderFollower(QUICK)
    yield follower
    follower.close()


def test_a_watched_folder_renamed_makes_a_pass_due_and_comes_back_watched(follower: FolderFollower, tmp_path: Path) -> None:
    folder = tmp_path / "Garden"
    folder.mkdir()
    assert follower.sync([str(folder)]) == []
    assert str(folder) in follower.watcher.watched

    thread, outcome = _wait_in_thread(follower)
    os.rename(folder, tmp_path / "Garden renamed")
    thread.join(timeout=10)
    assert outcome == [True], "the rename was not noticed: no pass came"

    # The next sync looks at the path as it is now: nothing there, rescanned until it is back.
    notes = follower.sync([str(folder)])
    assert str(folder) not in follower.watcher.watched
    assert follower.watcher.rescanned[str(folder)] == NOT_AVAILABLE
    assert notes and "not available" in notes[0]

    thread, outcome = _wait_in_thread(follower)
    os.rename(tmp_path / "Garden renamed", folder)
    thread.join(timeout=10)
    assert outcome == [True], "the folder's return waited for the five-minute rescan"
    assert follower.sync([str(folder)]) == []
    assert str(folder) in follower.watcher.watched


def test_a_folder_replaced_by_another_of_the_same_name_is_watched_afresh(follower: FolderFollower, tmp_path: Path) -> None:
    folder = tmp_path / "Trips"
    folder.mkdir()
    follower.sync([str(folder)])
    thread, outcome = _wait_in_thread(follower)
    os.rename(folder, tmp_path / "old Trips")
    folder.mkdir()  # a new, empty folder where the old one was
    thread.join(timeout=10)
    assert outcome == [True]
    follower.sync([str(folder)])
    assert str(folder) in follower.watcher.watched
    assert not follower.watcher.roots_changed()


def test_nothing_changed_keeps_waiting_and_a_wake_still_ends_the_wait(follower: FolderFollower, tmp_path: Path) -> None:
    folder = tmp_path / "Still here"
    folder.mkdir()
    follower.sync([str(folder)])
    thread, outcome = _wait_in_thread(follower)
    thread.join(timeout=0.6)  # several root checks go by
    assert thread.is_alive() and outcome == []
    follower.wake()
    thread.join(timeout=10)
    assert outcome == [False]
