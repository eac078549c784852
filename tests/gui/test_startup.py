"""Launch behaviour: the window is up before torch is imported; one instance per library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROBE = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from photoclip.gui.windows.main_window import MainWindow
    from photoclip.core import paths
    window = MainWindow(paths.default_db_path())
    window.show()
    report = {"shown": window.isVisible(), "torch_at_show": "torch" in sys.modules,
              "open_clip_at_show": "open_clip" in sys.modules}
    def done(state, message):
        if state in ("checking", "loading"):
            return
        report["state"] = state
        report["torch_later"] = "torch" in sys.modules
        window.close()
    window.model_service.state_changed.connect(done)
    app.exec()
    window.shutdown()
    print(json.dumps(report))
    """
)


@pytest.mark.slow
def test_window_shows_before_torch_is_imported(tmp_path: Path, tiny_weights: Path) -> None:
    env = dict(
        os.environ,
        PHOTOCLIP_HOME=str(tmp_path / "home"),
        PHOTOCLIP_MODEL="photoclip-tiny",
        PHOTOCLIP_WEIGHTS=str(tiny_weights),
        QT_QPA_PLATFORM="offscreen",
    )
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["shown"]
    assert not report["torch_at_show"] and not report["open_clip_at_show"]
    # ...and the model then loads in the background.
    assert report["state"] == "ready" and report["torch_later"]


def test_gui_modules_do_not_import_torch() -> None:
    code = "import sys, photoclip.gui.app, photoclip.gui.windows.main_window;print('torch' in sys.modules, 'open_clip' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_second_instance_is_refused(qtbot, tmp_path: Path) -> None:
    from photoclip.gui.app import InstanceServer, ask_running_instance, server_name

    name = server_name(tmp_path / "library.db")
    assert not ask_running_instance(name, 200)
    server = InstanceServer(name)
    try:
        with qtbot.waitSignal(server.activate, timeout=5000):
            assert ask_running_instance(name)
    finally:
        server.server.close()
