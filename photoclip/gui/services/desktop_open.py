"""Hand a file or folder to the desktop's program for it, and notice when none took it.

On Linux Qt's `openUrl` says yes as soon as `xdg-open` starts, so a computer with no file
manager or image viewer set up got silence: the menu item did nothing and xdg-open's
"no method available" went to a terminal nobody reads. Here xdg-open runs in its own
session (quitting photoclip never takes the user's viewer with it), and a thread waits
a few seconds for its exit status: a failure comes back to the GUI thread, which says
where the file is instead. xdg-open that is still running after that has handed the file
to a program in the foreground, which is success. Nothing on the GUI thread waits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from photoclip.gui.qtcompat import emit

WAIT_S = 10.0  # xdg-open hands the file over and exits within a second or two when it can
_PENDING: set[QObject] = set()  # relays waiting for their xdg-open (else Python drops them)


class _Relay(QObject):
    """Lives on the GUI thread: the waiting thread's signal is queued to `_done` there, and
    the relay is let go there too, never from the waiting thread."""

    finished = Signal(int, str)

    def __init__(self, on_failed: Callable[[str], None]) -> None:
        super().__init__()
        self._on_failed = on_failed
        self.finished.connect(self._done)

    def _done(self, code: int, target: str) -> None:
        _PENDING.discard(self)
        if code != 0:
            self._on_failed(target)


def open_with_desktop(path: str | os.PathLike[str], on_failed: Callable[[str], None]) -> bool:
    """Open `path` with the desktop's program; False at once when nothing could be asked,
    and `on_failed(path)` later (on the GUI thread) when the desktop said it could not."""
    target = os.fspath(path)
    if not sys.platform.startswith("linux"):
        return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(target)))
    opener = shutil.which("xdg-open")
    if opener is None:
        return False
    try:
        process = subprocess.Popen(
            [opener, target], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    except OSError:
        return False
    relay = _Relay(on_failed)
    _PENDING.add(relay)
    threading.Thread(target=_wait, args=(process, target, relay), name="photoclip-xdg-open", daemon=True).start()
    return True


def _wait(process: subprocess.Popen[bytes], target: str, relay: _Relay) -> None:
    try:
        code = process.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        code = 0  # still open in the foreground: a program has the file
    emit(relay.finished, code, target)
