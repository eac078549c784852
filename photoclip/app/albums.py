"""Exporting an album's photos to a folder: as symbolic links, as copies, or as a list of paths.

Photos are never moved and nothing is overwritten: every target name is checked
before the first file is written, and each file is then created so that it fails
rather than replace a file that appeared meanwhile (a link is made exclusively; a copy
is written to a temporary name and hard-linked into place). Two photos with the same
name from different folders get "name (2).jpg".

An export that was killed midway can be run again: the temp file of its unfinished copy
is removed, and a target that already is the photo (the link to it, an identical copy)
is kept as done rather than refused.
"""

from __future__ import annotations

import errno
import filecmp
import os
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photoclip.core import paths
from photoclip.core.db import display_path
from photoclip.core.errors import PhotoclipError, os_problem

EXPORT_KINDS = ("links", "copies", "list")


@dataclass
class ExportReport:
    written: list[Path] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (photo, why)


def target_names(sources: Sequence[str]) -> list[str]:
    """A file name per photo, unique (case-insensitively, for FAT and macOS folders) in the export."""
    taken: set[str] = set()
    names = []
    for source in sources:
        base = os.path.basename(source)
        stem, ext = os.path.splitext(base)
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{stem} ({n}){ext}"
        taken.add(name.casefold())
        names.append(name)
    return names


def _check_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PhotoclipError(f"Cannot make the folder {display_path(str(folder))}: {os_problem(exc)}.") from None
    if not folder.is_dir():
        raise PhotoclipError(f"{display_path(str(folder))} is not a folder.")


def _copy_exclusive(source: str, target: Path) -> None:
    if not stat.S_ISREG(os.stat(source).st_mode):
        # A FIFO put where a photo was would block the copy forever.
        raise OSError(errno.EINVAL, "not a regular file", source)
    tmp = Path(paths.temp_path_for(target))
    try:
        shutil.copy2(source, tmp)
        os.link(tmp, target)  # fails if the target exists: never a replace
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _already_exported(source: str, target: Path, kind: str) -> bool:
    """`target` is what exporting `source` as `kind` makes: the link to it, or a regular file
    with its very bytes (what an earlier, interrupted run of the same export wrote)."""
    try:
        st = os.lstat(target)
        if kind == "links":
            return stat.S_ISLNK(st.st_mode) and os.readlink(target) == os.path.abspath(source)
        return stat.S_ISREG(st.st_mode) and stat.S_ISREG(os.stat(source).st_mode) and filecmp.cmp(source, target, shallow=False)
    except OSError:
        return False


def export_photos(sources: Sequence[str], folder: Path, kind: str, list_name: str = "album") -> ExportReport:
    """Put links to, copies of, or a list of `sources` into `folder`; refuse to overwrite anything."""
    if kind not in EXPORT_KINDS:
        raise PhotoclipError(f"Export as {', '.join(EXPORT_KINDS)}, not {kind!r}.")
    _check_folder(folder)
    paths.remove_stale_temps(folder)  # the unfinished file of a killed export
    report = ExportReport()
    if kind == "list":
        target = folder / f"{list_name}.txt"
        if os.path.lexists(target):
            raise PhotoclipError(f"{display_path(str(target))} already exists: nothing was written.")
        # One path a line is what a shell loop or a text editor reads; a name with a line
        # break in it would read as two paths, so such a list is refused, not written wrong.
        broken = [s for s in sources if "\n" in s or "\r" in s]
        if broken:
            more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
            raise PhotoclipError(
                f"{display_path(broken[0])}{more} has a line break in its name, which a list of one path a line "
                "cannot hold: nothing was written. Export as links or copies instead."
            )
        text = b"".join(os.fsencode(s) + b"\n" for s in sources)
        paths.write_atomically(target, text)
        report.written.append(target)
        return report
    targets = [folder / name for name in target_names(sources)]
    done = {t for s, t in zip(sources, targets) if _already_exported(s, t, kind)}
    existing = [t for t in targets if t not in done and os.path.lexists(t)]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise PhotoclipError(f"{display_path(str(existing[0]))} already exists{more}: nothing was written.")
    for source, target in zip(sources, targets):
        if target in done:
            report.written.append(target)
            continue
        try:
            if kind == "links":
                os.symlink(os.path.abspath(source), target)
            else:
                _copy_exclusive(source, target)
        except OSError as exc:
            report.problems.append((source, os_problem(exc)))
            continue
        report.written.append(target)
    return report
