"""`photoclip --install-desktop-entry`: add photoclip to the desktop's application menu.

pip cannot place files in the XDG data directories, so this writes them on request
(no Qt needed): the .desktop file, the hicolor SVG icon and the AppStream metainfo,
all read from the package's `resources/` with importlib.resources. The desktop
file's Exec line names the `photoclip` found next to this Python (the venv's
script) when there is one, so the menu entry works without the venv on PATH.

The entry lists no MimeType and nothing is written to mimeapps.list. The freedesktop
mime-apps spec makes, when no [Default Applications] entry names one, "the most-preferred
.desktop file associated with the mimetype" the default, and the user's data folder comes
first: so an entry there listing image/jpeg or inode/directory becomes what opens every
photo and folder in a fresh profile, and an [Added Associations] line does the same.
photoclip is offered under "Open With > Other Application" instead, and a user who picks
it there (or makes it the default) decides that themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from importlib.resources import files
from pathlib import Path

APP_ID = "io.github.photoclip"


def data_home() -> Path:
    """$XDG_DATA_HOME, or ~/.local/share as the XDG spec says when it is unset or not absolute."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def resource_text(name: str) -> str:
    return (files("photoclip") / "resources" / name).read_text(encoding="utf-8")


def launcher() -> str:
    """The command the menu entry runs: this install's `photoclip` script if it exists."""
    script = Path(sysconfig.get_path("scripts")) / "photoclip"
    if script.is_file() and os.access(script, os.X_OK):
        return str(script)
    found = shutil.which("photoclip")
    return found or "photoclip"


def _quote_exec(arg: str) -> str:
    # Desktop Entry spec: quote arguments with reserved characters; escape " ` $ and \ inside quotes.
    if not any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`"):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def desktop_entry(command: str) -> str:
    lines = []
    for line in resource_text("photoclip.desktop").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={_quote_exec(command)} %U"
        elif line.startswith("TryExec="):
            line = f"TryExec={command}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def install_desktop_entry(target: Path | None = None, *, quiet: bool = False) -> int:
    """Write the entry, icon and metainfo under `target` (default: the XDG data home)."""
    base = target or data_home()
    written = {
        base / "applications" / f"{APP_ID}.desktop": desktop_entry(launcher()),
        base / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg": resource_text("photoclip.svg"),
        base / "metainfo" / f"{APP_ID}.metainfo.xml": resource_text("io.github.photoclip.metainfo.xml"),
    }
    try:
        for path, text in written.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
    except OSError as exc:
        print(f"photoclip: could not install the desktop entry: {exc}", file=sys.stderr)
        return 1
    _refresh_caches(base)
    if not quiet:
        for path in written:
            print(f"wrote {path}")
    return 0


def _refresh_caches(base: Path) -> None:
    """Let menus notice at once; harmless when the tools are not installed."""
    for cmd in (
        ["update-desktop-database", "-q", str(base / "applications")],
        ["gtk-update-icon-cache", "-q", "-t", str(base / "icons" / "hicolor")],
    ):
        if shutil.which(cmd[0]):
            subprocess.run(cmd, check=False, capture_output=True, timeout=30)
