"""The background worker in-process, with the fake embedder: watching, the socket, status, idle unload."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from photoclip.core.db import Library
from photoclip.core.ingest.lock import IndexLock
from photoclip.core.model import FakeEmbedder, ModelChoice
from photoclip.core.search import Searcher, parse_query
from photoclip.worker import client, runtime, status
from photoclip.worker.daemon import Worker, WorkerOptions
from photoclip.worker.protocol import filters_to_json, run_query, terms_to_json
from tests.core.helpers import write_jpeg

CHOICE = ModelChoice("fake", "fake", device="cpu", precision="fp32")
MODEL_ID = "fake:fake"  # what model_id_for(CHOICE) says, so the worker's pending check agrees


class Running:
    def __init__(self, worker: Worker, thread: threading.Thread, db: Path, loads: list[int]) -> None:
        self.worker, self.thread, self.db, self.loads = worker, thread, db, loads
        self.errors: list[BaseException] = []

    def until(self, check: Callable[[Library], bool], timeout: float = 30.0) -> None:
        """Await passes until `check` holds on a fresh read of the library (a deadline, no fixed sleep)."""
        deadline = time.monotonic() + timeout
        with Library(self.db) as lib, self.worker.pass_done:
            while not check(lib):
                remaining = deadline - time.monotonic()
                assert remaining > 0 and not self.errors, f"not reached in {timeout} s: {self.errors}"
                self.worker.pass_done.wait(remaining)


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(folder: Path, **options: float) -> Running:
        db = tmp_path / "library.db"
        with Library(db) as lib:
            lib.add_folder(str(folder))
        loads: list[int] = []

        def load() -> FakeEmbedder:
            loads.append(1)
            return FakeEmbedder(model_id=MODEL_ID)

        opts = WorkerOptions(**{"debounce": 0.1, "max_delay": 2.0, "battery_check_every": 0, **options})  # type: ignore[arg-type]
        worker = Worker(db, CHOICE, load, opts, report=lambda text: None)
        running = Running(worker, threading.Thread(target=lambda: _run(running), daemon=True), db, loads)
        running.thread.start()
        assert worker.ready.wait(30)
        started.append(running)
        return running

    yield start
    for running in started:
        running.worker.stop()
        running.thread.join(30)
        assert not running.thread.is_alive()


def _run(running: Running) -> None:
    try:
        running.worker.run()
    except BaseException as exc:
        running.errors.append(exc)


def _present(lib: Library) -> dict[str, str]:
    rows = lib.conn.execute("SELECT path, status FROM photos").fetchall()
    return {os.path.basename(p): s for p, s in rows}


def _embedded(lib: Library, name: str) -> bool:
    photo = next((p for p in lib.photos(i for (i,) in lib.conn.execute("SELECT id FROM photos")).values() if p.name == name), None)
    return photo is not None and lib.vector(photo.id, MODEL_ID) is not None


def test_the_watcher_picks_up_a_new_a_changed_a_moved_and_a_deleted_photo(start_worker, tmp_path):
    folder = tmp_path / "photos"
    write_jpeg(folder / "first.jpg", seed=1)
    write_jpeg(folder / "gone.jpg", seed=2)
    write_jpeg(folder / "changes.jpg", seed=3)
    write_jpeg(folder / "moves.jpg", seed=4)
    running = start_worker(folder)
    running.until(lambda lib: all(_embedded(lib, n) for n in ("first.jpg", "gone.jpg", "changes.jpg", "moves.jpg")))
    with Library(running.db) as lib:
        moved_id = lib.photo_by_path(folder / "moves.jpg").id
        old_size = lib.photo_by_path(folder / "changes.jpg").size

    write_jpeg(folder / "sub" / "new.jpg", seed=5)
    write_jpeg(folder / "changes.jpg", size=(400, 300), seed=6)
    os.rename(folder / "moves.jpg", folder / "sub" / "moved.jpg")
    os.unlink(folder / "gone.jpg")

    def caught_up(lib: Library) -> bool:
        state = _present(lib)
        changed = lib.photo_by_path(folder / "changes.jpg")
        moved = lib.photo_by_path(folder / "sub" / "moved.jpg")
        return (
            _embedded(lib, "new.jpg")
            and state.get("gone.jpg") == "missing"
            and changed is not None
            and changed.size != old_size
            and changed.width == 400
            and moved is not None
            and "moves.jpg" not in state
        )

    running.until(caught_up)
    with Library(running.db) as lib:
        assert lib.photo_by_path(folder / "sub" / "moved.jpg").id == moved_id  # a move keeps the photo (and its vector)
        assert _embedded(lib, "changes.jpg")


def test_the_socket_answers_as_the_library_answers_in_process(start_worker, photo_dir):
    running = start_worker(photo_dir)
    count = len(list(photo_dir.iterdir()))
    running.until(lambda lib: lib.vector_count(MODEL_ID) == count)
    chelsea = str(photo_dir / "skimage_chelsea.jpg")
    with Library(running.db) as lib:
        local = Searcher(lib, FakeEmbedder(model_id=MODEL_ID))
        photo_id = lib.photo_by_path(chelsea).id
        queries = [
            ("search", {"terms": terms_to_json(parse_query(["a", "cat", "+", chelsea, "-dogs"])), "limit": 5, "filters": None}),
            ("similar", {"target": chelsea, "limit": 50, "filters": filters_to_json(None)}),
            ("duplicates", {"threshold": 0.5}),
            ("top_labels", {"photo_id": photo_id, "k": 3}),
        ]
        for op, params in queries:
            asked = client.ask(running.db, CHOICE, op, params)
            assert asked is not None, op
            assert asked[0] == run_query(op, params, local), op
            assert asked[1] == count
    # Another model, or a library the worker does not serve: no answer, so the asker works in-process.
    assert client.ask(running.db, ModelChoice("other", "fake"), "duplicates", {"threshold": 0.5}) is None
    assert client.ask(running.db.with_name("elsewhere.db"), CHOICE, "duplicates", {"threshold": 0.5}) is None


def test_a_query_mistake_comes_back_as_the_same_error(start_worker, photo_dir):
    running = start_worker(photo_dir)
    running.until(lambda lib: lib.vector_count(MODEL_ID) > 0)  # the model is loaded: the worker answers
    from photoclip.core.errors import PhotoclipError

    with pytest.raises(PhotoclipError, match="No such file"):
        client.ask(running.db, CHOICE, "similar", {"target": str(photo_dir / "nope.jpg"), "limit": 3, "filters": None})


@pytest.mark.parametrize("what", ["socket", "folder"])
def test_the_client_refuses_a_socket_others_could_use_and_falls_back(start_worker, photo_dir, what, caplog):
    running = start_worker(photo_dir)
    path = runtime.socket_path(running.db)
    assert client.ping(running.db, CHOICE) == os.getpid()
    target = path if what == "socket" else path.parent
    os.chmod(target, 0o666 if what == "socket" else 0o755)
    try:
        assert client.ping(running.db, CHOICE) is None
        assert client.ask(running.db, CHOICE, "duplicates", {"threshold": 0.5}) is None
        assert "permissions" in caplog.text
    finally:
        os.chmod(target, 0o600 if what == "socket" else 0o700)
    assert client.ping(running.db, CHOICE) == os.getpid()


def test_the_socket_is_owner_only(start_worker, photo_dir):
    running = start_worker(photo_dir)
    path = runtime.socket_path(running.db)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert oct(path.parent.stat().st_mode & 0o777) == oct(0o700)


def test_status_is_what_the_worker_publishes_and_a_second_worker_refuses(start_worker, photo_dir, tmp_path):
    db = tmp_path / "library.db"
    assert status.worker_status(db)["running"] is False
    running = start_worker(photo_dir)
    running.until(lambda lib: lib.vector_count(MODEL_ID) > 0)
    seen = status.worker_status(db)
    assert seen["running"] is True and seen["pid"] == os.getpid() and seen["model_loaded"] is True
    second = Worker(db, CHOICE, FakeEmbedder, WorkerOptions(battery_check_every=0), report=lambda t: None)
    with pytest.raises(status.WorkerRunning, match="already watching"):
        second.run()
    running.worker.stop()
    running.thread.join(30)
    after = status.worker_status(db)
    assert after == {"running": False, "model_loaded": False, "pid": None, "indexing": None}
    assert not runtime.socket_path(db).exists() and not runtime.status_path(db).exists()
    assert IndexLock(db).acquire()  # the stop released the indexer lock too


def test_a_pass_waits_for_another_indexer_then_runs(start_worker, photo_dir, tmp_path):
    db = tmp_path / "library.db"
    Library(db).close()
    other = IndexLock(db)
    assert other.acquire()
    running = start_worker(photo_dir)
    deadline = time.monotonic() + 30
    while (status.worker_status(db).get("indexing") or {}).get("phase") != "waiting":
        assert time.monotonic() < deadline, "the worker never said it was waiting"
        running.worker.changes.wait(0, 0, 0.05)  # a bounded wait on an event that never comes
    with Library(db) as lib:
        assert lib.vector_count(MODEL_ID) == 0
    other.release()
    running.until(lambda lib: lib.vector_count(MODEL_ID) == len(list(photo_dir.iterdir())))


def test_the_model_is_given_back_after_the_idle_time_and_reloaded_for_a_query(start_worker, photo_dir):
    """A query that finds the model given back is not kept waiting for the load (many
    seconds for a real model; in-process, the cached text tower answers in about one):
    it is refused at once, the model loads in the background, and later queries are served."""
    running = start_worker(photo_dir, idle_unload=30)
    running.until(lambda lib: lib.vector_count(MODEL_ID) > 0)
    assert running.worker.holder.unload()
    assert status.worker_status(running.db)["model_loaded"] is False
    loads = len(running.loads)
    assert client.ask(running.db, CHOICE, "duplicates", {"threshold": 0.9}) is None  # the asker works in-process
    deadline = time.monotonic() + 30
    while not running.worker.holder.loaded and time.monotonic() < deadline:
        running.worker.holder.unloaded.wait(0.05)  # a bounded wait for the background load, not a fixed sleep
    assert running.worker.holder.loaded and len(running.loads) == loads + 1
    assert client.ask(running.db, CHOICE, "duplicates", {"threshold": 0.9}) is not None
    assert len(running.loads) == loads + 1  # loaded once, for both queries


def test_the_model_is_given_back_after_the_idle_time(start_worker, photo_dir):
    running = start_worker(photo_dir, idle_unload=0.2)
    running.until(lambda lib: lib.vector_count(MODEL_ID) > 0)
    assert running.worker.holder.unloaded.wait(30)
    assert status.worker_status(running.db)["model_loaded"] is False


def test_a_burst_of_changes_is_one_pass():
    from photoclip.worker.watcher import Changes

    changes = Changes()
    for _ in range(2000):
        changes.note()
    assert changes.wait(debounce=0.05, max_delay=5, timeout=10) is True
    assert changes.wait(debounce=0.05, max_delay=5, timeout=0.1) is False  # nothing left over


def test_a_camera_import_into_a_watched_folder_is_few_passes(start_worker, tmp_path):
    folder = tmp_path / "photos"
    write_jpeg(folder / "one.jpg", seed=1)
    running = start_worker(folder, debounce=1.0)
    running.until(lambda lib: lib.vector_count(MODEL_ID) == 1)
    before = running.worker.passes
    staging = tmp_path / "card"
    for i in range(200):
        write_jpeg(staging / f"IMG_{i:04}.jpg", size=(64, 48), seed=i)
    shutil.copytree(staging, folder / "import")
    running.until(lambda lib: lib.vector_count(MODEL_ID) == 201)
    assert running.worker.changes.noted >= 200
    assert running.worker.passes - before <= 3  # not one pass per file


def test_a_folder_on_a_network_share_is_rescanned_instead(tmp_path):
    from photoclip.worker.watcher import network_filesystem

    mounts = tmp_path / "mounts"
    share = tmp_path / "share"
    share.mkdir()
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/photos {share} nfs4 rw 0 0\n")
    assert network_filesystem(str(share / "x"), str(mounts)) == "nfs4"
    assert network_filesystem(str(tmp_path), str(mounts)) is None


def test_on_battery_reads_the_power_supplies(tmp_path):
    from photoclip.worker.power import on_battery

    def supply(name: str, kind: str, online: str | None = None) -> None:
        (tmp_path / name).mkdir()
        (tmp_path / name / "type").write_text(kind + "\n")
        if online is not None:
            (tmp_path / name / "online").write_text(online + "\n")

    assert on_battery(str(tmp_path)) is False
    supply("BAT0", "Battery")
    supply("AC", "Mains", "0")
    assert on_battery(str(tmp_path)) is True
    (tmp_path / "AC" / "online").write_text("1\n")
    assert on_battery(str(tmp_path)) is False


@pytest.mark.parametrize("use_systemd", [True, False])
def test_service_files_of_both_kinds(tmp_path, monkeypatch, use_systemd):
    from photoclip.worker import service

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    db = tmp_path / "my photos" / "100% lib.db"
    target, advice = service.install(db, use_systemd=use_systemd)
    assert target.path.is_relative_to(tmp_path / "config") and target.path.exists()
    text = target.path.read_text()
    if use_systemd:
        assert target.path.parent == tmp_path / "config" / "systemd" / "user"
        assert 'ExecStart="' in text and "100%% lib.db" in text and "IOSchedulingClass=idle" in text and "Nice=19" in text
    else:
        assert target.path.parent == tmp_path / "config" / "autostart"
        assert "Exec=" in text and '"' in text and "100%% lib.db" in text
    assert any(str(target.path) in line for line in advice)
    assert any(str(target.path) in line for line in service.uninstall(db))
    assert not target.path.exists()
    assert service.uninstall(db) == ["No photoclip service was installed for this library."]


def test_the_worker_refuses_to_listen_in_a_folder_others_can_use(tmp_path, photo_dir, isolated_home):
    run_dir = isolated_home / "run"
    run_dir.mkdir(mode=0o755)
    os.chmod(run_dir, 0o755)
    db = tmp_path / "library.db"
    Library(db).close()
    worker = Worker(db, CHOICE, FakeEmbedder, WorkerOptions(battery_check_every=0), report=lambda t: None)
    with pytest.raises(runtime.NotPrivate, match="others can use"):
        worker.run()
    assert not status.worker_alive(db)  # nothing left locked


def test_a_wait_far_beyond_what_threads_can_wait_is_bounded_not_an_overflow():
    # Before: Changes.wait(timeout=1e308) raised OverflowError from Condition.wait.
    from photoclip.worker.watcher import Changes

    changes = Changes()
    with changes._cond:  # held until the wait releases it: the wake can only come once we wait
        waker = threading.Thread(target=changes.wake)
        waker.start()
        assert changes.wait(debounce=1e308, max_delay=1e308, timeout=1e308) is False
    waker.join()


def test_an_idle_time_beyond_what_threads_can_wait_keeps_the_idle_timer_alive(monkeypatch):
    # Before: idle_seconds=1e308 (watch --idle-unload 1e308, or a huge model_idle_minutes in
    # the settings file) killed the idle thread with OverflowError as soon as the model was used.
    from photoclip.worker.models import ModelHolder

    timed = threading.Event()
    original = threading.Condition.wait

    def noting_wait(cond: threading.Condition, timeout: float | None = None) -> bool:
        if timeout is not None and threading.current_thread().name == "photoclip-model-idle":
            timed.set()
        return original(cond, timeout)

    monkeypatch.setattr(threading.Condition, "wait", noting_wait)
    holder = ModelHolder(lambda: FakeEmbedder(model_id=MODEL_ID), idle_seconds=1e308)
    try:
        with holder.use():
            pass
        assert timed.wait(10)  # the timer now holds the lock until it waits (or dies)
        holder.idle_seconds = 0
        with holder.use():  # its end wakes the timer, which gives the model back now
            pass
        assert holder.unloaded.wait(10)
        assert holder._reaper.is_alive()
    finally:
        holder.close()


def test_status_names_the_device_the_workers_model_used_even_after_it_is_given_back(start_worker, photo_dir, monkeypatch):
    # Before: status said the setting ("auto", or the worker's "cpu") whatever the model ran on.
    from photoclip.cli.library import device_text, where_model_runs

    monkeypatch.setattr(FakeEmbedder, "device", "cuda", raising=False)  # as a loaded OpenClipEmbedder says
    running = start_worker(photo_dir, idle_unload=30)
    running.until(lambda lib: lib.vector_count(MODEL_ID) > 0)
    assert status.worker_status(running.db)["device"] == "cuda"
    assert running.worker.holder.unload()
    seen = status.worker_status(running.db)
    assert seen["model_loaded"] is False and seen["device"] == "cuda"
    device = where_model_runs(CHOICE, seen)
    assert device == {"device": "cuda", "device_setting": "cpu", "device_from": "worker"}
    assert device_text(device) == "cuda (where the running worker's model runs)"
    other_model = ModelChoice("fake", "other", device="cpu", precision="fp32")
    assert where_model_runs(other_model, seen)["device_from"] == "setting"  # that worker runs another model
