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
import stat
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
# inotify says nothing when a watched folder itself is renamed or moved (watchdog drops
# IN_MOVE_SELF), nor when an unmounted one comes back: the folders themselves are looked
# at this often (one stat each) while waiting.
ROOT_CHECK_S = 3.0


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
        return self.wait_for(debounce, max_delay, timeout) == "due"

    def wait_for(self, debounce: float, max_delay: float, timeout: float | None) -> str:
        """Why the wait ended: "due" (a burst is over; cleared), "timeout", "woken" or "closed"."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._closed:
                if self._woken:
                    self._woken = False
                    return "woken"
                now = time.monotonic()
                if self._first is not None:
                    due = min(self._last + debounce, self._first + max_delay)
                    if now >= due:
                        self._first = None
                        return "due"
                    wake = due
                else:
                    wake = float("inf")
                if deadline is not None:
                    if now >= deadline:
                        return "timeout"
                    wake = min(wake, deadline)
                # Bounded: a huge timeout (rescan_every) would overflow the wait.
                self._cond.wait(None if wake == float("inf") else min(wake - now, threading.TIMEOUT_MAX))
            return "closed"


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


NOT_AVAILABLE = "the folder is not available (not mounted?)"


def identity(folder: str) -> tuple[int, int] | None:
    """The folder's (device, inode), or None when no folder is there now."""
    try:
        st = os.stat(folder)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


@dataclass
class FolderWatcher:
    """watchdog observers for the library folders; the rest are listed in `rescanned`."""

    changes: Changes
    watched: set[str] = field(default_factory=set)
    rescanned: dict[str, str] = field(default_factory=dict)  # folder -> why it is rescanned instead

    def __post_init__(self) -> None:
        self._observer = Observer()
        self._watches: dict[str, ObservedWatch] = {}
        self._roots: dict[str, tuple[int, int] | None] = {}  # each watched folder's identity when its watch began
        self._handler = _Handler(self.changes)
        self._observer.start()

    def sync(self, folders: Iterable[str]) -> list[str]:
        """Watch exactly these folders; returns sentences about folders newly rescanned instead."""
        wanted = set(folders)
        news: list[str] = []
        for gone in (self.watched | set(self.rescanned)) - wanted:
            self._unwatch(gone)
            self.rescanned.pop(gone, None)
        for moved in sorted(folder for folder in self.watched & wanted if identity(folder) != self._roots.get(folder)):
            # Renamed, moved away, deleted or replaced since its watch began: the watch follows
            # the old folder (or nothing), so it is dropped and the path looked at afresh below.
            # That is a change for the library (a pass is due), even when this sync came first.
            self._unwatch(moved)
            self.changes.note()
        for folder in sorted(wanted - self.watched):
            why = self._schedule(folder)
            if why is None:
                if self.rescanned.get(folder) == NOT_AVAILABLE:
                    self.changes.note()  # back (a disk plugged in again): its photos are read again
                self.watched.add(folder)
                self.rescanned.pop(folder, None)
            elif self.rescanned.get(folder) != why:
                self.rescanned[folder] = why
                news.append(f"{folder}: {why}; it is rescanned periodically instead")
        return news

    def _unwatch(self, folder: str) -> None:
        watch = self._watches.pop(folder, None)
        if watch is not None:
            try:
                self._observer.unschedule(watch)
            except (KeyError, OSError):
                pass  # its emitter already stopped itself (the folder was deleted)
        self.watched.discard(folder)
        self._roots.pop(folder, None)

    def roots_changed(self) -> bool:
        """A watched folder is no longer the one watched (renamed, moved, deleted), or one that
        was not there is back: a pass is due, and `sync` watches the folders as they are now."""
        if any(identity(folder) != self._roots.get(folder) for folder in self.watched):
            return True
        return any(why == NOT_AVAILABLE and identity(folder) is not None for folder, why in self.rescanned.items())

    def _schedule(self, folder: str) -> str | None:
        found = identity(folder)
        if found is None:
            return NOT_AVAILABLE
        kind = network_filesystem(folder)
        if kind is not None:
            return f"changes on a network share ({kind}) are not notified"
        try:
            self._watches[folder] = self._observer.schedule(self._handler, folder, recursive=True)
            self._roots[folder] = found
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
        while True:
            left = None if periodic is None else periodic - (time.monotonic() - started)
            step = ROOT_CHECK_S if left is None else max(0.0, min(ROOT_CHECK_S, left))
            why = self.changes.wait_for(timing.debounce, timing.max_delay, step)
            if why != "timeout":
                return why == "due"
            if left is not None and left <= step:
                return True  # the periodic rescan
            if self.watcher.roots_changed():
                return True

    def wake(self) -> None:
        """Look at the library's folders again (one was added or removed); no pass is due for it."""
        self.changes.wake()

    def close(self) -> None:
        """End any wait and stop the watches (joins watchdog's threads)."""
        self.changes.close()
        self.watcher.stop()
