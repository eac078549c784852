"""embed-archive on this machine's local Ray: photos/s with 1 and 2 embedding workers, against `index`.

For each model (the tests' tiny one, and a random-weights ViT-B-32-256: the default's real
compute cost), the same generated 12-MP JPEGs are embedded by `index_library` (the
baseline, in this process) and by `embed_archive` with 1 and 2 Ray workers (decode tasks
on the other CPUs). Printed per run: total photos/s (actor start-up and model load
included) and the ratio to `index`. Then the per-worker rates a cluster scales from,
timed around the very callables Ray runs (`decode_files` on one core, `EmbedWorker` with
its model loaded), without Ray's start-up: photos/s per decode core and per embedding
worker, and README.md's 10M-photo estimate worked out with the decode rate measured here.

    .venv/bin/python benchmarks/bench_archive.py --quick    # ~3 min on 2 cores
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import generated_photos, isolate, machine_line, random_checkpoint, temp_dir

isolate()
ROOT = Path(__file__).resolve().parents[1]


def tiny_checkpoint() -> tuple[str, Path]:
    import os

    import open_clip
    import torch

    configs = ROOT / "tests" / "data" / "model-configs"
    os.environ["PHOTOCLIP_MODEL_CONFIGS"] = str(configs)
    open_clip.add_model_config(str(configs))
    torch.manual_seed(0)
    target = temp_dir("bench-archive-tiny-") / "photoclip-tiny.pt"
    torch.save(open_clip.create_model("photoclip-tiny", pretrained=None).state_dict(), target)
    return "photoclip-tiny", target


def index_rate(photos: Path, choice: object) -> float:
    from photoclip.core.db import Library
    from photoclip.core.ingest.pipeline import index_library
    from photoclip.core.model import OpenClipEmbedder

    embedder = OpenClipEmbedder(choice).load()  # type: ignore[arg-type]
    lib = Library(temp_dir("bench-archive-lib-") / "library.db")
    lib.add_folder(photos)
    start = time.perf_counter()
    for _ in index_library(lib, embedder, batch_size=16):
        pass
    elapsed = time.perf_counter() - start
    lib.close()
    embedder.unload()
    return sum(1 for _ in photos.iterdir()) / elapsed


def archive_rate(photos: Path, choice: object, workers: int, batch: int) -> float:
    import os

    import ray

    from photoclip.core.archive.pipeline import ArchiveJob, embed_archive, plan_resources
    from photoclip.core.model import OpenClipEmbedder

    probe = OpenClipEmbedder(choice).load()  # type: ignore[arg-type]
    model_id, dim, size = probe.model_id, probe.dim, probe.input_size
    probe.unload()
    resources = plan_resources(ray.cluster_resources(), workers, None)
    env = {k: v for k, v in os.environ.items() if k.startswith(("PHOTOCLIP_", "HF_"))}
    out = temp_dir("bench-archive-out-") / "archive"
    job = ArchiveJob([str(photos)], out, choice, model_id, dim, size, resources, batch, batch, env)  # type: ignore[arg-type]
    start = time.perf_counter()
    done = 0
    for event in embed_archive(job):
        done = event.done
    return done / (time.perf_counter() - start)


def worker_rates(photos: Path, choice: object, batch: int) -> tuple[float, float]:
    """(photos/s of one decode core, photos/s of one embedding worker), each timed around
    the callable Ray runs; the model load is not timed (a long run pays it once)."""
    import torch

    from photoclip.core.archive.pipeline import list_work
    from photoclip.core.archive.tasks import EmbedWorker, decode_files
    from photoclip.core.model import OpenClipEmbedder

    probe = OpenClipEmbedder(choice).load()  # type: ignore[arg-type]
    model_id, dim, size = probe.model_id, probe.dim, probe.input_size
    probe.unload()
    listing, _ = list_work([str(photos)], {}, [])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a decode task has one core; torch's pool is not used by decoding, but be sure
    start = time.perf_counter()
    decoded = [decode_files(listing.slice(i, batch), size) for i in range(0, listing.num_rows, batch)]
    decode_rate = listing.num_rows / (time.perf_counter() - start)
    torch.set_num_threads(threads)
    worker = EmbedWorker(choice, model_id, dim)  # type: ignore[arg-type]
    worker(decoded[0])  # the first call sets up the model's kernels
    start = time.perf_counter()
    for table in decoded:
        worker(table)
    embed_rate = listing.num_rows / (time.perf_counter() - start)
    worker.embedder.unload()
    return decode_rate, embed_rate


def print_estimate(decode_rate: float) -> None:
    """README.md's 10M estimate: N nodes x min(GPU rate, cores x decode rate per core)."""
    print(f"\n10M photos, rate = nodes x min(GPU photos/s, cores x {decode_rate:.1f} decoded photos/s per core):")
    for nodes, cores, gpu in ((1, 16, 3000), (1, 64, 3000), (8, 32, 3000), (8, 32, 6000)):
        rate = nodes * min(gpu, cores * decode_rate)
        print(f"  {nodes} node(s) x {cores} cores, GPU {gpu}/s each: {rate:,.0f} photos/s, 10M in {1e7 / rate / 3600:.1f} h")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="32 photos, batch 8 (default: 96 photos, batch 16)")
    parser.add_argument("--models", default="tiny,vit", help="tiny, vit or both (default)")
    args = parser.parse_args()
    count, batch = (32, 8) if args.quick else (96, 16)
    import ray

    from photoclip.core.model import ModelChoice

    photos = temp_dir("bench-archive-photos-") / "photos"
    photos.mkdir()
    for source in generated_photos(count):
        shutil.copy2(source, photos / source.name)
    ray.init(include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False
    print(machine_line())
    print(f"{count} generated 4000x3000 JPEGs; Ray {ray.__version__} with {ray.cluster_resources().get('CPU', 0):g} CPUs; batch {batch}")
    print(f"{'model':<16} {'run':<22} {'photos/s':>9} {'vs index':>9}")
    for name in args.models.split(","):
        model, weights = tiny_checkpoint() if name == "tiny" else ("ViT-B-32-256", random_checkpoint())
        choice = ModelChoice(model, str(weights), device="cpu")
        base = index_rate(photos, choice)
        print(f"{model:<16} {'index (baseline)':<22} {base:9.2f} {1.0:8.2f}x", flush=True)
        for workers in (1, 2):
            total = archive_rate(photos, choice, workers, batch)
            label = f"ray, {workers} worker{'s' if workers > 1 else ''}"
            print(f"{model:<16} {label:<22} {total:9.2f} {total / base:8.2f}x", flush=True)
        decode_rate, embed_rate = worker_rates(photos, choice, batch)
        print(f"{model:<16} {'decode, per core':<22} {decode_rate:9.2f}", flush=True)
        print(f"{model:<16} {'embed, per worker':<22} {embed_rate:9.2f}", flush=True)
    ray.shutdown()
    print_estimate(decode_rate)


if __name__ == "__main__":
    main()
