"""Start the real app with the test script driver: `python tests/gui/launch_app.py SCRIPT.json [app options]`.

The Xvfb tests run this instead of the installed `photoclip` command, so the driver lives
with the tests and the product never imports test code: the app's public `run_app` takes
a hook that receives the shown window, and this hook installs the driver there.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer

from photoclip.gui.app import errors, run_app


def main(argv: list[str]) -> int:
    script = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    errors.show_dialogs = False  # nobody is there to close a crash dialog: the log has it

    def install(window) -> Callable[[], int]:
        from driver import ScriptDriver  # this script's own folder is on sys.path (Python puts it there)

        driver = ScriptDriver(window, script)
        QTimer.singleShot(0, driver.start)
        return lambda: driver.exit_code

    return run_app(argv[1:], on_window=install)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
