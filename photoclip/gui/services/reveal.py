""" "Show in file manager" with the photo selected, not just its folder opened.

Each desktop has its own way: the freedesktop FileManager1 D-Bus service on Linux
(Nautilus, Dolphin, Nemo, Caja, Thunar...), `open -R` on macOS, `explorer /select,`
on Windows. Where none answers, the folder is opened. Nothing here waits: the D-Bus
call is asynchronous and its failure falls back from a callback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, QProcess, QUrl
from PySide6.QtGui import QDesktopServices

SERVICE = "org.freedesktop.FileManager1"
OBJECT = "/org/freedesktop/FileManager1"
_PENDING: set[QObject] = set()


def open_folder(path: str) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


def _show_via_dbus(path: str, fallback: Callable[[str], None], parent: QObject | None) -> bool:
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusMessage, QDBusPendingCallWatcher
    except ImportError:
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    message = QDBusMessage.createMethodCall(SERVICE, OBJECT, SERVICE, "ShowItems")
    # Fully encoded: file managers take the URI as is, and a '#' or space in a name must survive.
    uri = QUrl.fromLocalFile(path).toString(QUrl.ComponentFormattingOption.FullyEncoded)
    message.setArguments([[uri], ""])
    watcher = QDBusPendingCallWatcher(bus.asyncCall(message), parent)
    _PENDING.add(watcher)  # without a parent, Python would drop it before the reply arrives

    def finished(w: QDBusPendingCallWatcher) -> None:
        _PENDING.discard(w)
        if w.isError():  # no file manager owns the service: open the folder instead
            fallback(path)
        w.deleteLater()

    watcher.finished.connect(finished)
    return True


def show_in_file_manager(path: str, *, fallback: Callable[[str], None] = open_folder, parent: QObject | None = None) -> str:
    """Reveal `path` selected in the desktop's file manager; returns the way it was asked."""
    if sys.platform == "darwin":
        QProcess.startDetached("open", ["-R", path])
        return "open -R"
    if sys.platform == "win32":
        QProcess.startDetached("explorer", ["/select,", os.path.normpath(path)])
        return "explorer"
    if _show_via_dbus(path, fallback, parent):
        return "dbus"
    fallback(path)
    return "folder"
