"""Walking the library's folders and reconciling what is on disk with the database.

An unchanged file costs one stat. New files get a content fingerprint so that a
file that moved or was renamed is recognised and keeps its row, its vectors and
its tags. Files that vanished are marked missing, never dropped: purging is a
separate, explicit action.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field

from photoclip.core.db import MISSING, Library
from photoclip.core.media.images import HEIF_EXTENSIONS, JPEG_EXTENSIONS, RAW_EXTENSIONS, extension, is_candidate

# Folders that hold caches or other apps' data rather than photos.
IGNORED_DIRS = frozenset({"@eaDir", "__MACOSX", "$RECYCLE.BIN", "System Volume Information", "lost+found"})

_SAMPLE = 64 * 1024


def fingerprint(path: str, size: int) -> str:
    """A content hash from the size and three 64 KiB samples (start, middle, end).

    Reading whole files would make the first scan of a large library I/O bound for
    no gain: two different photos with the same size and the same sampled bytes do
    not occur in practice (EXIF timestamps and entropy-coded data differ).
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(size.to_bytes(8, "little"))
    with open(path, "rb") as fh:
        if size <= 3 * _SAMPLE:
            h.update(fh.read())
        else:
            for offset in (0, size // 2 - _SAMPLE // 2, size - _SAMPLE):
                fh.seek(offset)
                h.update(fh.read(_SAMPLE))
    return h.hexdigest()


@dataclass
class ScanProgress:
    seen: int
    folder: str


@dataclass
class ScanResult:
    seen: int = 0
    new: int = 0
    changed: int = 0
    moved: int = 0
    missing: int = 0
    returned: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)
    moved_ids: list[int] = field(default_factory=list)


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


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def scan_library(lib: Library, commit_every: float = 2.0) -> Generator[ScanProgress, None, ScanResult]:
    """Reconcile every library folder with the disk. Yields progress; returns a ScanResult."""
    result = ScanResult()
    known = lib.file_states()
    visited: set[tuple[int, int]] = set()
    seen: set[str] = set()
    available: list[str] = []
    new_files: list[tuple[FileEntry, int]] = []
    last_commit = time.monotonic()
    lib.begin()
    try:
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
                _reconcile_one(lib, entry, folder_id, known, new_files, result)
                if result.seen % 500 == 0:
                    yield ScanProgress(result.seen, folder)
                    if time.monotonic() - last_commit > commit_every:
                        lib.commit()
                        lib.begin()
                        last_commit = time.monotonic()
        gone = [rec[0] for path, rec in known.items() if path not in seen and rec[3] != MISSING and any(_under(path, f) for f in available)]
        lib.mark_missing(gone)
        _place_new_files(lib, new_files, result)
        result.missing = len(set(gone) - set(result.moved_ids))
        lib.commit()
    except BaseException:
        if lib.conn.in_transaction:
            lib.conn.execute("ROLLBACK")
        raise
    yield ScanProgress(result.seen, "")
    return result


def _reconcile_one(
    lib: Library,
    entry: FileEntry,
    folder_id: int,
    known: dict[str, tuple[int, int, int, str]],
    new_files: list[tuple[FileEntry, int]],
    result: ScanResult,
) -> None:
    record = known.get(entry.path)
    if record is None:
        new_files.append((entry, folder_id))
        return
    photo_id, size, mtime_ns, status = record
    if size != entry.size or mtime_ns != entry.mtime_ns:
        try:
            digest = fingerprint(entry.path, entry.size)
        except OSError as exc:
            result.problems.append((entry.path, f"cannot read: {exc.strerror or exc}"))
            return
        lib.mark_changed(photo_id, entry.size, entry.mtime_ns, digest)
        result.changed += 1
        _import_sidecar(lib, photo_id, entry, result)
    elif status == MISSING:
        lib.mark_present(photo_id)
        result.returned += 1
    if entry.companion:
        lib.set_companion(photo_id, entry.companion)


def _place_new_files(lib: Library, new_files: list[tuple[FileEntry, int]], result: ScanResult) -> None:
    """New paths are either moved photos (same fingerprint as a missing one) or new photos."""
    missing = lib.missing_by_hash()
    for entry, folder_id in new_files:
        try:
            digest = fingerprint(entry.path, entry.size)
        except OSError:
            digest = None  # unreadable: catalogued anyway; indexing records why it is skipped
        candidates = missing.get((digest, entry.size)) if digest else None
        if candidates:
            photo_id = candidates.pop()
            lib.move_photo(photo_id, entry.path, folder_id, entry.size, entry.mtime_ns)
            result.moved += 1
            result.moved_ids.append(photo_id)
        else:
            photo_id = lib.insert_photo(entry.path, folder_id, entry.size, entry.mtime_ns, digest)
            result.new += 1
            result.new_ids.append(photo_id)
            _import_sidecar(lib, photo_id, entry, result)
        if entry.companion:
            lib.set_companion(photo_id, entry.companion)


def _import_sidecar(lib: Library, photo_id: int, entry: FileEntry, result: ScanResult) -> None:
    """Keywords other apps wrote into a sidecar become manual tags of the photo."""
    if not entry.has_sidecar:
        return
    from photoclip.core.xmp.sidecar import import_sidecar_tags

    try:
        import_sidecar_tags(lib, photo_id, entry.path)
    except Exception as exc:
        result.problems.append((entry.path + ".xmp", f"cannot read the XMP sidecar: {exc}"))
