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
