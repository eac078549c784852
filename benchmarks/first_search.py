"""Part 5 of bench_gui.py: from launching the app to the first search answered, on an indexed library.

Each run is a fresh process (Qt, photoclip, the real main window, its model loaded as the
app loads it: in a job thread after the first paint). As soon as the window is shown the
probe types a query, as a user who opens the app to look for a photo would, and records
when its results are in the grid. Two cases, alternated:

- "tower": the text tower of these weights is cached (every start after the first), so
  the words are answered by ONNX Runtime while torch and the model are still loading;
- "model": no tower yet (the very first start with these weights): the search waits for
  the full open_clip model. The app exports the tower after that load, so the next start
  is a "tower" one; this case deletes it before each run.

Timed from just before the process is launched (the parent's clock), so Python's own
start-up counts. Ratio printed: tower / model, medians.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

PROBE = textwrap.dedent(
    """
    import json, os, sys, time
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject, QTimer
    from photoclip.gui.app import create_app
    app = create_app([])
    from photoclip.core import paths
    from photoclip.gui.windows.main_window import MainWindow
    window = MainWindow(paths.default_db_path())
    marks = {}
    def ask():
        window.search_bar.edit.setText(sys.argv[1])
        window.run_query()
    class Exposed(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Expose and "shown" not in marks:
                marks["shown"] = time.time()
                QTimer.singleShot(0, ask)
            return False
    def answered(is_search):
        if is_search and "answered" not in marks:
            marks["answered"] = time.time()
            marks["by_tower"] = window.model_service.embedder is None
            QTimer.singleShot(0, window.close)
    window.results_shown.connect(answered)
    watcher = Exposed()
    window.show()
    window.windowHandle().installEventFilter(watcher)
    if "shown" not in marks:  # offscreen may not send Expose: the first turn of the loop then
        QTimer.singleShot(0, lambda: (marks.setdefault("shown", time.time()), ask()))
    QTimer.singleShot(300_000, app.quit)
    app.exec()
    window.shutdown()
    print(json.dumps(marks), flush=True)
    os._exit(0)  # as the app ends (gui/app/startup.end_process): a model load still running is left, not torn down
    """
)


def prepare_library(db: Path, photo_count: int, checkpoint: Path, log=print) -> None:
    """An indexed library (in the isolated home) with the random-weights model, and its text tower."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import common

    from photoclip.core import paths
    from photoclip.core.db import Library
    from photoclip.core.ingest.pipeline import index_library
    from photoclip.core.model import ModelChoice, OpenClipEmbedder
    from photoclip.core.model.query import prepare_text_tower

    photos = common.generated_photos(photo_count, width=1600, height=1200, log=log)
    embedder = OpenClipEmbedder(ModelChoice("ViT-B-32-256", str(checkpoint))).load()
    with Library(db) as lib:
        lib.add_folder(photos[0].parent)
        for _ in index_library(lib, embedder, thumbnails=paths.thumbnail_dir()):
            pass
        log(f"   library: {lib.counts(embedder.model_id)}")
    prepare_text_tower(embedder, unload=True)


def one_run(query: str, env: dict[str, str]) -> dict[str, float] | None:
    launched = time.time()
    done = subprocess.run([sys.executable, "-c", PROBE, query], env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not done.stdout.strip():
        print(done.stderr[-2000:])
        return None
    marks = json.loads(done.stdout.strip().splitlines()[-1])
    if "answered" not in marks:
        print("   no answer within the time limit")
        return None
    return {
        "shown": marks["shown"] - launched,
        "answered": marks["answered"] - launched,
        "after_shown": marks["answered"] - marks["shown"],
        "by_tower": bool(marks.get("by_tower")),
    }


def bench_first_search(photo_count: int, runs: int) -> None:
    print(f"\n5. launch -> window shown -> first search answered, indexed library of {photo_count} photos (ViT-B-32-256, random weights)")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import common

    from photoclip.core.model import ModelChoice, OpenClipEmbedder, model_id_for
    from photoclip.core.model.query import prepare_text_tower
    from photoclip.core.model.texttower import TextTower, tower_dir

    checkpoint = common.random_checkpoint("ViT-B-32-256")
    os.environ["PHOTOCLIP_MODEL"] = "ViT-B-32-256"
    os.environ["PHOTOCLIP_WEIGHTS"] = str(checkpoint)
    db = common.temp_dir("photoclip-bench-first-search-") / "library.db"
    prepare_library(db, photo_count, checkpoint, log=lambda t: print(t))
    choice = ModelChoice("ViT-B-32-256", str(checkpoint))
    tower = tower_dir(model_id_for(choice))
    env = dict(os.environ, PHOTOCLIP_DB=str(db))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    results: dict[str, list[dict[str, float]]] = {"model": [], "tower": []}
    for i in range(runs):
        for case in ("model", "tower"):
            if case == "model":
                shutil.rmtree(tower, ignore_errors=True)  # the first start with these weights
            elif not TextTower.ready(choice):
                # The app exports the tower after its first load, but a quit right after the
                # first answer leaves that export unfinished: made here, untimed, as a longer
                # first session would have.
                print("   (the app quit before its tower export finished: exporting it here, untimed)")
                prepare_text_tower(OpenClipEmbedder(choice).load(), unload=True)
            r = one_run("a dog on a beach at sunset", env)
            if r is None:
                return
            results[case].append(r)
            how = "the text tower" if r["by_tower"] else "the full model"
            print(
                f"   run {i + 1} {case:5}: window shown {r['shown']:.2f} s, first search answered {r['answered']:.2f} s "
                f"after launch ({r['after_shown']:.2f} s after the window), by {how}"
            )
    med = {case: statistics.median(r["answered"] for r in rs) for case, rs in results.items()}
    after = {case: statistics.median(r["after_shown"] for r in rs) for case, rs in results.items()}
    shown = statistics.median(r["shown"] for rs in results.values() for r in rs)
    print(
        f"   medians: window shown {shown:.2f} s; first search answered {med['tower']:.2f} s with a cached tower, "
        f"{med['model']:.2f} s without (window -> answer {after['tower']:.2f} s / {after['model']:.2f} s); "
        f"ratio tower / model {med['tower'] / med['model']:.2f}"
    )
