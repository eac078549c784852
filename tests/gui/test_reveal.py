"""'Show in file manager' selects the photo: the freedesktop D-Bus call, and the fallbacks.

Each case runs in a child process on a private session bus (dbus-run-session), so the
test never talks to a real desktop and the bus address of this process is untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import ClassInfo, QCoreApplication, QObject, QTimer, Slot
    from PySide6.QtDBus import QDBusConnection
    from photoclip.gui.services.reveal import show_in_file_manager

    app = QCoreApplication(sys.argv)
    asked, fell = [], []

    @ClassInfo({"D-Bus Interface": "org.freedesktop.FileManager1"})
    class FakeFileManager(QObject):
        @Slot("QStringList", str)
        def ShowItems(self, uris, startup_id):
            asked.extend(uris)
            app.quit()

    manager = FakeFileManager()
    if sys.argv[1] == "with-file-manager":
        bus = QDBusConnection.sessionBus()
        bus.registerObject("/org/freedesktop/FileManager1", manager, QDBusConnection.RegisterOption.ExportAllSlots)
        bus.registerService("org.freedesktop.FileManager1")

    def fallback(path):
        fell.append(path)
        app.quit()

    way = show_in_file_manager(sys.argv[2], fallback=fallback)
    if not (asked or fell):
        QTimer.singleShot(10000, app.quit)
        app.exec()
    print(json.dumps({"way": way, "asked": asked, "fell": fell}))
    """
)


def _run(case: str, photo: str, *, bus: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    command = [sys.executable, "-c", CHILD, case, photo]
    if bus:
        command = ["dbus-run-session", "--", *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


needs_bus = pytest.mark.skipif(shutil.which("dbus-run-session") is None, reason="dbus-run-session is not installed")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the D-Bus path is the Linux one")


@needs_bus
def test_file_manager_is_asked_to_select_the_photo(tmp_path: Path) -> None:
    photo = str(tmp_path / "Holiday 2024" / "beach #1.jpg")  # spaces and '#' must survive as a URI
    result = _run("with-file-manager", photo, bus=True)
    assert result == {"way": "dbus", "asked": [Path(photo).as_uri()], "fell": []}


@needs_bus
def test_without_a_file_manager_on_the_bus_the_folder_opens(tmp_path: Path) -> None:
    photo = str(tmp_path / "a.jpg")
    result = _run("no-file-manager", photo, bus=True)
    assert result == {"way": "dbus", "asked": [], "fell": [photo]}  # the error reply came back asynchronously


def test_without_a_session_bus_the_folder_opens(tmp_path: Path) -> None:
    photo = str(tmp_path / "a.jpg")
    assert _run("no-file-manager", photo, bus=False) == {"way": "folder", "asked": [], "fell": [photo]}
