"""Noticing changes in the library's folders: OS notifications, debounced, or a periodic rescan.

watchdog gives inotify (Linux), FSEvents (macOS) and ReadDirectoryChangesW (Windows).
Notifications say only that something changed; the worker answers any burst with one
ordinary pass (the scan costs one stat per unchanged file), so a camera import of
2,000 files is one pass, not 2,000. Where notifications cannot work (a network share,
whose changes made on other machines never reach this kernel; the inotify watch limit;
a folder that is not there yet) the folder is rescanned periodically instead, and the
worker says so.

`FolderFollower` is the part both the watch daemon and the app run: it keeps the watches
in step with the library's folders and waits until a pass is due.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from photoclip.core.media.decode import is_candidate
from photoclip.core.paths import TEMP_MARKER

log = logging.getLogger(__name__)

# File systems whose changes can be made by other machines: the local kernel never hears of them.
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "davfs", "fuse.sshfs", "fuse.rclone", "fuse.s3fs"}
)


# How changes are debounced, in the daemon and the app alike.
DEBOUNCE_S = 2.0  # quiet seconds that end a burst of changes
MAX_DELAY_S = 30.0  # a burst that never ends still gets a pass this often
RESCAN_EVERY_S = 300.0  # for folders without notifications


class Changes:
    """A debounced "something changed": quiet for `debounce` seconds, or pending for `max_delay`."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._first: float | None = None
        self._last = 0.0
        self._closed = False
        self._woken = False
        self.noted = 0  # events seen, for the tests and the status

    @property
    def closed(self) -> bool:
        return self._closed

    def note(self) -> None:
        with self._cond:
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._last = now
            self.noted += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wake(self) -> None:
        """End the current wait early (it returns False) without counting as a change."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def wait(self, debounce: float, max_delay: float, timeout: float | None) -> bool:
        """True once a burst is over (and clears it); False after `timeout`, on `wake` or on close."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._closed:
                if self._woken:
                    self._woken = False
                    return False
                now = time.monotonic()
                if self._first is not None:
                    due = min(self._last + debounce, self._first + max_delay)
                    if now >= due:
                        self._first = None
                        return True
                    wake = due
                else:
                    wake = float("inf")
                if deadline is not None:
                    if now >= deadline:
                        return False
                    wake = min(wake, deadline)
                # Bounded: a huge timeout (rescan_every) would overflow the wait.
                self._cond.wait(None if wake == float("inf") else min(wake - now, threading.TIMEOUT_MAX))
            return False


def interesting(path: str) -> bool:
    """A change that can matter to the library: a photo file, not our sidecars or temp files."""
    name = os.path.basename(path)
    return TEMP_MARKER not in name and is_candidate(name)


def network_filesystem(folder: str, mounts_file: str = "/proc/mounts") -> str | None:
    """The file system type of `folder` when it is a network one (Linux); None otherwise."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open(mounts_file, encoding="utf-8", errors="replace") as fh:
            rows = [line.split() for line in fh]
    except OSError:
        return None
    real = os.path.realpath(folder)
    best, kind = "", ""
    for row in rows:
        if len(row) < 3:
            continue
        point = row[1].replace("\\040", " ")
        if (real == point or real.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, row[2]
    return kind if kind in NETWORK_FILESYSTEMS else None


@dataclass
class FolderWatcher:
    """watchdog observers for the library folders; the rest are listed in `rescanned`."""

    changes: Changes
    watched: set[str] = field(default_factory=set)
    rescanned: dict[str, str] = field(default_factory=dict)  # folder -> why it is rescanned instead

    def __post_init__(self) -> None:
        self._observer = Observer()
        self._watches: dict[str, ObservedWatch] = {}
        self._handler = _Handler(self.changes)
        self._observer.start()

    def sync(self, folders: Iterable[str]) -> list[str]:
        """Watch exactly these folders; returns sentences about folders newly rescanned instead."""
        wanted = set(folders)
        news: list[str] = []
        for gone in (self.watched | set(self.rescanned)) - wanted:
            watch = self._watches.pop(gone, None)
            if watch is not None:
                self._observer.unschedule(watch)
            self.watched.discard(gone)
            self.rescanned.pop(gone, None)
        for folder in sorted(wanted - self.watched):
            why = self._schedule(folder)
            if why is None:
                self.watched.add(folder)
                self.rescanned.pop(folder, None)
            elif self.rescanned.get(folder) != why:
                self.rescanned[folder] = why
                news.append(f"{folder}: {why}; it is rescanned periodically instead")
        return news

    def _schedule(self, folder: str) -> str | None:
        if not os.path.isdir(folder):
            return "the folder is not available (not mounted?)"
        kind = network_filesystem(folder)
        if kind is not None:
            return f"changes on a network share ({kind}) are not notified"
        try:
            self._watches[folder] = self._observer.schedule(self._handler, folder, recursive=True)
        except OSError as exc:
            # ENOSPC from inotify: the per-user watch limit (fs.inotify.max_user_watches) is reached.
            return f"file notifications are not available ({exc.strerror or exc})"
        return None

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=10)


class _Handler(FileSystemEventHandler):
    """Only the events that can change the library ring the bell."""

    def __init__(self, changes: Changes) -> None:
        super().__init__()
        self.changes = changes

    def dispatch(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write"):
            return  # reading a photo (our own decoder included) changes nothing
        is_dir = event.is_directory
        if is_dir and kind == "modified":
            return  # its files' own events say what changed
        paths = [os.fsdecode(event.src_path), os.fsdecode(event.dest_path or "")]
        if is_dir or any(p and interesting(p) for p in paths):
            self.changes.note()


@dataclass(frozen=True)
class FollowTiming:
    debounce: float = DEBOUNCE_S
    max_delay: float = MAX_DELAY_S
    rescan_every: float = RESCAN_EVERY_S


class FolderFollower:
    """Follows a library's folders: watches them, and says when an indexing pass is due.

    The watch daemon and the app both run one (each on a thread of its own, as `wait`
    blocks): `sync` with the library's folders, `wait`, a pass when it says so, again.
    """

    def __init__(self, timing: FollowTiming | None = None, changes: Changes | None = None) -> None:
        self.timing = timing or FollowTiming()
        self.changes = changes or Changes()
        self.watcher = FolderWatcher(self.changes)

    @property
    def closed(self) -> bool:
        return self.changes.closed

    def sync(self, folders: Iterable[str]) -> list[str]:
        """Watch exactly these folders; sentences about folders newly rescanned instead."""
        return self.watcher.sync(folders)

    def wait(self) -> bool:
        """Block until a pass is due (True: a burst of changes ended, or the periodic rescan
        of folders without notifications); False when woken to look at the folders again,
        or closed."""
        timing = self.timing
        periodic = timing.rescan_every if self.watcher.rescanned else None
        started = time.monotonic()
        if self.changes.wait(timing.debounce, timing.max_delay, periodic):
            return True
        return not self.closed and periodic is not None and time.monotonic() - started >= periodic

    def wake(self) -> None:
        """Look at the library's folders again (one was added or removed); no pass is due for it."""
        self.changes.wake()

    def close(self) -> None:
        """End any wait and stop the watches (joins watchdog's threads)."""
        self.changes.close()
        self.watcher.stop()
