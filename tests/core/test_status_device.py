"""`photoclip status` names the device the model runs on, not only the "auto" setting, and
finds it without loading a model or importing torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from photoclip.cli.library import device_text, where_model_runs
from photoclip.core.model import ModelChoice, expected_device, pick_device

NOT_RUNNING = {"running": False, "model_loaded": False, "pid": None, "indexing": None}


def test_auto_is_told_as_torch_would_choose_it():
    assert expected_device("auto") == pick_device("auto")  # torch is imported here: compare to its own answer
    assert expected_device("cuda") == "cuda"  # a setting that names one is that one


def test_auto_is_told_without_torch(tmp_path):
    script = "import sys; from photoclip.core.model import expected_device; print(expected_device('auto'), 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert out == [pick_device("auto"), "False"]


def test_status_says_auto_and_what_it_means_here(tmp_path, isolated_home):
    from photoclip.core.db import Library

    Library(tmp_path / "s.db").close()
    env = {
        **os.environ,
        "PHOTOCLIP_HOME": str(isolated_home),
        "PHOTOCLIP_DB": str(tmp_path / "s.db"),
        "PHOTOCLIP_DEVICE": "auto",
        "HF_HUB_OFFLINE": "1",
    }
    run = [sys.executable, "-X", "importtime", "-m", "photoclip", "status"]
    text = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=True)
    here = pick_device("auto")
    assert f", device auto: {here}\n" in text.stdout  # before: ", device auto"
    assert "| torch\n" not in text.stderr  # no model loaded, not even torch imported
    doc = json.loads(subprocess.run([*run, "--json"], env=env, capture_output=True, text=True, timeout=120, check=True).stdout)
    assert {k: doc["model"][k] for k in ("device", "device_setting", "device_from")} == {
        "device": here,
        "device_setting": "auto",
        "device_from": "this computer",
    }


def test_a_named_device_is_that_device():
    choice = ModelChoice("m", "w", device="cuda", precision="fp32")
    device = where_model_runs(choice, NOT_RUNNING)
    assert device == {"device": "cuda", "device_setting": "cuda", "device_from": "setting"} and device_text(device) == "cuda"


def torch_installed_at(tmp_path, monkeypatch, version_file) -> None:
    """expected_device as in a process that has not imported torch, with torch 'installed'
    in tmp_path: `version_file(path)` makes its version.py."""
    import importlib.machinery
    import importlib.util

    package = tmp_path / "torch"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    version_file(package / "version.py")
    spec = importlib.machinery.ModuleSpec("torch", None, origin=str(package / "__init__.py"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: spec if name == "torch" else real_find_spec(name, *a))
    monkeypatch.delitem(sys.modules, "torch", raising=False)


def answered_within(seconds: float) -> object:
    """expected_device('auto') run in a thread: its answer, or 'hung' past `seconds`."""
    import threading

    answer: list[object] = []
    thread = threading.Thread(target=lambda: answer.append(expected_device("auto")), daemon=True)
    thread.start()
    thread.join(seconds)
    return answer[0] if answer else "hung"


def test_a_named_pipe_or_a_huge_file_as_torchs_version_file_does_not_hold_status(tmp_path, monkeypatch):
    torch_installed_at(tmp_path / "fifo", monkeypatch, lambda path: os.mkfifo(path))
    assert answered_within(20) is None  # before: read_text waited for a writer forever
    torch_installed_at(tmp_path / "huge", monkeypatch, lambda path: path.open("wb").truncate(1 << 30))
    assert answered_within(20) is None


def test_a_driver_that_never_answers_or_is_of_another_shape_leaves_status_unsure_not_stuck(tmp_path, monkeypatch):
    import ctypes
    import threading

    from photoclip.core.model import device as module

    torch_installed_at(tmp_path, monkeypatch, lambda path: path.write_text("cuda: Optional[str] = '12.1'\nhip = None\n"))
    monkeypatch.setattr(module, "DRIVER_PROBE_SECONDS", 0.5, raising=False)
    wedged = threading.Event()
    monkeypatch.setattr(module, "_cuda_gpus", lambda: wedged.wait() and 1)
    try:
        assert answered_within(20) is None  # before: waited for the driver as long as it took
    finally:
        wedged.set()
    monkeypatch.undo()
    torch_installed_at(tmp_path / "again", monkeypatch, lambda path: path.write_text("cuda = '12.1'\n"))

    class NoCuInit:  # a libcuda.so stub without the driver's functions
        def __init__(self, name: str) -> None:
            pass

    monkeypatch.setattr(ctypes, "CDLL", NoCuInit)
    assert answered_within(20) is None  # before: AttributeError out of `photoclip status`


def test_a_worker_device_of_another_shape_is_not_repeated(tmp_path, monkeypatch):
    from photoclip.worker import status as worker_status_module
    from photoclip.worker.client import model_identity

    choice = ModelChoice("m", "w", device="auto", precision="fp32")
    running = {"running": True, "model_loaded": True, "pid": 1, "indexing": None, "model": model_identity(choice)}
    assert where_model_runs(choice, {**running, "device": "cuda:0"})["device_from"] == "worker"
    for odd in (123, "", "cuda\x1b[2J\nowned", "x" * 60_000, ["cuda"]):
        device = where_model_runs(choice, {**running, "device": odd})
        assert device["device_from"] != "worker" and len(device_text(device)) < 40 and "\n" not in device_text(device)
    # A status file whose "indexing" is not a record: status says the worker runs, no traceback.
    from photoclip.cli.library import describe_worker

    db = tmp_path / "s.db"
    monkeypatch.setattr(worker_status_module, "worker_alive", lambda _db: True)
    for indexing in ("index", 7, ["index"]):
        worker_status_module.publish(db, {"db": os.path.realpath(db), "pid": 5, "model_loaded": True, "indexing": indexing})
        assert describe_worker(worker_status_module.worker_status(db), choice) == "Worker: running (pid 5), model loaded"


def test_status_quotes_what_a_status_file_or_the_environment_says_in_odd_text(tmp_path, monkeypatch):
    """A hand-made status file's indexing counts and a PHOTOCLIP_DEVICE with a newline or a
    terminal escape are quoted and cut, never sent to the terminal as they are."""
    from photoclip.cli.library import describe_worker, device_text, shown, where_model_runs
    from photoclip.core.model import ModelChoice
    from photoclip.worker import status as worker_status_module

    assert shown("cpu") == "cpu" and shown(12) == "12"
    db = tmp_path / "s.db"
    monkeypatch.setattr(worker_status_module, "worker_alive", lambda _db: True)
    hostile = {"phase": "index", "done": "\x1b[2J", "total": "9" * 500}
    worker_status_module.publish(db, {"db": os.path.realpath(db), "pid": 5, "model_loaded": True, "indexing": hostile})
    text = describe_worker(worker_status_module.worker_status(db), ModelChoice("m", "w"))
    assert "\x1b" not in text and len(text) < 200 and text.startswith("Worker: running (pid 5), model loaded, indexing ")
    worker_status_module.publish(db, {"db": os.path.realpath(db), "pid": 5, "model_loaded": True, "indexing": {"phase": "x\ny"}})
    assert "\n" not in describe_worker(worker_status_module.worker_status(db), ModelChoice("m", "w"))
    odd = ModelChoice("m", "w", device="x\ny", precision="fp32")
    assert "\n" not in device_text(where_model_runs(odd, {"running": False}))


def test_a_worker_running_another_model_says_which_and_how_to_count_its_photos():
    # Walk 22: the app opened with `--weights FILE`, then `photoclip status` (no --weights)
    # said "embedded: 0  pending: 38" beside "Worker: the photoclip app (pid …), model loaded",
    # nothing saying that the app's model was another one, with 38 vectors of its own.
    from photoclip.cli.library import describe_worker
    from photoclip.worker.client import model_identity

    mine = ModelChoice("ViT-B-32-256", "datacomp_s34b_b86k")
    apps = ModelChoice("ViT-B-32-256", "/photos/random.safetensors")
    worker = {"running": True, "kind": "app", "pid": 7, "model_loaded": True, "indexing": None, "device": "cpu"}
    other = describe_worker({**worker, "model": model_identity(apps)}, mine)
    assert other.startswith("Worker: the photoclip app (pid 7), model loaded")
    assert "another model: ViT-B-32-256 (/photos/random.safetensors) on cpu" in other
    assert "--weights /photos/random.safetensors" in other  # how to see the app's counts
    same = describe_worker({**worker, "model": model_identity(mine)}, mine)
    assert same == "Worker: the photoclip app (pid 7), model loaded"  # as before: the device line names its device


def test_the_device_line_names_the_app_when_the_app_holds_the_model():
    # Walk 22: with the app open, "device auto: cpu (where the running worker's model runs)"
    # above "Worker: the photoclip app (pid …)": a newcomer had started no worker.
    device = {"device": "cpu", "device_setting": "auto", "device_from": "worker"}
    assert device_text(device, "app") == "auto: cpu (where the open app's model runs)"
    assert device_text(device) == "auto: cpu (where the running worker's model runs)"  # `photoclip watch`
