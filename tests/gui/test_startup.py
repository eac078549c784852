"""Launch behaviour: the window is up before torch is imported; one instance per library."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from photoclip.worker import runtime

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


def test_a_later_launch_hands_its_paths_to_the_running_window(qtbot, tmp_path: Path, monkeypatch) -> None:
    """Issue 10 item 1: `photoclip PATH...` while photoclip runs opens the paths in that window."""
    from PySide6.QtNetwork import QLocalSocket

    from photoclip.gui.app import InstanceServer, ask_running_instance, server_name
    from photoclip.gui.app.startup import serve_window

    name = server_name(tmp_path / "library.db")
    server = InstanceServer(name)

    class Window:  # what serve_window uses of the main window
        def __init__(self) -> None:
            self.opened: list[list[str]] = []
            self.raised = 0

        def open_paths(self, paths: list[str]) -> None:
            self.opened.append(paths)

        def showNormal(self) -> None:
            self.raised += 1

        def raise_(self) -> None:
            pass

        def activateWindow(self) -> None:
            pass

    window = Window()
    serve_window(server, window)  # type: ignore[arg-type]
    try:
        monkeypatch.chdir(tmp_path)  # the later launch's relative path means its own working folder
        photo, folder = tmp_path / "Holiday ü.jpg", tmp_path / "album"
        with qtbot.waitSignal(server.open_requested, timeout=5000):
            assert ask_running_instance(name, paths=["Holiday ü.jpg", str(folder)])
        assert window.opened == [[str(photo), str(folder)]] and window.raised == 1
        with qtbot.waitSignal(server.activate, timeout=5000):  # a second launch without paths only raises
            assert ask_running_instance(name)
        assert window.opened == [[str(photo), str(folder)]] and window.raised == 2

        # A stray client's garbage is ignored, and the server keeps answering.
        for junk in (b"open [1, 2]\n", b"open not json\n", b"delete everything\n"):
            stray = QLocalSocket()
            stray.connectToServer(name)
            assert stray.waitForConnected(1000)
            stray.write(junk)
            stray.waitForBytesWritten(1000)
            stray.disconnectFromServer()
        with qtbot.waitSignal(server.open_requested, timeout=5000):
            assert ask_running_instance(name, paths=[str(photo)])
        assert window.opened[1:] == [[str(photo)]] and window.raised == 3
    finally:
        server.server.close()


REFUSAL_PROBE = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtWidgets import QMessageBox
    shown = []
    QMessageBox.critical = staticmethod(lambda parent, title, text, *a: shown.append([title, text]))
    from photoclip.gui.app import run_app
    code = run_app(["--db", sys.argv[1]])
    print(json.dumps({"code": code, "shown": shown}))
    """
)


@pytest.mark.slow
def test_a_library_from_a_newer_photoclip_is_refused_in_one_dialog_before_the_window(tmp_path: Path) -> None:
    """Before: the window opened and its indexer, watcher and query server each met the refusal
    (a crash dialog for the server's thread, a second dialog, a banner); the test run always
    opened a fresh library, which hid it."""
    import sqlite3

    from photoclip.core.db import Library

    path = tmp_path / "library.db"
    Library(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('photoclip', 'm999_future', 'x')")
    conn.close()
    env = dict(os.environ, PHOTOCLIP_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", REFUSAL_PROBE, str(path)], env=env, capture_output=True, text=True, timeout=60)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 2 and len(report["shown"]) == 1
    assert "newer version of photoclip" in report["shown"][0][1]
    assert "Traceback" not in done.stderr


def test_another_user_cannot_take_the_window_socket_first(qtbot, tmp_path: Path, isolated_home: Path) -> None:
    """The window's socket was a bare name, which Qt puts in the shared temp folder:
    /tmp/photoclip-USER-KEY, a name anyone could compute and bind first (as root here: a socket
    given to uid 65534 with mode 0777). A later launch then handed that user its paths and
    quit, believing the window was open. Now it lives in this user's private runtime folder."""
    from photoclip.gui.app import InstanceServer, ask_running_instance, server_name

    db = tmp_path / "library.db"
    name = server_name(db)
    assert os.path.dirname(name) == os.fspath(runtime.runtime_dir())
    # The old name, bound first by "another user".
    key = hashlib.blake2b(os.fsencode(os.path.abspath(db)), digest_size=8).hexdigest()
    squat_path = os.path.join(tempfile.gettempdir(), f"photoclip-{os.environ.get('USER') or 'user'}-{key}")
    squatter = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(squat_path)
    squatter.bind(squat_path)
    squatter.listen(1)
    os.chmod(squat_path, 0o777)
    if os.getuid() == 0:
        os.chown(squat_path, 65534, 65534)
    squatter.setblocking(False)
    try:
        assert not ask_running_instance(name, 200, paths=["/home/me/private.jpg"])
        with pytest.raises(BlockingIOError):
            squatter.accept()  # nothing reached the other user's socket
        server = InstanceServer(name)
        try:
            mode = os.lstat(server.server.fullServerName()).st_mode
            assert stat.S_IMODE(mode) & 0o077 == 0 and stat.S_IMODE(os.lstat(os.path.dirname(name)).st_mode) == 0o700
            with qtbot.waitSignal(server.activate, timeout=5000):
                assert ask_running_instance(name)
        finally:
            server.server.close()
    finally:
        squatter.close()
        os.unlink(squat_path)


def test_a_runtime_folder_others_can_use_is_refused_by_both_launches(qtbot, tmp_path: Path, isolated_home: Path) -> None:
    from photoclip.core.errors import PhotoclipError
    from photoclip.gui.app import InstanceServer, ask_running_instance, server_name

    name = server_name(tmp_path / "library.db")
    folder = os.path.dirname(name)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o777)
    assert not ask_running_instance(name, 200)
    with pytest.raises(PhotoclipError, match="permissions"):
        InstanceServer(name)
