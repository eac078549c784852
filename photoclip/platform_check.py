"""Before Qt starts: can its X11 (xcb) platform plugin load on this Linux machine?

When a library the plugin links against is missing (libxcb-cursor0 most often, since
Qt 6.5), Qt aborts with its own message about plugins, which does not say what to
install. So on Linux, when Qt would use xcb, the plugin's shared-library dependencies
are listed with ldd first, and a missing one is named with the Debian/Ubuntu and
Fedora packages that provide it. Nothing here imports Qt: PySide6 is only located.

Without any display (a terminal over SSH, a console login) Qt aborts the process too
(SIGABRT, a core dump) and blames the xcb-cursor library, which is installed: that case
is told apart first, with what works instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package), for the libraries Qt's xcb plugin needs.
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def xcb_plugin() -> Path | None:
    """PySide6's libqxcb.so, located without importing PySide6."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def not_found_in_ldd_output(text: str) -> list[str]:
    """The libraries ldd reports as "not found" (each once, in its order)."""
    return list(dict.fromkeys(_NOT_FOUND.findall(text)))


def missing_xcb_libraries() -> list[str]:
    """Shared libraries the xcb plugin needs that this machine lacks; [] when all load or ldd is absent."""
    plugin, ldd = xcb_plugin(), shutil.which("ldd")
    if plugin is None or ldd is None:
        return []
    try:
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return not_found_in_ldd_output(done.stdout)


def _qt_would_use_xcb(environ: Mapping[str, str]) -> bool:
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    # Unset: Qt 6 takes Wayland in a Wayland session and xcb on X11.
    return not environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") != "wayland"


def explain_missing_platform_libraries(
    environ: Mapping[str, str] | None = None, probe: Callable[[], list[str]] | None = None
) -> str | None:
    """A sentence naming what to install when Qt's xcb plugin cannot load; None when it can (or is not used)."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or not _qt_would_use_xcb(environ):
        return None
    missing = (probe or missing_xcb_libraries)()
    if not missing:
        return None
    debian = sorted({PACKAGES[lib][0] for lib in missing if lib in PACKAGES})
    fedora = sorted({PACKAGES[lib][1] for lib in missing if lib in PACKAGES})
    unknown = [lib for lib in missing if lib not in PACKAGES]
    advice = []
    if debian:
        advice.append(f"on Debian or Ubuntu: sudo apt install {' '.join(debian)}")
        advice.append(f"on Fedora: sudo dnf install {' '.join(fedora)}")
    if unknown:
        advice.append(f"find the package that provides {', '.join(unknown)} (apt-file search, dnf provides)")
    return (
        f"the window cannot open: Qt's X11 platform plugin needs {', '.join(missing)}, which this computer lacks. "
        f"Install it ({'; '.join(advice)}) and start photoclip again."
    )


def explain_no_display(environ: Mapping[str, str] | None = None) -> str | None:
    """A sentence when the window has no display to open on (Linux, Qt left to choose or told xcb); else None."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or not _qt_would_use_xcb(environ) or environ.get("DISPLAY", "").strip():
        return None
    return (
        "the window cannot open: there is no display here (DISPLAY is not set, as in a terminal over SSH "
        "or outside the desktop). Start photoclip from your desktop session (or `ssh -X`), or use its "
        "commands, which need no window: `photoclip --help`."
    )
