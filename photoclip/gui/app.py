"""Starting the app: options, one instance per library, the crash handler, the test script hook.

`run_app(argv)` is what `photoclip` (no subcommand) and `photoclip-gui` call.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QMessageBox

from photoclip import __version__
from photoclip.core import paths
from photoclip.core.errors import PhotoclipError
from photoclip.gui.qtcompat import emit, keep_singletons_alive

log = logging.getLogger("photoclip")

LOG_NAME = "photoclip-gui.log"


# -- errors ---------------------------------------------------------------------------


def log_file() -> Path:
    return paths.log_dir() / LOG_NAME


def setup_logging() -> Path:
    target = log_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return target


class _ErrorRelay(QObject):
    # Exceptions from any thread are shown from the GUI thread.
    raised = Signal(str)


_relay: _ErrorRelay | None = None
_showing = False


def report_exception(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """The excepthook: write the traceback to the log file, then tell the user where it is."""
    text = "".join(traceback.format_exception(kind, exc, tb))
    target = log_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as fh:
            fh.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} photoclip {__version__} unexpected error\n{text}")
    except OSError:
        pass
    sys.stderr.write(text)
    summary = f"{kind.__name__}: {exc}"
    if _relay is not None:
        emit(_relay.raised, summary)


def _show_error(summary: str) -> None:
    global _showing
    if _showing or os.environ.get("PHOTOCLIP_TEST_SCRIPT"):
        return  # one dialog at a time; scripted runs log only
    _showing = True
    try:
        box = QMessageBox(QMessageBox.Icon.Critical, "photoclip: something went wrong", summary)
        box.setInformativeText(
            f"This is a bug in photoclip. The details were written to\n{log_file()}\n"
            "Please include that file when you report it. Your photos and library are unaffected."
        )
        box.exec()
    finally:
        _showing = False


def install_excepthook() -> None:
    global _relay
    _relay = _ErrorRelay()
    _relay.raised.connect(_show_error)
    sys.excepthook = report_exception
    threading.excepthook = lambda args: report_exception(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)


# -- one instance per library -------------------------------------------------------------


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


# -- the app ------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="photoclip", add_help=False)
    parser.add_argument("--db")
    parser.add_argument("--model")
    parser.add_argument("--weights")
    parser.add_argument("--device")
    parser.add_argument("-v", "--verbose", action="store_true")
    args, _unknown = parser.parse_known_args(argv)  # Qt's own options (-platform...) pass through
    return args


def icon() -> QIcon:
    from importlib.resources import files

    try:
        svg = files("photoclip") / "resources" / "photoclip.svg"
        return QIcon(str(svg))
    except (FileNotFoundError, ModuleNotFoundError):
        return QIcon()


def create_app(argv: list[str]) -> QApplication:
    keep_singletons_alive()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "photoclip", *argv])
    app.setApplicationName("photoclip")
    app.setApplicationDisplayName("photoclip")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.photoclip")
    app.setWindowIcon(icon())
    return app  # type: ignore[return-value]


def run_app(argv: list[str]) -> int:
    args = parse_args(argv)
    # The CLI's model options work for the app too (same meaning as the environment variables).
    for option, env in (("model", "PHOTOCLIP_MODEL"), ("weights", "PHOTOCLIP_WEIGHTS"), ("device", "PHOTOCLIP_DEVICE")):
        if getattr(args, option):
            os.environ[env] = getattr(args, option)
    setup_logging()
    app = create_app([])
    install_excepthook()
    db_path = Path(args.db) if args.db else paths.default_db_path()

    name = server_name(db_path)
    if ask_running_instance(name):
        print(f"photoclip is already open with {db_path}; it was brought to the front.", file=sys.stderr)
        return 0
    try:
        server = InstanceServer(name)
        from photoclip.gui.window import MainWindow

        window = MainWindow(db_path)
    except PhotoclipError as exc:
        QMessageBox.critical(None, "photoclip cannot open the library", str(exc))
        print(f"photoclip: {exc}", file=sys.stderr)
        return 2
    server.activate.connect(lambda: bring_forward(window))
    window.show()
    script = os.environ.get("PHOTOCLIP_TEST_SCRIPT")
    if script:
        from photoclip.gui.script import ScriptDriver

        driver = ScriptDriver(window, json.loads(Path(script).read_text(encoding="utf-8")))
        QTimer.singleShot(0, driver.start)
    code = app.exec()
    window.shutdown()
    return code if not script else driver.exit_code


def bring_forward(window) -> None:
    window.showNormal()
    window.raise_()
    window.activateWindow()
