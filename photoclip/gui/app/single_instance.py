"""One window per library: a later launch asks the running one to come forward, and hands
it the paths it was given (`photoclip PATH...`, a double-click in the file manager).

The message is one line over a QLocalSocket: `raise`, or `open ` followed by a JSON list of
absolute paths (the later launch may run in another working folder). Anything else, or a
line longer than MAX_MESSAGE, is ignored: the socket belongs to this user, but a stray
client must never make the window misbehave.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from photoclip.core.errors import PhotoclipError

log = logging.getLogger(__name__)

MAX_MESSAGE = 1 << 20  # bytes: thousands of paths, and a bound on what a stray client can make us buffer


def server_name(db_path: Path) -> str:
    key = hashlib.blake2b(os.fsencode(os.path.abspath(db_path)), digest_size=8).hexdigest()
    user = os.environ.get("USER") or os.environ.get("USERNAME") or "user"
    return f"photoclip-{user}-{key}"


def request(paths: Sequence[str] = ()) -> bytes:
    """The line a later launch sends: open these paths, or only come forward."""
    if not paths:
        return b"raise\n"
    absolute = [os.path.abspath(p) for p in paths]
    return b"open " + json.dumps(absolute, ensure_ascii=True).encode("ascii") + b"\n"


def parse_request(line: bytes) -> list[str] | None:
    """The paths a line asks to open ([] for `raise`); None for anything else."""
    line = line.strip()
    if line == b"raise":
        return []
    if not line.startswith(b"open "):
        return None
    try:
        paths = json.loads(line[5:].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        return None
    return paths


def ask_running_instance(name: str, timeout_ms: int = 1000, paths: Sequence[str] = ()) -> bool:
    """True if another photoclip has this library open: it was asked to come forward and
    to open `paths` (made absolute here, where the relative ones mean something)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(request(paths))
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Listens for later launches: brings the window forward and passes on their paths."""

    activate = Signal()
    open_requested = Signal(list)  # absolute paths a later launch was given

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
            conn.readyRead.connect(self._read)
            conn.disconnected.connect(conn.deleteLater)

    def _read(self) -> None:
        # The line may arrive in pieces: what came so far waits in a property of its socket.
        conn = self.sender()
        if not isinstance(conn, QLocalSocket):
            return
        buffer = bytes(conn.property("pending") or b"") + bytes(conn.readAll().data())
        while b"\n" in buffer:
            line, _, buffer = buffer.partition(b"\n")
            self._handle(line)
        if len(buffer) > MAX_MESSAGE:
            log.warning("ignored an over-long message on the instance socket")
            buffer = b""
            conn.abort()
        conn.setProperty("pending", buffer)

    def _handle(self, line: bytes) -> None:
        paths = parse_request(line)
        if paths is None:
            log.warning("ignored an unknown message on the instance socket")
            return
        self.activate.emit()
        if paths:
            self.open_requested.emit(paths)
