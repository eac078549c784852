"""Issue 13's main-window leftovers on a real X screen (round 22), for a person to look at:
the header of the photos whose dates are still being read during a first pass (paused there),
the same grid after it, with the sidebar's counts, the grid's right-click menu opened by
xdotool on a photo of the plain library (no Tag filter) with its labels submenu, and the
status bar after a ✓ clicked there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.gui.test_xvfb import ARTIFACTS, _xvfb, dated_copies, run_with_tiny_model

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("xdotool") is None, reason="Xvfb or xdotool is not installed"),
]


@pytest.mark.parametrize("screen", [(1366, 768), (1024, 700)])
def test_first_pass_headers_sidebar_and_grid_menu(screen: tuple[int, int], tmp_path: Path, photo_dir: Path, tiny_weights: Path) -> None:
    width, height = screen
    size = f"{width}x{height}"
    ARTIFACTS.mkdir(exist_ok=True)
    library = tmp_path / "library"
    dated_copies(photo_dir, library / "trip")
    dated_copies(photo_dir, library / "home")
    for photo in sorted(photo_dir.glob("*.jpg"))[:2]:
        shutil.copy2(photo, library / photo.name)  # no date inside: dated by the file once read
    shots = {what: ARTIFACTS / f"xvfb-main13-{what}-{size}.png" for what in ("reading", "read", "menu", "answered")}
    during, after, menu = tmp_path / "during.json", tmp_path / "after.json", tmp_path / "menu.json"
    answered = tmp_path / "answered.json"
    actions: list[dict] = [
        {"resize": [width, height]},
        {"wait": "model"},
        {"labels": ["beach", "cat", "coffee", "city at night"]},
        {"wait": "labels"},
        {"pause_at_index": True},
        {"sort": "date"},
        {"add_folder": str(library)},
        {"wait": "paused"},
        {"screenshot": str(shots["reading"])},
        {"report": str(during)},
        {"resume": True},
        {"wait": "indexed"},
        {"wait": "shown"},
        {"screenshot": str(shots["read"])},
        {"report": str(after)},
        {"tag_row": [0, "beach"]},
        {"wait": "thumbnails"},
        {"right_click": 0},
        {"wait": "menu"},
        {"hover_labels_menu": True},
        {"wait": "submenu"},
        {"screenshot_screen": str(shots["menu"])},
        {"report": str(menu)},
        {"click_labels_menu": "✓ Yes"},
        {"wait": "answered"},
        {"screenshot": str(shots["answered"])},
        {"report": str(answered)},
        {"close_menus": True},
        {"quit": True},
    ]
    with _xvfb(f"{width}x{height}x24") as display:
        run_with_tiny_model(display, tmp_path, tiny_weights, actions, shots.values(), min_bytes=10_000)
    reading, read = json.loads(during.read_text()), json.loads(after.read_text())
    assert reading["headers"][-1] == "Dates still being read…"
    assert read["headers"] and "Dates still being read…" not in read["headers"]  # months now (the file's date at least)
    photos = len(list(library.rglob("*.jpg")))
    assert read["counts"]["photos"] == photos and reading["counts"]["photos"] == photos  # the sidebar had them while paused
    offered = json.loads(menu.read_text())["labels_menu"]
    assert offered[-1] == "✗ No, not “beach” (the label learns)"  # the label the photo carries (no Tag filter)
    assert 1 <= sum(t.startswith("✓ Yes, this photo is “") for t in offered) <= 3  # and a few worth a yes
    # The ✓'s answer is read whole in the status bar, beside the counts and the model: at
    # 1024 pixels it was cut after "“beach” now" (round 22's walk).
    told = json.loads(answered.read_text())
    assert told["status"].startswith("Yes, “") and told["status"].endswith(".")
    assert told["status_needs"] <= told["status_room"], told
