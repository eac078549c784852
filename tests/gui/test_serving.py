"""The open app answers `photoclip search` (and similar, tags, duplicates) over the worker socket.

A real `photoclip` subprocess asks the open window's library; its answer must be byte for
byte what the same command prints in-process (PHOTOCLIP_NO_WORKER=1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from photoclip.cli.served import serve_command
from photoclip.gui.services.serving import serve_commands_with
from photoclip.worker import runtime
from tests.conftest import TINY_MODEL
from tests.core.test_cli_watch import heavy, imported
from tests.gui.conftest import open_ready_window

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tiny_weights: Path, isolated_home: Path) -> dict[str, str]:
    # The client's model choice is the window's tiny model; fp32 as the tiny embedder was loaded
    # (the precision is part of the identity both sides compare).
    (isolated_home / "config").mkdir(exist_ok=True)
    (isolated_home / "config" / "settings.json").write_text('{"precision": "fp32"}')
    return {
        **os.environ,
        "PHOTOCLIP_MODEL": TINY_MODEL,
        "PHOTOCLIP_WEIGHTS": str(tiny_weights),
        "PHOTOCLIP_DEVICE": "cpu",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
def serving_window(qtbot, indexed_db: Path, tiny_embedder, env):
    """The window as `photoclip` opens it: the CLI's command runner handed over first (photoclip/__main__.py)."""
    serve_commands_with(serve_command)
    win = open_ready_window(qtbot, indexed_db, tiny_embedder)
    try:
        yield win
    finally:
        win.close()
        serve_commands_with(None)


def photoclip(db: Path, *args: str, env: dict[str, str], cwd: Path | None = None, python: tuple[str, ...] = ()):
    command = [sys.executable, *python, "-m", "photoclip", "--db", str(db), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=cwd)


def test_the_open_app_answers_commands_exactly_as_in_process(serving_window, photo_dir: Path, env, qtbot) -> None:
    win = serving_window
    db = win.db_path
    qtbot.waitUntil(lambda: win.watching.queries.serving, timeout=30000)
    assert runtime.socket_path(db).exists()
    worker = json.loads(photoclip(db, "status", "--json", env=env).stdout)["worker"]
    assert (worker["kind"], worker["pid"], worker["model_loaded"]) == ("app", os.getpid(), True)
    assert worker["model"]["name"] == TINY_MODEL  # the model the app lends, not the settings' default

    assert photoclip(db, "labels", "add", "Cats", "--description", "a cat", env=env).returncode == 0
    local = {**env, "PHOTOCLIP_NO_WORKER": "1"}
    commands = [
        ("search", "a", "cat", "+", "./skimage_chelsea.jpg", "-dogs", "--json"),
        ("search", "beach", "-n", "3"),
        ("similar", "skimage_chelsea.jpg", "--json", "-n", "4"),
        ("duplicates", "--threshold", "0.5", "--json"),
        ("tags", "skimage_chelsea.jpg"),
        ("tags", "nope.jpg"),  # not in the library: the same one line and exit 2
    ]
    for command in commands:
        warm = photoclip(db, *command, env=env, cwd=photo_dir)
        cold = photoclip(db, *command, env=local, cwd=photo_dir)
        assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr), command
        assert warm.stdout.strip() or warm.returncode == 2, command

    # The app answered: the asking process never imported the engine.
    timed = photoclip(db, "search", "a", "cat", "--json", env=env, python=("-X", "importtime"))
    assert json.loads(timed.stdout)["results"]
    assert not heavy(imported(timed.stderr)), heavy(imported(timed.stderr))

    # While the app has no model (another one loading), commands run in-process, with the same answer.
    win.watching.model_changed(None)
    assert not win.watching.queries.serving
    cold = photoclip(db, "search", "a", "cat", "--json", env=env, python=("-X", "importtime"))
    assert "numpy" in heavy(imported(cold.stderr))
    assert json.loads(cold.stdout) == json.loads(timed.stdout)

    # Closed, the app gives the socket back.
    win.close()
    assert not runtime.socket_path(db).exists()
