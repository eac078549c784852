"""A CLI text search answered by a running `photoclip watch`, whole process, vs the same search cold.

A fresh library of --photos small generated JPEGs is indexed by `photoclip watch` (a
subprocess, as a user runs it), then `photoclip search ... --json` is run as whole
processes: answered by the worker (warm), and with PHOTOCLIP_NO_WORKER=1 (cold: the
process imports torch and open_clip and loads the model). Also timed, to show where a
warm search's time goes: a bare `python -c pass`, the imports of the quick path a warm
search takes (cli/quick.py), those of the full command line it no longer needs
(`import photoclip.cli.main`), and the socket round trip alone from this process. Goal (issue #9): warm <= 0.25 s.
The model is a random-weights ViT-B-32-256 (the default's architecture: real cost),
or with --tiny the tests' tiny model. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

HOME = common.isolate()
ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed: {proc.stderr}")
    return took


def timings(args: list[str], env: dict[str, str], repeat: int) -> list[float]:
    run(args, env)  # warm the OS cache
    return [run(args, env) for _ in range(repeat)]


def show(name: str, values: list[float]) -> float:
    best, median = min(values), statistics.median(values)
    print(f"{name:<44} best {best * 1000:7.0f} ms   median {median * 1000:7.0f} ms   ({len(values)} runs)")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--cold-repeat", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny model instead of ViT-B-32-256")
    opts = parser.parse_args()
    print(common.machine_line())

    work = common.temp_dir("photoclip-bench-warm-")
    photos = work / "photos"
    photos.mkdir()
    for i in range(opts.photos):
        (photos / f"IMG_{i:04d}.jpg").write_bytes(common.tiny_jpeg_bytes(i, size=320))
    env = {**os.environ, "PHOTOCLIP_DB": str(work / "library.db"), "PYTHONPATH": str(ROOT)}
    if opts.tiny:
        env["PHOTOCLIP_MODEL_CONFIGS"] = str(ROOT / "tests" / "data" / "model-configs")
        env["PHOTOCLIP_MODEL"] = "photoclip-tiny"
        import open_clip
        import torch

        open_clip.add_model_config(env["PHOTOCLIP_MODEL_CONFIGS"])
        weights = work / "tiny.pt"
        torch.save(open_clip.create_model("photoclip-tiny", pretrained=None).state_dict(), weights)
    else:
        env["PHOTOCLIP_MODEL"] = "ViT-B-32-256"
        weights = common.random_checkpoint("ViT-B-32-256")
    env["PHOTOCLIP_WEIGHTS"] = str(weights)
    env["PHOTOCLIP_DEVICE"] = "cpu"
    cli = [sys.executable, "-m", "photoclip"]
    run([*cli, "add-folder", str(photos)], env)

    watcher = subprocess.Popen([*cli, "watch"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in watcher.stderr or []], daemon=True).start()
    started = time.perf_counter()
    while True:
        line = lines.get(timeout=600)
        if "Indexed:" in line:
            break
    print(f"watch: started, loaded the model and indexed {opts.photos} photos in {time.perf_counter() - started:.1f} s")
    try:
        search = [*cli, "search", "a", "dog", "on", "a", "beach", "--json", "-n", "10"]
        python = show("python -c pass", timings([sys.executable, "-c", "pass"], env, opts.repeat))
        import_quick = [sys.executable, "-c", "import photoclip.__main__, photoclip.cli.quick, photoclip.worker.client"]
        quick = show("python -c 'import (the quick path)'", timings(import_quick, env, opts.repeat))
        import_cli = [sys.executable, "-c", "import photoclip.cli.main"]
        imports = show("python -c 'import photoclip.cli.main'", timings(import_cli, env, opts.repeat))
        warm = show("search answered by the worker (whole process)", timings(search, env, opts.repeat))
        cold_env = {**env, "PHOTOCLIP_NO_WORKER": "1"}
        cold = show("search in-process, no worker (whole process)", timings(search, cold_env, opts.cold_repeat))

        sys.path.insert(0, str(ROOT))
        os.environ.update({k: env[k] for k in ("PHOTOCLIP_DB", "PHOTOCLIP_MODEL", "PHOTOCLIP_WEIGHTS", "PHOTOCLIP_DEVICE")})
        from photoclip.core.model import ModelChoice
        from photoclip.core.search import parse_query
        from photoclip.core.settings import Settings
        from photoclip.worker.client import ask
        from photoclip.worker.protocol import terms_to_json

        base = Settings.load().model_choice()
        choice = ModelChoice(base.name, base.weights, base.device, base.precision)
        params = {"terms": terms_to_json(parse_query(["a dog on a beach"])), "limit": 10, "filters": None}

        def round_trip() -> float:
            start = time.perf_counter()
            assert ask(Path(env["PHOTOCLIP_DB"]), choice, "search", params) is not None
            return time.perf_counter() - start

        socket_only = show("socket round trip alone (text embedded + scan)", [round_trip() for _ in range(opts.repeat)])
        # The cold runs above exported the text tower: from now on the worker embeds texts with it too.
        show("search by the worker again, after the cold runs", timings(search, env, opts.repeat))
        print(f"warm / cold: {warm / cold:.3f} ({cold / warm:.1f}x faster); warm - bare python: {(warm - python) * 1000:.0f} ms;")
        print(f"quick-path imports - bare python: {(quick - python) * 1000:.0f} ms (full CLI imports: {(imports - python) * 1000:.0f} ms);")
        print(f"socket alone {socket_only * 1000:.0f} ms. Goal: warm <= 250 ms.")
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(60)


if __name__ == "__main__":
    main()
