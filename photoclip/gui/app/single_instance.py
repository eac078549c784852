"""One window per library: a later launch asks the running one to come forward, and hands
it the paths it was given (`photoclip PATH...`, a double-click in the file manager).

The message is one line over a QLocalSocket: `raise`, or `open ` followed by a JSON list of
absolute paths (the later launch may run in another working folder). Anything else, or a
line longer than MAX_MESSAGE, is ignored: the socket belongs to this user, but a stray
client must never make the window misbehave.

The socket is a full path in this user's private runtime folder (worker/runtime.py, mode
0700), never a bare name: Qt puts those in the shared temp folder, where another user could
bind the predictable name first and receive the paths of every later launch, which would
then quit believing the window was open.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from photoclip.core.errors import PhotoclipError
from photoclip.worker import runtime

log = logging.getLogger(__name__)

MAX_MESSAGE = 1 << 20  # bytes: thousands of paths, and a bound on what a stray client can make us buffer


def server_name(db_path: Path) -> str:
    """The window's socket for this library: the same file by any path gives the same socket."""
    return os.fspath(runtime.runtime_dir() / f"{runtime.library_key(db_path)}.window")


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
    to open `paths` (made absolute here, where the relative ones mean something).

    False, too, when the socket's folder or the socket is not this user's alone: this launch
    then tries to open the window itself and says why it cannot."""
    if not os.path.lexists(name):
        return False  # no window open (a folder others can use is refused by InstanceServer)
    try:
        runtime.check_private_socket(Path(name))
    except runtime.NotPrivate as exc:
        log.warning("not asking the open window: %s", exc)
        return False
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
        try:
            runtime.make_private_dir(Path(name).parent)
        except runtime.NotPrivate as exc:
            raise runtime.NotPrivate(f"The window will not listen in a folder others can use: {exc}.") from None
        if len(os.fsencode(name)) > runtime.MAX_SOCKET_PATH:
            raise PhotoclipError(f"The window's socket path {name} is too long; set XDG_RUNTIME_DIR to a shorter folder.")
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # mode 0700: the folder says so too
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
