"""Starting the app: options, the application object, one instance per library, the main window.

`run_app(argv)` is what `photoclip` (no subcommand) and `photoclip-gui` call.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from photoclip import __version__
from photoclip.app.opening import split_qt_options
from photoclip.core import paths
from photoclip.core.errors import PhotoclipError
from photoclip.gui.app.errors import install_excepthook, setup_logging
from photoclip.gui.app.single_instance import InstanceServer, ask_running_instance, server_name
from photoclip.gui.qtcompat import keep_singletons_alive

if TYPE_CHECKING:
    from photoclip.gui.windows.main_window import MainWindow


def parse_args(argv: list[str]) -> argparse.Namespace:
    """photoclip's options and the paths to open; Qt's own options (-platform xcb...) pass through."""
    argv, _qt = split_qt_options(argv)
    parser = argparse.ArgumentParser(prog="photoclip", add_help=False)
    parser.add_argument("paths", nargs="*", help="photos to open with their look-alikes, folders to add")
    parser.add_argument("--db")
    parser.add_argument("--model")
    parser.add_argument("--weights")
    parser.add_argument("--device")
    parser.add_argument("-v", "--verbose", action="store_true")
    args, _unknown = parser.parse_known_intermixed_args(argv)  # paths may come before or after options; Qt flags pass through
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
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0] if sys.argv else "photoclip", *argv])
    app.setApplicationName("photoclip")
    app.setApplicationDisplayName("photoclip")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.photoclip")
    app.setWindowIcon(icon())
    return app


# Called with the shown window before the event loop starts; returns a function giving the
# exit code once the loop ends (None: use the loop's). Only tests pass one (tests/gui/launch_app.py
# installs its script driver this way), so no test code ships in the product.
WindowHook = Callable[["MainWindow"], Callable[[], int] | None]


def run_app(argv: list[str], on_window: WindowHook | None = None) -> int:
    """Run the app; the process ends in here when the window has closed (see `end_process`)."""
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
    if ask_running_instance(name, paths=list(args.paths or ())):
        handed = " and given what to open" if args.paths else ""
        print(f"photoclip is already open with {db_path}; it was brought to the front{handed}.", file=sys.stderr)
        return 0
    try:
        server = InstanceServer(name)
        from photoclip.core.db import Library
        from photoclip.gui.windows.main_window import MainWindow

        # A foreign file or a library written by a newer photoclip is refused here, in one dialog,
        # before the window's services open it on threads of their own: each refused it on its
        # own, under a crash dialog, a second dialog and a banner over an empty window.
        Library(db_path, migrate=False).close()

        window = MainWindow(db_path)
    except PhotoclipError as exc:
        QMessageBox.critical(None, "photoclip cannot open the library", str(exc))
        print(f"photoclip: {exc}", file=sys.stderr)
        return 2
    serve_window(server, window)
    window.show()
    if args.paths:
        window.open_paths(list(args.paths))
    exit_code = on_window(window) if on_window is not None else None
    code = app.exec()
    window.shutdown()
    end_process(code if exit_code is None else exit_code(), server)


def end_process(code: int, server: InstanceServer) -> NoReturn:
    """End the process now that the window has shut down: every worker joined, every write committed.

    The interpreter's own teardown after that (freeing torch's, timm's and Qt's modules one
    object at a time) took 3-7 s with nothing left to do, during which the quit app still
    held its instance socket and showed in the task list: `import open_clip` alone adds 3 s
    after the last exit handler. So the exit handlers run (temporary files, log files), the
    streams are flushed, and the process ends without that teardown.
    """
    server.server.close()  # removes the socket file: the next launch starts at once
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass  # a closed or missing stream (pythonw): nothing to lose
    os._exit(code)


def serve_window(server: InstanceServer, window: MainWindow) -> None:
    """A later launch brings this window forward, and what it was given opens here."""
    server.activate.connect(lambda: bring_forward(window))
    server.open_requested.connect(window.open_paths)


def bring_forward(window: MainWindow) -> None:
    window.showNormal()
    window.raise_()
    window.activateWindow()
