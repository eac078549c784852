"""The crash handler: unexpected errors from any thread go to the log file and to one dialog."""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox

from photoclip import __version__
from photoclip.core import paths
from photoclip.gui.qtcompat import emit

LOG_NAME = "photoclip-gui.log"


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
# A scripted run (the real-window tests) turns this off: nobody is there to close a dialog.
show_dialogs = True


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
    if _showing or not show_dialogs:
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
