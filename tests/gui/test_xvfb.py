"""A real window under Xvfb, started through the app's public `run_app`, as the command does.

The app is started by tests/gui/launch_app.py, which hands photoclip's `run_app` the script
driver of tests/gui/driver.py:
add a folder of real photos, wait until they are indexed with the tiny model, search
in words, save a screenshot, drop a photo, check it finds itself first, quit.
Screenshots land in test-artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
]


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    with _xvfb("1440x900x24") as display:
        yield display


@contextlib.contextmanager
def _xvfb(screen: str) -> Iterator[str]:
    """A private X server; -displayfd lets it pick a free display number and tell us."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # blocks until the server is ready
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def launch_command(script: Path) -> list[str]:
    """The app with the script driver installed (tests/gui/launch_app.py), this interpreter."""
    return [sys.executable, str(Path(__file__).with_name("launch_app.py")), str(script)]


def run_driven_app(script: Path, display: str, timeout: int, **settings: str | None) -> None:
    """Run the app on `display` through the driver `script` and require a clean exit.

    `settings` are environment variables for the app; None removes one, so that the
    tester's own (a PHOTOCLIP_MODEL, say) never leaks in.
    """
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    env.pop("WAYLAND_DISPLAY", None)
    for name, value in settings.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    done = subprocess.run(launch_command(script), env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr


def run_with_tiny_model(
    display: str, tmp_path: Path, tiny_weights: Path, actions: list[dict], shots: Iterable[Path], min_bytes: int = 20_000
) -> None:
    """Drive the app through `actions` with the tests' tiny model and a fresh home in
    `tmp_path`, then require every screenshot in `shots` to be there and not blank (at
    least `min_bytes`)."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"timeout": 240, "actions": actions}))
    run_driven_app(
        script,
        display,
        300,
        PHOTOCLIP_HOME=str(tmp_path / "home"),
        PHOTOCLIP_MODEL="photoclip-tiny",
        PHOTOCLIP_WEIGHTS=str(tiny_weights),
    )
    for shot in shots:
        assert shot.is_file() and shot.stat().st_size > min_bytes, f"{shot} is missing or blank"


def test_real_window_indexes_searches_and_finds_a_dropped_photo(
    xvfb_display: str, tmp_path: Path, photo_dir: Path, tiny_weights: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot_text = ARTIFACTS / "xvfb-text-search.png"
    shot_drop = ARTIFACTS / "xvfb-image-search.png"
    shot_tagged = ARTIFACTS / "xvfb-tagged.png"
    shot_viewer = ARTIFACTS / "xvfb-viewer-labels.png"
    shot_labels = ARTIFACTS / "xvfb-labels-dialog.png"
    labels = ["beach", "cat", "coffee", "Animals/Dogs", "city at night", "rocket"]
    report = tmp_path / "report.json"
    report_tags = tmp_path / "report-tags.json"
    dropped = photo_dir / "skimage_coffee.jpg"
    actions: list[dict] = [
        {"add_folder": str(photo_dir)},
        {"wait": "indexed"},
        {"search": "a cat sitting"},
        {"wait": "results"},
        {"screenshot": str(shot_text)},
        {"drop": str(dropped)},
        {"wait": "results"},
        {"screenshot": str(shot_drop)},
        {"report": str(report)},
        {"labels": labels},
        {"wait": "labels"},  # created on the library thread; the tag run starts on its own
        {"tag_library": True},
        {"wait": "tagged"},
        {"screenshot": str(shot_tagged)},
        {"open_viewer": 0},
        {"wait": "viewer"},
        {"screenshot_dialog": str(shot_viewer)},
        {"open_labels": True},
        {"wait": "labels_dialog"},
        {"screenshot_dialog": str(shot_labels)},
        {"report": str(report_tags)},
        {"quit": True},
    ]
    run_with_tiny_model(xvfb_display, tmp_path, tiny_weights, actions, (shot_text, shot_drop, shot_tagged, shot_viewer, shot_labels))
    result = json.loads(report.read_text())
    assert result["model"] == "ready"
    assert result["counts"]["embedded"] == 8
    first = result["rows"][0]
    assert Path(first["path"]) == dropped
    assert first["score"] == pytest.approx(1.0, abs=1e-2)
    tagged = json.loads(report_tags.read_text())
    assert set(tagged["tags"]) == set(labels)  # every label is in the tag filter after the run
    assert tagged["status"].startswith("Tagging with 6 labels done")


def test_first_run_without_a_model_stays_browsable(xvfb_display: str, tmp_path: Path, photo_dir: Path) -> None:
    """No weights on disk and no network: a banner says what is missing; photos still show."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "xvfb-first-run-no-model.png"
    report = tmp_path / "report.json"
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "timeout": 180,
                "actions": [
                    {"add_folder": str(photo_dir)},
                    {"wait": "model"},
                    {"wait": "catalogued"},
                    {"wait": "thumbnails"},
                    {"screenshot": str(shot)},
                    {"report": str(report)},
                    {"quit": True},
                ],
            }
        )
    )
    home = str(tmp_path / "home")
    run_driven_app(script, xvfb_display, 240, PHOTOCLIP_HOME=home, HF_HUB_OFFLINE="1", PHOTOCLIP_MODEL=None, PHOTOCLIP_WEIGHTS=None)
    result = json.loads(report.read_text())
    assert result["model"] == "missing"
    assert len(result["rows"]) == 8 and result["banner"].startswith("The search model")
    assert shot.is_file() and shot.stat().st_size > 20_000


SIZES = [(1366, 768), (1024, 700)]  # a common laptop screen, and a small one


def dialog_at_sizes(actions: list[dict], name: str) -> list[Path]:
    """Add to `actions` a screenshot of the open dialog resized to each of SIZES; their files."""
    shots = [ARTIFACTS / f"xvfb-{name}-{w}x{h}.png" for w, h in SIZES]
    for (w, h), shot in zip(SIZES, shots, strict=True):
        actions += [{"resize_dialog": [w, h]}, {"screenshot_dialog": str(shot)}]
    return shots


def test_labels_and_suggest_dialogs_fit_a_laptop_screen(xvfb_display: str, tmp_path: Path, photo_dir: Path, tiny_weights: Path) -> None:
    """Screenshots of the Labels dialog (fitted shape, caption) and the Suggest dialog at two
    window sizes, and of the Labels dialog a suggestion opens, for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    actions: list[dict] = [
        {"add_folder": str(photo_dir)},
        {"wait": "indexed"},
        {"labels": ["cat"]},
        {"wait": "labels"},
        {"open_labels": True},
        {"wait": "labels_dialog"},
    ]
    shots = dialog_at_sizes(actions, "labels")
    actions += [{"open_suggestions": True}, {"wait": "suggestions"}]
    shots += dialog_at_sizes(actions, "suggest")
    shots.append(ARTIFACTS / "xvfb-suggest-made-label.png")
    report = tmp_path / "report.json"
    actions += [
        {"make_label": 0},
        {"wait": "labels_dialog"},
        {"screenshot_dialog": str(shots[-1])},
        {"report": str(report)},
        {"quit": True},
    ]
    run_with_tiny_model(xvfb_display, tmp_path, tiny_weights, actions, shots)
    from photoclip.core import tagging
    from photoclip.core.db import Library

    with Library(tmp_path / "home" / "data" / "library.db") as lib:
        made = [label for label in tagging.list_labels(lib) if label.name != "cat"]
    assert len(made) == 1 and made[0].descriptions  # one click made one label, with its phrases
    assert json.loads(report.read_text())["model"] == "ready"


@pytest.mark.parametrize("screen", [(1366, 768), (1024, 700)])
def test_small_screens_show_everything(screen: tuple[int, int], tmp_path: Path, photo_dir: Path, tiny_weights: Path) -> None:
    """Issue 10 item 5: on a laptop screen the window, the viewer, Labels and Settings fit, and
    their screenshots are saved for a person to look at."""
    width, height = screen
    ARTIFACTS.mkdir(exist_ok=True)
    name = f"{width}x{height}"
    parts = ("results", "viewer", "labels", "settings", "settings-other")
    shots = {what: ARTIFACTS / f"xvfb-{name}-{what}.png" for what in parts}
    sizes = {what: tmp_path / f"sizes-{what}.json" for what in parts}
    actions: list[dict] = [
        {"add_folder": str(photo_dir)},
        {"wait": "indexed"},
        {"labels": ["beach", "cat", "coffee", "Animals/Dogs", "Animals/Birds", "city at night"]},
        {"wait": "labels"},
        {"tag_library": True},
        {"wait": "tagged"},
        {"search": "a cat sitting"},
        {"wait": "results"},
        {"match": 40},
        {"screenshot": str(shots["results"])},
        {"sizes": str(sizes["results"])},
        {"open_viewer": 0},
        {"wait": "viewer"},
        {"screenshot_dialog": str(shots["viewer"])},
        {"sizes": str(sizes["viewer"])},
        {"open_labels": True},
        {"wait": "labels_dialog"},
        {"screenshot_dialog": str(shots["labels"])},
        {"sizes": str(sizes["labels"])},
        {"open_settings": True},
        {"screenshot_dialog": str(shots["settings"])},
        {"sizes": str(sizes["settings"])},
        {"other_model": ["ViT-B-16", "laion5b"]},
        {"wait": "model_checked"},
        {"screenshot_dialog": str(shots["settings-other"])},
        {"sizes": str(sizes["settings-other"])},
        {"quit": True},
    ]
    with _xvfb(f"{width}x{height}x24") as display:
        run_with_tiny_model(display, tmp_path, tiny_weights, actions, shots.values(), min_bytes=10_000)
    for what in shots:
        measured = json.loads(sizes[what].read_text())
        rx, ry, rw, rh = measured["room"]
        for frame in (measured["window"], measured["dialog"]):
            if frame is None:
                continue
            x, y, w, h = frame
            inside = x >= rx and y >= ry and x + w <= rx + rw and y + h <= ry + rh
            assert inside, f"{what}: {frame} does not fit the screen's {measured['room']}"
        viewport, cell_room, cell = measured["grid"]
        assert viewport - (viewport // cell_room) * cell_room < cell, f"{what}: an empty column's worth of room in the grid"


@pytest.mark.parametrize("screen", [(1366, 768), (1024, 700)])
def test_another_photoclip_indexing_is_shown_at_laptop_sizes(
    screen: tuple[int, int], tmp_path: Path, indexed_db: Path, tiny_weights: Path
) -> None:
    """Issue 9: while a `photoclip watch` (here: this test process, holding its lock and
    publishing its status) indexes the library, the app indexes nothing and says so in the
    status bar with that process's progress. Screenshots for a person to look at."""
    from photoclip.worker import status

    width, height = screen
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"xvfb-{width}x{height}-another-indexer.png"
    report = tmp_path / "report.json"
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "timeout": 180,
                "actions": [
                    {"wait": "model"},
                    {"wait": "elsewhere"},
                    {"rescan": True},
                    {"wait": "thumbnails"},
                    {"screenshot": str(shot)},
                    {"report": str(report)},
                    {"quit": True},
                ],
            }
        )
    )
    lock = status.WorkerLock(indexed_db)
    assert lock.acquire()
    indexing = {"phase": "index", "done": 37, "total": 120}
    status.publish(indexed_db, {"pid": os.getpid(), "kind": "watcher", "db": os.path.realpath(indexed_db), "indexing": indexing})
    try:
        with _xvfb(f"{width}x{height}x24") as display:
            # This test's PHOTOCLIP_HOME: the app finds the status file published above.
            run_driven_app(
                script, display, 300, PHOTOCLIP_DB=str(indexed_db), PHOTOCLIP_MODEL="photoclip-tiny", PHOTOCLIP_WEIGHTS=str(tiny_weights)
            )
    finally:
        lock.release()
        status.withdraw(indexed_db)
    assert shot.is_file() and shot.stat().st_size > 10_000, f"{shot} is missing or blank"
    shown = json.loads(report.read_text())
    assert shown["index_status"] == "The background watcher is adding photos: 37 of 120"
    assert "No need to rescan: the background watcher adds new and changed photos" in shown["tooltip"]
    assert len(shown["rows"]) == 8 and shown["model"] == "ready"


def dated_copies(source: Path, target: Path) -> Path:
    """The real test photos, each saved under several EXIF dates (and some with GPS): a library with a past."""
    from PIL import Image

    from tests.core.test_places_albums import _dms

    places = [(38.7169, -9.1399), (47.2692, 11.3933), None]
    when = ["2024:08:03", "2024:07:21", "2024:05:02", "2023:12:24", "2023:06:10", "2022:09:18", "2021:03:02", "2019:07:14"]
    target.mkdir(parents=True, exist_ok=True)
    n = 0
    for photo in sorted(source.glob("*.jpg")):
        for copy in range(3):
            image = Image.open(photo).convert("RGB")
            exif = Image.Exif()
            exif[0x8769] = {0x9003: f"{when[n % len(when)]} 1{copy}:00:00"}
            gps = places[n % len(places)]
            if gps:
                exif[0x8825] = {1: "N", 2: _dms(gps[0]), 3: "E" if gps[1] >= 0 else "W", 4: _dms(gps[1])}
            image.save(target / f"{photo.stem}-{copy}.jpg", "JPEG", quality=85, exif=exif)
            n += 1
    return target


def test_timeline_and_understood_chips_at_laptop_sizes(xvfb_display: str, tmp_path: Path, photo_dir: Path, tiny_weights: Path) -> None:
    """Browsing by date shows month headers, the scrubber and (scrolled) the sticky header; typed
    words become chips. Screenshots at 1366x768 and 1024x700 for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    library = dated_copies(photo_dir, tmp_path / "dated")
    shots = {
        size: (
            ARTIFACTS / f"xvfb-timeline-{size}.png",
            ARTIFACTS / f"xvfb-timeline-scrolled-{size}.png",
            ARTIFACTS / f"xvfb-chips-{size}.png",
            ARTIFACTS / f"xvfb-scrub-{size}.png",
            ARTIFACTS / f"xvfb-understood-{size}.png",
        )
        for size in ("1366x768", "1024x700")
    }
    report = tmp_path / "report.json"
    actions: list[dict] = [{"add_folder": str(library)}, {"wait": "indexed"}]
    for size, (timeline, scrolled, chips, scrub, understood) in shots.items():
        width, height = (int(v) for v in size.split("x"))
        actions += [
            {"resize": [width, height]},
            {"pin": ""},  # an empty Enter: back to browsing
            {"sort": "date"},
            {"wait": "shown"},
            {"screenshot": str(timeline)},
            {"scroll_to_row": 10},
            {"wait": "shown"},
            {"screenshot": str(scrolled)},
            {"scrub": 12},  # held down: the bubble names the month and year in full
            {"screenshot": str(scrub)},
            {"scrub_release": True},
            {"search": "a city street Lisbon 2024"},  # typed, not pinned: the status says what it understood
            {"wait": "results"},
            {"screenshot": str(understood)},
            {"pin": "a city street Lisbon 2024"},
            {"wait": "shown"},
            {"screenshot": str(chips)},  # pinned: the hint to press Enter is gone
            {"report": str(report)},
            {"clear": True},
        ]
    actions.append({"quit": True})
    run_with_tiny_model(xvfb_display, tmp_path, tiny_weights, actions, [shot for files in shots.values() for shot in files])
    result = json.loads(report.read_text())
    assert [p["kind"] for p in result["chips"]] == ["place", "date"]
    assert all(Path(r["path"]).name.endswith(".jpg") for r in result["rows"])


def test_a_date_from_the_file_name_and_a_renamed_label_at_laptop_sizes(
    xvfb_display: str, tmp_path: Path, photo_dir: Path, tiny_weights: Path
) -> None:
    """A photo with no date inside it but one in its name (as phones name them), in the
    viewer; a label renamed so it looks for another word, in the Labels dialog. Screenshots
    at 1366x768 and 1024x700 for a person to look at."""
    from PIL import Image

    ARTIFACTS.mkdir(exist_ok=True)
    library = tmp_path / "phone"
    library.mkdir()
    source = sorted(photo_dir.glob("*.jpg"))[0]
    Image.open(source).convert("RGB").save(library / "IMG_20190704_153012.jpg", "JPEG", quality=85)  # no EXIF
    actions: list[dict] = [
        {"add_folder": str(library)},
        {"wait": "indexed"},
        {"labels": ["Dogs"]},
        {"wait": "labels"},
        {"open_viewer": 0},
        {"wait": "viewer"},
    ]
    shots = dialog_at_sizes(actions, "viewer-name-date")
    actions += [{"open_labels": True}, {"wait": "labels_dialog"}, {"rename_label": ["Dogs", "Rex"]}, {"wait": "labels_dialog"}]
    shots += dialog_at_sizes(actions, "labels-renamed")
    actions.append({"quit": True})
    run_with_tiny_model(xvfb_display, tmp_path, tiny_weights, actions, shots)
    from photoclip.core import tagging
    from photoclip.core.db import Library

    with Library(tmp_path / "home" / "data" / "library.db") as lib:
        assert [label.name for label in tagging.list_labels(lib)] == ["Rex"]
        photo = lib.photo_by_path(library / "IMG_20190704_153012.jpg")
    assert photo is not None and (photo.taken_at, photo.taken_source) == ("2019-07-04T15:30:12", "filename")


def test_a_typed_tag_shows_its_plain_remove_at_laptop_sizes(xvfb_display: str, tmp_path: Path, photo_dir: Path, tiny_weights: Path) -> None:
    """The viewer after a tag was typed: "tagged by you · remove" beside its bar, at
    1366x768 and 1024x700, for a person to look at (the link must not be cut off)."""
    ARTIFACTS.mkdir(exist_ok=True)
    actions: list[dict] = [
        {"add_folder": str(photo_dir)},
        {"wait": "indexed"},
        {"open_viewer": 0},
        {"wait": "viewer"},
        {"type_tag": "Holiday"},
        {"wait": "viewer"},
    ]
    shots = dialog_at_sizes(actions, "viewer-typed-tag")
    actions.append({"quit": True})
    run_with_tiny_model(xvfb_display, tmp_path, tiny_weights, actions, shots)
    from photoclip.core import tagging
    from photoclip.core.db import Library

    with Library(tmp_path / "home" / "data" / "library.db") as lib:
        assert [t.source for p in lib.all_photos() for t in tagging.photo_tags(lib, p.id)] == ["manual"]
