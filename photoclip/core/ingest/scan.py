"""Walking the library's folders and reconciling what is on disk with the database.

The scan only lists and stats: an unchanged file costs one stat, a new file a new
row, a changed one a reset row. Fingerprints (how a moved or renamed file keeps its
row, vectors and tags) are taken later by the decode workers, which read the file
anyway. Files that vanished are marked missing, never dropped: purging is a
separate, explicit action.

Writes go in short transactions, one before each progress event, so that nothing
is held locked while the consumer of the events runs (a paused GUI, a slow
terminal) and a cancel loses nothing already seen.
"""

from __future__ import annotations

import os
import sqlite3
import stat as stat_module
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field

from photoclip.core.cancel import CancelToken
from photoclip.core.db import MISSING, Library
from photoclip.core.media.decode import HEIF_EXTENSIONS, JPEG_EXTENSIONS, RAW_EXTENSIONS, extension, is_candidate
from photoclip.core.paths import within
from photoclip.core.xmp.sidecar import import_sidecar_tags

# Folders that hold caches or other apps' data rather than photos.
IGNORED_DIRS = frozenset({"@eaDir", "__MACOSX", "$RECYCLE.BIN", "System Volume Information", "lost+found"})


@dataclass
class ScanProgress:
    seen: int
    folder: str


@dataclass
class ScanResult:
    """What a scan found. The pipeline updates `new`, `moved` and `missing` afterwards, when
    a new file's fingerprint (taken while decoding it) shows it is a missing photo, moved."""

    seen: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    missing: int = 0
    returned: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)
    moved_ids: list[int] = field(default_factory=list)
    missing_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    mtime_ns: int
    companion: str | None = None  # a RAW file shown through this JPEG/HEIC
    has_sidecar: bool = False  # an XMP sidecar sits beside it (photo.ext.xmp or photo.xmp)


def _pair_raw_files(files: list[FileEntry]) -> list[FileEntry]:
    """A RAW beside a JPEG or HEIC of the same name is one photo: keep the JPEG, remember the RAW."""
    exts = [extension(entry.path) for entry in files]
    if RAW_EXTENSIONS.isdisjoint(exts):
        return files  # most folders: nothing to pair, and a rescan should cost one stat per file
    by_stem: dict[str, list[tuple[FileEntry, str]]] = {}
    for entry, ext in zip(files, exts):
        name = os.path.basename(entry.path)
        stem = name[: len(name) - len(ext)].lower()
        by_stem.setdefault(stem, []).append((entry, ext))
    viewable = JPEG_EXTENSIONS | HEIF_EXTENSIONS
    out = []
    for group in by_stem.values():
        raws = [e for e, ext in group if ext in RAW_EXTENSIONS]
        viewables = [e for e, ext in group if ext in viewable]
        if raws and viewables:
            main = viewables[0]
            out.append(FileEntry(main.path, main.size, main.mtime_ns, raws[0].path, main.has_sidecar))
            out.extend(e for e, _ in group if e not in raws and e is not main)
        else:
            out.extend(e for e, _ in group)
    return out


def walk_folder(root: str, visited: set[tuple[int, int]], problems: list[tuple[str, str]]) -> Iterator[FileEntry]:
    """Photo files under root, following symlinks but never entering a directory twice."""
    stack = [root]
    seen_files: set[tuple[int, int]] = set()
    while stack:
        directory = stack.pop()
        try:
            st = os.stat(directory)
        except OSError as exc:
            problems.append((directory, f"cannot open folder: {exc.strerror or exc}"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in visited:
            continue  # a symlink loop, or a folder reached twice
        visited.add(key)
        files: list[FileEntry] = []
        subdirs: list[str] = []
        sidecars: set[str] = set()
        try:
            with os.scandir(directory) as it:
                for entry in it:
                    if entry.name.lower().endswith(".xmp"):
                        sidecars.add(entry.name[:-4].lower())
                    else:
                        _classify(entry, files, subdirs, seen_files)
        except OSError as exc:
            problems.append((directory, f"cannot read folder: {exc.strerror or exc}"))
            continue
        if sidecars:
            files = [_with_sidecar_flag(f, sidecars) for f in files]
        yield from _pair_raw_files(files)
        stack.extend(sorted(subdirs, reverse=True))


def _with_sidecar_flag(entry: FileEntry, sidecars: set[str]) -> FileEntry:
    name = os.path.basename(entry.path).lower()
    if name in sidecars or os.path.splitext(name)[0] in sidecars:
        return FileEntry(entry.path, entry.size, entry.mtime_ns, entry.companion, True)
    return entry


def _classify(entry: os.DirEntry[str], files: list[FileEntry], subdirs: list[str], seen_files: set[tuple[int, int]]) -> None:
    name = entry.name
    if name.startswith("."):
        return  # hidden files and folders: caches, .git, .thumbnails, our own temp files
    try:
        if entry.is_dir(follow_symlinks=True):
            if name not in IGNORED_DIRS:
                subdirs.append(entry.path)
            return
        if not is_candidate(name):
            return
        st = entry.stat(follow_symlinks=True)
    except OSError:
        return  # a broken symlink, or a file gone between listing and stat
    if not stat_module.S_ISREG(st.st_mode):
        return
    identity = (st.st_dev, st.st_ino)
    if identity in seen_files:
        return  # the same file through a second link
    seen_files.add(identity)
    files.append(FileEntry(entry.path, st.st_size, st.st_mtime_ns))


# Progress (and the commit before it) at least this often, and every this many files.
EVENT_INTERVAL = 0.25
EVENT_FILES = 500


@dataclass
class _PendingWrites:
    """What the walk found since the last commit; written in one short transaction."""

    new: list[tuple[FileEntry, int]] = field(default_factory=list)
    changed: list[tuple[int, FileEntry]] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)
    companions: list[tuple[int, str]] = field(default_factory=list)


def scan_library(
    lib: Library, commit_every: float = EVENT_INTERVAL, cancel: CancelToken | None = None
) -> Generator[ScanProgress, None, ScanResult]:
    """Reconcile every library folder with the disk. Yields progress; returns a ScanResult.

    Every event is preceded by a commit, so closing the generator after any event (a
    cancel) keeps what was found so far. `commit_every` bounds the time between
    events (and so between commits); on `cancel` the scan stops at the next event
    and marks nothing missing, since it has not seen everything.
    """
    result = ScanResult()
    known = lib.file_states()
    visited: set[tuple[int, int]] = set()
    seen: set[str] = set()
    available: list[str] = []
    pending = _PendingWrites()
    interval = min(commit_every, EVENT_INTERVAL) if commit_every > 0 else 0.0
    last_event = time.monotonic()
    # Parents before children, so a nested folder's files belong to the outer one once.
    for folder_id, folder in sorted(lib.folder_paths(), key=lambda f: len(f[1])):
        if not os.path.isdir(folder):
            # An unplugged drive or unmounted share: leave its photos as they are.
            result.problems.append((folder, "folder is not available (moved, deleted or not mounted)"))
            continue
        available.append(folder)
        for entry in walk_folder(folder, visited, result.problems):
            if entry.path in seen:
                continue
            seen.add(entry.path)
            result.seen += 1
            _reconcile_one(entry, folder_id, known, pending, result)
            if result.seen % EVENT_FILES == 0 or time.monotonic() - last_event >= interval:
                _write(lib, pending, result)
                yield ScanProgress(result.seen, folder)
                last_event = time.monotonic()
                if cancel is not None and cancel.cancelled:
                    return result
    gone = [rec[0] for path, rec in known.items() if path not in seen and rec[3] != MISSING and any(within(path, f) for f in available)]
    with lib.transaction():
        _write(lib, pending, result)
        lib.mark_missing(gone)
    # A missing photo found again under a new path (by its fingerprint, while indexing)
    # is taken off this count and off `new` then.
    result.missing = len(gone)
    result.missing_ids = gone
    yield ScanProgress(result.seen, "")
    return result


def _reconcile_one(
    entry: FileEntry,
    folder_id: int,
    known: dict[str, tuple[int, int, int, str]],
    pending: _PendingWrites,
    result: ScanResult,
) -> None:
    record = known.get(entry.path)
    if record is None:
        pending.new.append((entry, folder_id))
        return
    photo_id, size, mtime_ns, status = record
    if size != entry.size or mtime_ns != entry.mtime_ns:
        pending.changed.append((photo_id, entry))
    elif status == MISSING:
        pending.returned.append(photo_id)
    if entry.companion:
        pending.companions.append((photo_id, entry.companion))


def _write(lib: Library, pending: _PendingWrites, result: ScanResult) -> None:
    """Apply what the walk found, tolerating rows and folders that went since it was read.

    Another connection may trash a photo, remove a folder or (before the indexing
    lock, or through a second library file path) insert a path in the meantime: a
    write for something that is gone is dropped, never an error that stops the scan.
    """
    if not (pending.new or pending.changed or pending.returned or pending.companions):
        return
    with lib.transaction():
        live_folders = {fid for fid, _ in lib.folder_paths()}
        existing = lib.photos([pid for pid, _ in pending.changed] + pending.returned + [pid for pid, _ in pending.companions])
        for photo_id, entry in pending.changed:
            if photo_id in existing:
                # The fingerprint is taken again when the file is decoded.
                lib.mark_changed(photo_id, entry.size, entry.mtime_ns, None)
                result.changed += 1
                _import_sidecar(lib, photo_id, entry, result)
        for photo_id in pending.returned:
            if photo_id in existing:
                lib.mark_present(photo_id)
                result.returned += 1
        for photo_id, companion in pending.companions:
            if photo_id in existing:
                lib.set_companion(photo_id, companion)
        for entry, folder_id in pending.new:
            if folder_id not in live_folders:
                continue  # the folder was removed from the library while we walked it
            new_id = _insert(lib, entry, folder_id)
            if new_id is None:
                continue
            result.new += 1
            result.new_ids.append(new_id)
            if entry.companion:
                lib.set_companion(new_id, entry.companion)
            _import_sidecar(lib, new_id, entry, result)
    pending.new.clear()
    pending.changed.clear()
    pending.returned.clear()
    pending.companions.clear()


def _insert(lib: Library, entry: FileEntry, folder_id: int) -> int | None:
    """A new row for a new path; None when the path was catalogued meanwhile by someone else."""
    try:
        return lib.insert_photo(entry.path, folder_id, entry.size, entry.mtime_ns, None)
    except sqlite3.IntegrityError:
        # Only one statement failed; the transaction goes on. The row that won stays as it is.
        if lib.photo_by_path(entry.path) is not None:
            return None
        raise


def _import_sidecar(lib: Library, photo_id: int, entry: FileEntry, result: ScanResult) -> None:
    """Keywords other apps wrote into a sidecar become manual tags of the photo."""
    if not entry.has_sidecar:
        return
    try:
        import_sidecar_tags(lib, photo_id, entry.path)
    except Exception as exc:
        result.problems.append((entry.path + ".xmp", f"cannot read the XMP sidecar: {exc}"))
