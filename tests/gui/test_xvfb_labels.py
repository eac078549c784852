"""The Labels dialog walked as a photographer walks it, in a real window under Xvfb: make a
label, drag its line, Apply, answer ✓ and ✗ on photos near the line. Screenshots at
1366x768 and 1024x700 land in test-artifacts/ for a person to look at."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from photoclip.app.words import plural
from tests.gui.test_xvfb import ARTIFACTS, dialog_at_sizes, run_with_tiny_model, xvfb_display  # noqa: F401

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
]


def varied_photos(source: Path, target: Path) -> Path:
    """Each test photo as four different crops: a library of 32 photos whose vectors differ."""
    from PIL import Image

    target.mkdir(parents=True, exist_ok=True)
    for photo in sorted(source.glob("*.*")):
        if photo.suffix.lower() not in (".jpg", ".png"):
            continue
        image = Image.open(photo).convert("RGB")
        w, h = image.size
        boxes = [(0, 0, w // 2, h // 2), (w // 2, 0, w, h // 2), (0, h // 2, w // 2, h), (w // 4, h // 4, 3 * w // 4, 3 * h // 4)]
        for n, box in enumerate(boxes):
            image.crop(box).save(target / f"{photo.stem}-{n}.jpg", "JPEG", quality=85)
    return target


def label_dialog_opened(library: Path) -> list[dict]:
    """The driver's steps to a library indexed from `library`, a label "cat" and its dialog open."""
    return [
        {"add_folder": str(library)},
        {"wait": "indexed"},
        {"labels": ["cat"]},
        {"wait": "labels"},
        {"open_labels": True},
        {"wait": "labels_dialog"},
    ]


def test_answers_near_the_line_stay_marked_and_a_yes_shows_among_the_tagged(
    xvfb_display: str,  # noqa: F811
    tmp_path: Path,
    photo_dir: Path,
    tiny_weights: Path,
) -> None:
    """Make a label, drag its line, Apply, show the photos near the line, answer ✓ on one and
    ✗ on another: both stay in the list, marked and dimmed. Then the 'tagged' preview, where
    the photo said yes to shows even when the line leaves it out, marked, not dimmed (it is
    tagged). Last, a line dragged to see the photos held back and a yes on one of them: the
    dragged line stays, and so does the photo, in place, marked and dimmed (now tagged, no
    longer held back). Every shot shows two whole rows of thumbnails under the histogram."""
    ARTIFACTS.mkdir(exist_ok=True)
    library = varied_photos(photo_dir, tmp_path / "pics")
    actions: list[dict] = [
        *label_dialog_opened(library),
        {"line": 500},
        {"apply": True},
        {"wait": "labels_dialog"},
        {"preview": "near"},
        {"answer": [1, True]},
        {"wait": "labels_dialog"},
        {"answer": [3, False]},
        {"wait": "labels_dialog"},
    ]
    shots = dialog_at_sizes(actions, "labels-answered")
    actions.append({"preview": "tagged"})
    shots += dialog_at_sizes(actions, "labels-tagged-by-yes")
    # A line dragged (not applied) to see the photos held back, and a yes on one: the line stays.
    actions += [{"line": 450}, {"preview": "held"}, {"answer": [0, True]}, {"wait": "labels_dialog"}]
    shots += dialog_at_sizes(actions, "labels-held-yes")
    actions.append({"quit": True})
    run_with_tiny_model(xvfb_display, tmp_path, tiny_weights, actions, shots)
    from photoclip.core.db import Library

    with Library(tmp_path / "home" / "data" / "library.db") as lib:
        verdicts = sorted(v for (v,) in lib.conn.execute("SELECT verdict FROM tag_feedback"))
    assert verdicts == ["confirm", "confirm", "reject"]


def test_apply_after_a_yes_says_what_the_label_tags_and_leaves_the_line_unpinned(
    xvfb_display: str,  # noqa: F811
    tmp_path: Path,
    photo_dir: Path,
    tiny_weights: Path,
) -> None:
    """Round 22's walk: show the photos near the line, ✓ on one, Apply without touching the
    line. It said "now tags 0 photos automatically" under "1 photo tagged", and the caption
    "You moved the line by hand": the line had been pinned where it already was."""
    ARTIFACTS.mkdir(exist_ok=True)
    library = varied_photos(photo_dir, tmp_path / "pics")
    report = tmp_path / "report.json"
    actions: list[dict] = [
        *label_dialog_opened(library),
        {"preview": "near"},
        {"answer": [0, True]},
        {"wait": "labels_dialog"},
        {"apply": True},
        {"wait": "labels_dialog"},
        {"report": str(report)},
    ]
    shots = dialog_at_sizes(actions, "labels-applied-after-yes")
    actions.append({"quit": True})
    run_with_tiny_model(xvfb_display, tmp_path, tiny_weights, actions, shots)
    from photoclip.core import tagging
    from photoclip.core.db import Library

    with Library(tmp_path / "home" / "data" / "library.db") as lib:
        label = tagging.get_label(lib, "cat")
        tagged = len(tagging.photos_with_label(lib, "cat"))
    assert label.threshold_source != "user"  # not pinned: the line was never moved
    said = json.loads(report.read_text())["dialog_status"]
    assert said.startswith(f"Done: “cat” now tags {plural(tagged, 'photo')} (") and "by your yes or tag)." in said, said


def test_a_no_in_the_tagged_preview_leaves_the_photo_in_place(
    xvfb_display: str,  # noqa: F811
    tmp_path: Path,
    photo_dir: Path,
    tiny_weights: Path,
) -> None:
    """Round 22's walk left this: a ✗ on a photo of the tagged preview untagged it and it
    vanished, the rest moving up under the pointer. It stays in place, marked '✗ no' and
    dimmed, with the button for the photos tagged now (shots labels-tagged-no)."""
    ARTIFACTS.mkdir(exist_ok=True)
    library = varied_photos(photo_dir, tmp_path / "pics")
    actions: list[dict] = [
        *label_dialog_opened(library),
        {"line": 500},
        {"background_rule": True},  # random weights: every photo looks like any photo
        {"apply": True},
        {"wait": "labels_dialog"},
        {"preview": "tagged"},
        {"answer": [1, False]},
        {"wait": "labels_dialog"},
    ]
    shots = dialog_at_sizes(actions, "labels-tagged-no")
    actions.append({"quit": True})
    run_with_tiny_model(xvfb_display, tmp_path, tiny_weights, actions, shots)
    from photoclip.core.db import Library

    with Library(tmp_path / "home" / "data" / "library.db") as lib:
        verdicts = [v for (v,) in lib.conn.execute("SELECT verdict FROM tag_feedback")]
    assert verdicts == ["reject"]
