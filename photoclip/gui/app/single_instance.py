"""One window per library: a later launch asks the running one to come forward."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from photoclip.core.errors import PhotoclipError


def server_name(db_path: Path) -> str:
    key = hashlib.blake2b(os.fsencode(os.path.abspath(db_path)), digest_size=8).hexdigest()
    user = os.environ.get("USER") or os.environ.get("USERNAME") or "user"
    return f"photoclip-{user}-{key}"


def ask_running_instance(name: str, timeout_ms: int = 1000) -> bool:
    """True if another photoclip has this library open (it was asked to come forward)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(b"raise\n")
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Listens for later launches and brings the window forward."""

    activate = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.server = QLocalServer(self)
        QLocalServer.removeServer(name)  # a stale socket from a crashed run
        if not self.server.listen(name):
            raise PhotoclipError(f"Cannot claim the library for this window: {self.server.errorString()}")
        self.server.newConnection.connect(self._on_connection)

    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            conn = self.server.nextPendingConnection()
            conn.readyRead.connect(self.activate)
            conn.disconnected.connect(conn.deleteLater)
