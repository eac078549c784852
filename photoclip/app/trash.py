"""Undo a move to the trash: put files back from the freedesktop trash (Linux desktops).

send2trash can only throw away. On Linux it follows the freedesktop.org trash spec:
`$XDG_DATA_HOME/Trash/files/NAME` holds the file and `Trash/info/NAME.trashinfo` says
where it came from (`Path=` percent-encoded). Restoring moves the file back with a
rename and drops its info file, as a file manager's "Restore" does. A file that is no
longer there (emptied trash, another platform, another volume's trash) is explained,
never guessed at.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from photoclip.app.words import plural


def home_trash() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "Trash"


@dataclass
class Restored:
    restored: list[str] = field(default_factory=list)  # original paths that are back
    problems: list[tuple[str, str]] = field(default_factory=list)  # (original path, why not)

    @property
    def message(self) -> str:
        text = f"Put {plural(len(self.restored), 'photo')} back from the trash." if self.restored else ""
        if self.problems:
            path, why = self.problems[0]
            text += f" {plural(len(self.problems), 'photo')} could not be put back ({os.path.basename(path)}: {why})."
        return text.strip()


def _original_path(info: Path) -> str | None:
    try:
        lines = info.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("Path="):
            return unquote(line[len("Path=") :])
    return None


def restore_from_trash(originals: Iterable[str], trash: Path | None = None) -> Restored:
    """Move each trashed file back to where it was; the newest trash entry wins for a path."""
    trash = trash or home_trash()
    wanted = {os.path.abspath(p) for p in originals}
    found: dict[str, tuple[float, Path, Path]] = {}
    info_dir = trash / "info"
    try:
        infos = list(info_dir.glob("*.trashinfo"))
    except OSError:
        infos = []
    for info in infos:
        original = _original_path(info)
        if original is None or os.path.abspath(original) not in wanted:
            continue
        stored = trash / "files" / info.name[: -len(".trashinfo")]
        try:
            when = info.stat().st_mtime
        except OSError:
            continue
        if original not in found or when > found[original][0]:
            found[original] = (when, info, stored)
    result = Restored()
    for original in sorted(wanted):
        if original not in found or not found[original][2].exists():
            result.problems.append((original, "it is no longer in the trash of this computer's home folder"))
            continue
        _when, info, stored = found[original]
        if os.path.lexists(original):
            result.problems.append((original, "a file with that name is there again"))
            continue
        try:
            os.makedirs(os.path.dirname(original), exist_ok=True)
            os.rename(stored, original)  # same volume as the home trash: a rename, never a copy
        except OSError as exc:
            result.problems.append((original, exc.strerror or str(exc)))
            continue
        info.unlink(missing_ok=True)
        result.restored.append(original)
    return result
