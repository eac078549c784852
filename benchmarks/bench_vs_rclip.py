"""photoclip against rclip, the real peer, on the same photos and the same model, whole process.

In one run, on --count (200) generated 12-MP JPEGs and one random-weights ViT-B-32-256
(built once with a fixed seed, saved as a checkpoint photoclip loads with --weights, and
exported to rclip's ONNX folder layout, see rclip_peer.py):

1. indexing, whole process (start-up, imports and model load included): `photoclip index`
   into a fresh library, and rclip on a fresh database (rclip always answers a query after
   indexing, so its run includes one search: about its cold search time, printed below);
2. one text search in a fresh process (no worker running): `photoclip search` and
   `rclip --no-indexing`, each --search-runs times (median and best);
3. peak memory of each of those processes (the kernel's maximum resident set size; both
   tools are one process with threads).

Before timing, one small untimed photoclip pass (8 photos, one search) builds what
photoclip makes once per machine and model (its CPU precision choice, its text-tower
cache), as a user's first run would. Figures and ratios are printed; nothing is asserted.
If rclip cannot be installed (no Python >= 3.12, no network to the package index), the
script says why and prints photoclip's figures alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

HOME = common.isolate()
REPO = Path(__file__).resolve().parent.parent
import rclip_peer  # noqa: E402  (after isolate(): it imports photoclip)

QUERY = "kids on a beach at sunset"
TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"  # GNU time, for the peak memory


@dataclass
class Run:
    seconds: float
    peak_mb: float
    returncode: int
    output: str


def timed_process(cmd: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Wall time and peak resident memory of one whole process (start-up included).

    The peak comes from GNU time run as the parent: a process forked from this one would
    report this process's own peak (Linux carries the larger resident set across exec).
    """
    with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as report:
        start = time.perf_counter()
        proc = subprocess.run(
            [TIME, "-f", "%M", "-o", report.name, *cmd], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        seconds = time.perf_counter() - start
        kib = [line for line in report.read().splitlines() if line.strip().isdigit()]
    return Run(seconds, int(kib[-1]) / 1024 if kib else float("nan"), proc.returncode, proc.stdout)


def checked(run: Run, what: str) -> Run:
    if run.returncode != 0:
        raise SystemExit(f"{what} failed (exit {run.returncode}):\n{run.output[-2000:]}")
    return run


def photoclip_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def photoclip_cmd(db: Path, checkpoint: Path, model: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "photoclip", "--db", str(db), "--model", model, "--weights", str(checkpoint), *args]


def line(label: str, runs: list[Run], unit: str = "s") -> str:
    times = [r.seconds for r in runs]
    mem = max(r.peak_mb for r in runs)
    spread = f"median {statistics.median(times):.2f} {unit}, best {min(times):.2f}" if len(runs) > 1 else f"{times[0]:.2f} {unit}"
    return f"  {label:<10} {spread}; peak memory {mem:.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200, help="photos to index (default 200)")
    ap.add_argument("--model", default="ViT-B-32-256", help="only ViT-B-32-256: the one model rclip runs")
    ap.add_argument("--rclip-version", default="4.0.8")
    ap.add_argument("--python", help="a Python >= 3.12 for rclip's venv (default: found on PATH or in pyenv)")
    ap.add_argument("--index-runs", type=int, default=2, help="indexing runs per tool; the best counts (default 2)")
    ap.add_argument("--search-runs", type=int, default=5, help="cold searches per tool (default 5)")
    ap.add_argument("--skip-rclip", action="store_true")
    args = ap.parse_args()

    print(f"# bench_vs_rclip  ({common.machine_line()})")
    if not os.path.exists(TIME):
        raise SystemExit("this benchmark needs GNU time (/usr/bin/time) for peak memory: apt-get install time")
    rclip, why = (None, "skipped (--skip-rclip)") if args.skip_rclip else rclip_peer.ensure_rclip(args.rclip_version, args.python)
    if rclip is None:
        print(f"rclip: not run: {why}")
    else:
        print(f"rclip: {rclip_peer.rclip_version(rclip)} in {rclip.parent.parent}")
    photos = common.generated_photos(args.count)
    checkpoint = common.random_checkpoint(args.model)
    folder = common.temp_dir("bench-vs-rclip-photos-")
    for p in photos:  # the cached folder may hold more photos than --count: link exactly these
        os.symlink(p, folder / p.name)
    mb = sum(p.stat().st_size for p in photos) / len(photos) / 1e6
    print(f"photos: {len(photos)} x 4000x3000 JPEG (mean {mb:.1f} MB); model {args.model}, random weights {checkpoint.name}")
    rclip_model = rclip_peer.exported_model(checkpoint, args.model) if rclip else None

    env = photoclip_env()
    work = common.temp_dir("bench-vs-rclip-")

    # One-time costs a user pays once per machine and model, outside the timings.
    warm_photos = common.temp_dir("bench-vs-rclip-warm-")
    for p in photos[:8]:
        os.symlink(p, warm_photos / p.name)
    warm_db = work / "warm.db"
    checked(timed_process(photoclip_cmd(warm_db, checkpoint, args.model, "add-folder", str(warm_photos)), work, env), "add-folder")
    checked(timed_process(photoclip_cmd(warm_db, checkpoint, args.model, "index"), work, env), "photoclip warm-up index")
    checked(timed_process(photoclip_cmd(warm_db, checkpoint, args.model, "search", "a photo"), work, env), "photoclip warm-up search")

    # -- 1. indexing, whole process --------------------------------------------------
    pc_index: list[Run] = []
    rc_index: list[Run] = []
    db = work / "library.db"
    datadir: Path | None = None
    for n in range(args.index_runs):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(work / "thumbs", ignore_errors=True)
        checked(timed_process(photoclip_cmd(db, checkpoint, args.model, "add-folder", str(folder)), work, env), "add-folder")
        pc_index.append(checked(timed_process(photoclip_cmd(db, checkpoint, args.model, "index"), work, env), "photoclip index"))
        if rclip and rclip_model:
            datadir = rclip_peer.fresh_datadir(rclip_model)
            renv = dict(os.environ, RCLIP_DATADIR=str(datadir))
            rc_index.append(checked(timed_process([str(rclip), "-t", "1", QUERY], folder, renv), "rclip index"))
        peer = f", rclip {rc_index[-1].seconds:.1f} s" if rc_index else ""
        print(f"  index run {n + 1}: photoclip {pc_index[-1].seconds:.1f} s{peer}")

    # -- 2. one text search, fresh process -------------------------------------------
    pc_search: list[Run] = []
    rc_search: list[Run] = []
    for _ in range(args.search_runs):  # interleaved, so a busy moment hits both
        pc_search.append(checked(timed_process(photoclip_cmd(db, checkpoint, args.model, "search", QUERY), work, env), "photoclip search"))
        if rclip and datadir:
            renv = dict(os.environ, RCLIP_DATADIR=str(datadir))
            rc_search.append(checked(timed_process([str(rclip), "--no-indexing", QUERY], folder, renv), "rclip search"))

    n = len(photos)
    best_pc = min(pc_index, key=lambda r: r.seconds)
    print()
    print(f"indexing {n} photos, whole process (best of {args.index_runs}):")
    print(line("photoclip", pc_index) + f"; {n / best_pc.seconds:.2f} images/s")
    if rc_index:
        best_rc = min(rc_index, key=lambda r: r.seconds)
        print(line("rclip", rc_index) + f"; {n / best_rc.seconds:.2f} images/s (its run includes one search)")
    print(f"one text search, fresh process ({args.search_runs} runs):")
    print(line("photoclip", pc_search))
    if rc_search:
        print(line("rclip", rc_search))
    if rc_index and rc_search:
        pc_s, rc_s = statistics.median(r.seconds for r in pc_search), statistics.median(r.seconds for r in rc_search)
        pc_sm, rc_sm = max(r.peak_mb for r in pc_search), max(r.peak_mb for r in rc_search)
        pc_im, rc_im = max(r.peak_mb for r in pc_index), max(r.peak_mb for r in rc_index)
        print()
        print("ratios (photoclip against rclip; > 1 means photoclip is better):")
        print(f"  indexing rate            {best_rc.seconds / best_pc.seconds:.2f}x   (goal >= 1.3x)")
        print(f"  cold search time         {rc_s / pc_s:.2f}x   (goal >= 1x; medians)")
        print(f"  search peak memory       {rc_sm / pc_sm:.2f}x   (photoclip {pc_sm:.0f} MB; goal <= 600 MB)")
        print(f"  indexing peak memory     {rc_im / pc_im:.2f}x   (photoclip {pc_im:.0f} MB; goal <= 1200 MB)")
    print(f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other work slows both tools)")


if __name__ == "__main__":
    main()
