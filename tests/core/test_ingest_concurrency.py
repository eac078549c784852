"""Indexing beside other writers: pausing locks nobody out, photos may vanish mid-run, one indexer per library."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from photoclip.core import tagging
from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.ingest.lock import IndexerBusy, IndexLock
from photoclip.core.ingest.pipeline import index_library
from photoclip.core.model import FakeEmbedder
from tests.core.helpers import write_jpeg


def run(gen):
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


def photos(folder: Path, n: int, seed: int = 0) -> Path:
    for i in range(n):
        write_jpeg(folder / f"img{i:03d}.jpg", size=(64, 48), seed=seed + i)
    return folder


class SignallingToken(CancelToken):
    """Tells the test when the job has actually stopped in its pause."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait_if_paused(self) -> None:
        if self.paused:
            self.waiting.set()
        super().wait_if_paused()


def test_other_writers_are_not_locked_out_while_indexing_is_paused(tmp_path):
    db = tmp_path / "library.db"
    with Library(db) as lib:
        lib.add_folder(photos(tmp_path / "pics", 40))
    token = SignallingToken()
    failures: list[BaseException] = []

    def index_in_background() -> None:
        try:
            with Library(db) as own:
                # A long commit interval: only the commit before the pause may free the library.
                for event in index_library(own, FakeEmbedder(), cancel=token, batch_size=4, commit_every=600.0):
                    if event.phase == "index" and event.embedded >= 8 and not token.waiting.is_set():
                        token.pause()
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=index_in_background, daemon=True)
    worker.start()
    try:
        assert token.waiting.wait(60), "the indexer never reached its pause"
        (tmp_path / "more").mkdir()
        with Library(db) as other:
            other.conn.execute("PRAGMA busy_timeout=2000")  # the old behaviour failed here after the timeout
            start = time.monotonic()
            other.add_folder(tmp_path / "more")
            assert time.monotonic() - start < 1.0
            # What was embedded before the pause is already committed and visible.
            assert other.vector_count(FakeEmbedder().model_id) >= 8
    finally:
        token.resume()
        worker.join(60)
    assert not worker.is_alive() and failures == []


def test_photos_trashed_and_folders_removed_mid_run_do_not_stop_the_indexer(tmp_path):
    db = tmp_path / "library.db"
    lib = Library(db)
    keep = photos(tmp_path / "a", 12)
    gone = photos(tmp_path / "b", 12, seed=100)
    lib.add_folder(keep)
    lib.add_folder(gone)
    embedder = FakeEmbedder()
    other = Library(db)
    other.conn.execute("PRAGMA busy_timeout=2000")

    def tag_new_photos(ids):  # as the tagging hook does: a write about each photo just committed
        for photo_id in ids:
            tagging.add_tag(lib, photo_id, "new")

    gen = index_library(lib, embedder, batch_size=2, commit_every=0.0, after_commit=tag_new_photos)
    trashed = None
    events = []
    for event in gen:
        events.append(event)
        if trashed is None and event.phase == "index" and event.done >= 2:
            # Photos already decoded or queued, whose writes are still to come.
            trashed = other.photo_by_path(keep / "img011.jpg").id
            other.forget_photo(trashed)
            other.remove_folder(gone)
    final = events[-1]
    assert trashed is not None and final.phase == "done" and not final.cancelled
    assert lib.photo(trashed) is None
    assert lib.counts(embedder.model_id) == {**lib.counts(embedder.model_id), "photos": 11, "embedded": 11, "folders": 1}
    assert lib.conn.execute("SELECT COUNT(*) FROM tags").fetchone()[0] == 11
    assert lib.integrity_ok()
    lib.close()
    other.close()


def test_folder_removed_during_the_scan_does_not_stop_it(tmp_path, monkeypatch):
    from photoclip.core.ingest import scan

    monkeypatch.setattr(scan, "EVENT_FILES", 5)  # an event (and a commit) every five files
    db = tmp_path / "library.db"
    lib = Library(db)
    lib.add_folder(photos(tmp_path / "a", 3))
    gone = photos(tmp_path / "b", 30, seed=50)
    lib.add_folder(gone)
    other = Library(db)
    other.conn.execute("PRAGMA busy_timeout=2000")
    removed = False
    for event in index_library(lib, None, commit_every=0.0):
        if event.phase == "scan" and os.path.basename(event.message) == "b" and not removed:
            other.remove_folder(gone)
            removed = True
    assert removed
    assert lib.counts(None)["photos"] == 3 and lib.counts(None)["folders"] == 1
    lib.close()
    other.close()


def test_a_second_indexer_is_refused_by_name_or_waits_its_turn(tmp_path):
    db = tmp_path / "library.db"
    first_lib, second_lib = Library(db), Library(db)
    first_lib.add_folder(photos(tmp_path / "pics", 10))
    first = index_library(first_lib, FakeEmbedder(), batch_size=2)
    next(first)  # running: it holds the library
    with pytest.raises(IndexerBusy, match=f"pid {os.getpid()}"):
        next(index_library(second_lib, FakeEmbedder()))
    second_embedder = FakeEmbedder()
    waiting = index_library(second_lib, second_embedder, wait=True)
    assert "waiting for another photoclip" in next(waiting).message
    run(first)
    _, final = run(waiting)
    assert final.phase == "done" and second_embedder.images_embedded == 0  # the first did it all
    assert first_lib.counts(FakeEmbedder().model_id)["embedded"] == 10
    first_lib.close()
    second_lib.close()


def test_a_cancel_stops_waiting_for_the_other_indexer(tmp_path):
    db = tmp_path / "library.db"
    holder = IndexLock(db)
    assert holder.acquire()
    with Library(db) as lib:
        token = CancelToken()
        gen = index_library(lib, None, cancel=token, wait=True)
        next(gen)
        token.cancel()
        _, final = run(gen)
    assert final.cancelled
    holder.release()


def test_two_indexers_in_threads_on_one_new_folder_catalogue_each_file_once(tmp_path):
    db = tmp_path / "library.db"
    with Library(db) as lib:
        lib.add_folder(photos(tmp_path / "pics", 30))
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def index_once() -> None:
        try:
            with Library(db) as own:
                start.wait()
                run(index_library(own, FakeEmbedder(), wait=True, commit_every=0.0))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=index_once) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    with Library(db) as lib:
        assert lib.counts(FakeEmbedder().model_id) == {**lib.counts(FakeEmbedder().model_id), "photos": 30, "embedded": 30}


_INDEX_SCRIPT = """
import sys
from photoclip.core.db import Library
from photoclip.core.ingest.pipeline import index_library
from photoclip.core.model import FakeEmbedder
with Library(sys.argv[1]) as lib:
    for _ in index_library(lib, FakeEmbedder(), wait=True, commit_every=0.0, batch_size=4):
        pass
"""


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.slow
def test_two_processes_index_the_same_library_at_once(tmp_path):
    db = tmp_path / "library.db"
    with Library(db) as lib:
        lib.add_folder(photos(tmp_path / "pics", 60))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _INDEX_SCRIPT, str(db)], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with Library(db) as lib:
        counts = lib.counts(FakeEmbedder().model_id)
        assert counts["photos"] == 60 and counts["embedded"] == 60
        assert lib.integrity_ok()


@pytest.mark.slow
def test_cli_index_while_another_process_indexes_says_so_in_one_line(tmp_path):
    db = tmp_path / "library.db"
    with Library(db) as lib:
        lib.add_folder(photos(tmp_path / "pics", 2))
    holder = IndexLock(db)
    assert holder.acquire()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "photoclip", "--db", str(db), "index", "--catalogue-only"],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        holder.release()
    assert proc.returncode == 2, proc.stderr
    assert f"Another photoclip is indexing this library (pid {os.getpid()})" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_the_lock_of_a_killed_indexer_is_free_at_once(tmp_path):
    db = tmp_path / "library.db"
    script = (
        "import sys; from pathlib import Path; from photoclip.core.ingest.lock import IndexLock;"
        "lock = IndexLock(Path(sys.argv[1])); assert lock.acquire(); print('locked', flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(db)], env=_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        lock = IndexLock(db)
        assert not lock.acquire() and lock.holder() == proc.pid
    finally:
        proc.kill()
        proc.wait(60)
    assert lock.acquire()
    lock.release()


def test_decode_pool_is_sized_from_the_usable_cores(monkeypatch):
    from photoclip.core.ingest import decoding

    monkeypatch.setattr(decoding.os, "sched_getaffinity", lambda pid: set(range(12)), raising=False)
    assert decoding.default_workers() == 12  # not capped at 4: a GPU needs the decoders
    monkeypatch.setattr(decoding.os, "sched_getaffinity", lambda pid: set(range(200)), raising=False)
    assert decoding.default_workers() == decoding.MAX_DECODE_WORKERS
    monkeypatch.setattr(decoding.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert decoding.default_workers() == 1
