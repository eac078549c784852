"""Quit ends the process at once, and what the app wrote before stays written (walkthrough item 4).

The real app runs in a subprocess (tests/gui/launch_app.py, offscreen), indexes with the
tiny model, creates labels (a tag run starts on its own), then quits; the test measures from
the moment the window closed to the moment the process was gone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

QUIT_WITHIN_S = 2.0  # idle workers: closing is one join per thread, each told to stop first


def _run(tmp_path: Path, actions: list[dict], env_extra: dict[str, str]) -> float:
    stamp = tmp_path / "quit-time"
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"timeout": 180, "actions": [*actions, {"quit": str(stamp)}]}))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PHOTOCLIP_HOME=str(tmp_path / "home"), PHOTOCLIP_DB=str(tmp_path / "library.db"))
    for var in ("WAYLAND_DISPLAY", "PHOTOCLIP_MODEL", "PHOTOCLIP_WEIGHTS"):
        env.pop(var, None)
    env.update(env_extra)
    launch = [sys.executable, str(Path(__file__).with_name("launch_app.py")), str(script)]
    proc = subprocess.Popen(launch, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(timeout=240)
    ended = time.time()
    assert proc.returncode == 0, out
    return ended - float(stamp.read_text())


@pytest.mark.slow
def test_quit_after_indexing_ends_the_process_promptly_and_keeps_every_write(tmp_path: Path, photo_dir: Path, tiny_weights: Path) -> None:
    labels = ["beach", "cat"]
    took = _run(
        tmp_path,
        [{"add_folder": str(photo_dir)}, {"wait": "indexed"}, {"labels": labels}, {"wait": "labels"}],
        {"PHOTOCLIP_MODEL": "photoclip-tiny", "PHOTOCLIP_WEIGHTS": str(tiny_weights)},
    )
    assert took < QUIT_WITHIN_S, f"the process lived {took:.1f} s after quit"
    from photoclip.core.db import Library
    from photoclip.core.db import labels as labels_sql

    with Library(tmp_path / "library.db") as lib:
        assert len(lib.all_photos()) == 8
        assert labels_sql.label_names(lib) >= set(labels)


@pytest.mark.slow
def test_quit_without_a_model_ends_the_process_promptly(tmp_path: Path, photo_dir: Path) -> None:
    env = {"HF_HUB_OFFLINE": "1"}
    took = _run(tmp_path, [{"add_folder": str(photo_dir)}, {"wait": "model"}, {"wait": "catalogued"}], env)
    assert took < QUIT_WITHIN_S, f"the process lived {took:.1f} s after quit"


@pytest.mark.slow
def test_quit_while_the_model_still_loads_ends_the_process_promptly(tmp_path: Path, tiny_weights: Path) -> None:
    """Loading torch and the model cannot be interrupted; quitting must not wait for it (it writes nothing)."""
    took = _run(tmp_path, [], {"PHOTOCLIP_MODEL": "photoclip-tiny", "PHOTOCLIP_WEIGHTS": str(tiny_weights)})
    assert took < QUIT_WITHIN_S, f"the process lived {took:.1f} s after quit"
