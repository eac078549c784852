"""Indexing on a GPU: JPEGs decoded by the CPU's decode workers vs on the GPU (nvJPEG).

On the same generated 12-megapixel JPEGs, in one run, with a random-weights ViT-B-32-256
(real architecture, real cost) loaded the way a user's side-loaded file is:

1. the bounds: the model alone (photos/s at the batch size, pixels already prepared) and
   the CPU decoders alone (one photo's decode work on one core, times the decode workers);
2. `index_library` into a fresh library, thumbnails made as the CLI makes them, once with
   JPEGs decoded by the CPU's workers (`decode_on_device=False`, the path before) and once
   left whole for the GPU, at each batch size; each after a warm-up pass of its own;
3. how far the two paths' vectors differ, photo for photo (cosine).

It prints figures and ratios and asserts nothing. It needs a CUDA device; `--device cpu
--force` runs the device path through torchvision's CPU decoder instead, to check the
script itself (its speeds then mean nothing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

HOME = common.isolate()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=480, help="photos (default 480)")
    ap.add_argument("--width", type=int, default=4000)
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--model", default="ViT-B-32-256")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--batch-sizes", default="16,64", help="comma-separated (default 16,64; the CLI's default is 16)")
    ap.add_argument("--force", action="store_true", help="take the device path on a CPU (checks the script only)")
    args = ap.parse_args()

    import numpy as np

    from photoclip.core.db import Library
    from photoclip.core.ingest import decoding
    from photoclip.core.ingest.pipeline import index_library
    from photoclip.core.model import ModelChoice, OpenClipEmbedder

    photos = common.generated_photos(args.count, args.width, args.height)
    checkpoint = common.random_checkpoint(args.model)
    embedder = OpenClipEmbedder(ModelChoice(args.model, str(checkpoint), device=args.device, precision=args.precision))
    with common.timed() as load_time:
        embedder.load()
    if args.force:
        embedder.decodes_jpeg_on_device = True
    import torch

    print(f"# bench_gpu_index  ({common.machine_line()})")
    if embedder.device == "cuda":
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    mb = sum(p.stat().st_size for p in photos) / len(photos) / 1e6
    workers = decoding.default_workers()
    print(f"photos: {len(photos)} x {args.width}x{args.height} JPEG (mean {mb:.1f} MB); decode workers: {workers}")
    print(f"model {args.model} on {embedder.device} ({embedder.precision}) loaded in {load_time():.1f} s")
    print(f"JPEGs decoded on the device: {'yes' if embedder.decodes_jpeg_on_device else 'NO (the second path below is the first again)'}")

    def sync() -> None:
        if embedder.device == "cuda":
            torch.cuda.synchronize()

    # -- bounds ---------------------------------------------------------------
    size = embedder.input_size
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    rng = np.random.default_rng(0)
    for batch in batch_sizes:
        pixels = rng.integers(0, 256, size=(batch, size, size, 3), dtype=np.uint8)
        embedder.embed_images(pixels)
        sync()
        start = time.perf_counter()
        rounds = max(3, 512 // batch)
        for _ in range(rounds):
            embedder.embed_images(pixels)
        sync()
        rate = rounds * batch / (time.perf_counter() - start)
        print(f"model alone, batch {batch}: {rate:,.0f} photos/s (pixels prepared, host to device included)")
    costs = []
    for path in photos[:24]:
        st = path.stat()
        item = decoding.WorkItem(0, str(path), st.st_size, st.st_mtime_ns, True)
        start = time.thread_time()
        decoding.decode_item(item, size, None)
        costs.append(time.thread_time() - start)
    cost = statistics.median(costs)
    print(f"CPU decode: {cost * 1000:.0f} core-ms a photo -> at most {workers / cost:,.0f} photos/s on {workers} workers (no thumbnails)")

    if embedder.decodes_jpeg_on_device:
        from photoclip.core.model.jpeg_device import decode_batch

        blobs = [p.read_bytes() for p in photos[:64]]
        for batch in batch_sizes:
            decode_batch(blobs[:batch], [1] * batch, size, embedder.device, [None] * batch)
            sync()
            start = time.perf_counter()
            done = 0
            while done < 128:
                chunk = [blobs[(done + i) % len(blobs)] for i in range(batch)]
                decode_batch(chunk, [1] * batch, size, embedder.device, [320] * batch)
                done += batch
            sync()
            rate = done / (time.perf_counter() - start)
            print(f"device decode alone, batch {batch}: {rate:,.0f} photos/s (bytes in memory; model input and thumbnail made)")

    # -- the pipeline ---------------------------------------------------------
    def index(name: str, paths: list[Path], batch: int, on_device: bool) -> tuple[float, dict[str, np.ndarray], int]:
        folder = common.out_dir("gpu-index", name)  # beside the photos: hard links, no copies
        shutil.rmtree(folder)
        folder.mkdir()
        for p in paths:
            os.link(p, folder / p.name)
        lib = Library(folder / ".library.db")
        try:
            lib.add_folder(folder)
            thumbs = folder / ".thumbs"
            sync()
            start = time.perf_counter()
            passing = index_library(lib, embedder, batch_size=batch, thumbnails=thumbs, decode_on_device=on_device)
            final = None
            for final in passing:  # noqa: B007 - the last event is the summary
                pass
            sync()
            seconds = time.perf_counter() - start
            assert final is not None
            ids, matrix, _ = lib.load_vectors(embedder.model_id)
            paths_of = dict(lib.db.execute("SELECT id, path FROM photos").fetchall())
            vectors = {Path(paths_of[int(i)]).name: row for i, row in zip(ids, matrix)}
            return final.embedded / seconds, vectors, final.skipped
        finally:
            lib.close()

    rates: dict[tuple[int, bool], float] = {}
    kept: dict[bool, dict[str, np.ndarray]] = {}
    for batch in batch_sizes:
        for on_device in (False, True):
            label = "GPU decode" if on_device else "CPU decode"
            index(f"warm-{batch}-{on_device}", photos[:48], batch, on_device)
            rate, vectors, skipped = index(f"{batch}-{on_device}", photos, batch, on_device)
            rates[(batch, on_device)] = rate
            kept[on_device] = vectors
            print(f"index_library, batch {batch}, {label}: {rate:,.1f} photos/s  ({len(vectors)} embedded, {skipped} skipped)")
        print(f"  ratio GPU decode / CPU decode at batch {batch}: {rates[(batch, True)] / rates[(batch, False)]:.2f}x")
    common_names = sorted(kept[True].keys() & kept[False].keys())
    cosines = [float(np.dot(kept[True][n], kept[False][n])) for n in common_names]
    low, middle = min(cosines), statistics.median(cosines)
    print(f"vectors, GPU-decoded vs CPU-decoded, {len(cosines)} photos: cosine min {low:.4f}, median {middle:.4f}")
    best_cpu = max(r for (b, d), r in rates.items() if not d)
    best_gpu = max(r for (b, d), r in rates.items() if d)
    print(f"best: CPU decode {best_cpu:,.1f} photos/s, GPU decode {best_gpu:,.1f} photos/s, ratio {best_gpu / best_cpu:.2f}x")


if __name__ == "__main__":
    main()
