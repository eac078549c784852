"""The timeline at 100k photos in the real window: open it, scroll through it, jump with the scrubber.

Prints figures and ratios; asserts nothing. In one run, in the real MainWindow (offscreen
unless QT_QPA_PLATFORM says otherwise), over --photos photos dated across 20 years
(the test photos' thumbnails repeated under distinct ids, as in bench_gui.py):

1. open: the model reset with all rows and the timeline's sections built from their dates
   (what sorting by date costs each time the rows change).
2. scrolling, sorted by date (month header rows, sticky header, scrubber following) against
   the same scrolling sorted by name (the plain grid, no headers), same window, same rows:
   a page per frame and a wheel step (120 px) per frame, each frame repainted at once.
   Frame time p50/p99/max and the ratio timeline/plain. Goal: p99 under 50 ms (no stall).
3. jumps: the scrubber jumps to each year, from the newest to the oldest and back; the time
   from the jump to the repainted grid, p50/max. Goal: under 50 ms.

Run: .venv/bin/python benchmarks/bench_timeline.py [--photos 100000] [--frames 200] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_PHOTOS = ROOT / "tests" / "data" / "photos"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _dated_photos(count: int) -> list:  # type: ignore[type-arg]
    from photoclip.core.db import Photo

    sources = sorted(str(p) for p in TEST_PHOTOS.iterdir() if p.suffix in (".jpg", ".png"))
    months = 240  # 20 years, newest first, with uneven months (holidays are bigger)
    photos = []
    for i in range(count):
        m = (i * months) // count
        year, month = 2024 - m // 12, 12 - m % 12
        day = 1 + (i % 28)
        taken = f"{year:04d}-{month:02d}-{day:02d}T12:00:00"
        photos.append(Photo(i + 1, sources[i % len(sources)], 1, 1, None, 512, 512, taken, "exif", None, None, None, "ok", None))
    photos.sort(key=lambda p: (p.taken_at, p.id), reverse=True)
    return photos


def _frames(app, window, step: str, frames: int) -> list[float]:  # type: ignore[no-untyped-def]
    """Per-frame milliseconds: move the scroll bar, repaint the grid at once (and let events run)."""
    bar = window.grid.verticalScrollBar()
    bar.setValue(0)
    app.processEvents()
    times: list[float] = []
    for _ in range(frames):
        start = time.perf_counter()
        delta = bar.pageStep() if step == "page" else 120
        if bar.value() >= bar.maximum():
            bar.setValue(0)
        else:
            bar.setValue(min(bar.maximum(), bar.value() + delta))
        window.grid.viewport().repaint()
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _summary(times: list[float]) -> str:
    stalls = sum(1 for t in times if t > 50)
    return f"p50 {_percentile(times, 0.5):5.1f} ms, p99 {_percentile(times, 0.99):5.1f} ms, max {max(times):5.1f} ms, stalls {stalls}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20k photos, 60 frames")
    args = parser.parse_args()
    if args.quick:
        args.photos, args.frames = 20_000, 60
    import os
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["PHOTOCLIP_HOME"] = tempfile.mkdtemp(prefix="photoclip-bench-timeline-")  # never the real library
    from PySide6.QtWidgets import QApplication

    from photoclip.core import paths
    from photoclip.core.settings import Settings
    from photoclip.gui.models import SORT_DATE, SORT_NAME
    from photoclip.gui.qtcompat import emit
    from photoclip.gui.windows.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(paths.default_db_path(), Settings(), load_model=False)
    window.resize(1366, 768)
    window.show()
    deadline = time.monotonic() + 60
    while window.library.busy and time.monotonic() < deadline:  # the window's own first (empty) browse
        app.processEvents()
    for _ in range(20):
        app.processEvents()
    photos = _dated_photos(args.photos)
    print(f"timeline at {args.photos:,} photos, window 1366x768 ({os.environ['QT_QPA_PLATFORM']})")

    start = time.perf_counter()
    window.grid_model.set_photos(photos)  # modelReset: the grid relayouts, the timeline is built
    app.processEvents()
    opened = time.perf_counter() - start
    assert window.timeline is not None
    sections = len(window.timeline.sections)
    print(f"\n1. open: {args.photos:,} rows in {sections} months shown by date in {opened * 1000:.0f} ms (model reset, sections, layout)")

    print(f"\n2. scrolling, {args.frames} frames each, a repaint per frame")
    figures: dict[tuple[str, str], list[float]] = {}
    for sort in (SORT_DATE, SORT_NAME):
        window.sort_combo.setCurrentIndex(window.sort_combo.findData(sort))
        app.processEvents()
        for step in ("page", "wheel"):
            figures[(sort, step)] = _frames(app, window, step, args.frames)
    for step in ("page", "wheel"):
        dated, plain = figures[(SORT_DATE, step)], figures[(SORT_NAME, step)]
        ratio = statistics.median(dated) / statistics.median(plain)
        print(f"   {step:5s} by date (headers): {_summary(dated)}")
        print(f"   {step:5s} by name (plain):   {_summary(plain)}")
        print(f"   {step:5s} ratio timeline/plain (p50): {ratio:.2f}")

    print("\n3. scrubber jumps to each year and back")
    window.sort_combo.setCurrentIndex(window.sort_combo.findData(SORT_DATE))
    app.processEvents()
    marks = window.timeline.years()
    jumps: list[float] = []
    wrong = 0
    for mark in marks + marks[::-1]:
        start = time.perf_counter()
        emit(window.scrubber.jump, mark.first_row)
        window.grid.viewport().repaint()
        window.scrubber.repaint()
        app.processEvents()
        jumps.append((time.perf_counter() - start) * 1000)
        shown = window.timeline.section_at(window.scrubber.current_row)
        wrong += shown is None or shown.year != mark.year
    print(f"   {len(jumps)} jumps: p50 {_percentile(jumps, 0.5):.1f} ms, max {max(jumps):.1f} ms; marker on the wrong year: {wrong}")
    print(f"   thumbnails decoded or cached: {window.thumbs.cached} of {args.photos:,} photos (the grid stays lazy)")
    window.close()
    app.processEvents()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
