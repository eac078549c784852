"""Rescan of an unchanged library: files per second, vs a bare os.walk + os.stat of the same tree.

A tree of 10k small, valid, distinct JPEGs (100 folders of 100 by default) is made once
under benchmarks/out/. A fresh library catalogues it once (`index_library(lib, None)`:
a scan that only stats, then metadata and fingerprints
in the decode workers, no model). Then, with nothing changed on disk:

- `scan_library` alone (the reconciliation with the database), and
- a whole `index_library(lib, None)` run (scan plus the pending-work query, finding nothing),

each timed as the best of --repeat runs, against the best of the same number of bare
`os.walk` + `os.stat` passes over the tree (the floor for any rescan that looks at every
file). The OS cache is warm for all of them. Prints rates and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

HOME = common.isolate()


def make_tree(files: int, per_folder: int) -> Path:
    root = common.out_dir(f"rescan-{files}-{per_folder}")
    marker = root / ".complete"
    if marker.exists():
        return root
    print(f"making {files} small JPEGs under {root} (once) ...")
    for i in range(files):
        folder = root / f"{2000 + i // (per_folder * 12)}" / f"album-{i // per_folder:04d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"IMG_{i:06d}.jpg").write_bytes(common.tiny_jpeg_bytes(i))
    marker.write_text("ok\n")
    return root


def bare_walk(root: Path) -> int:
    n = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if name.startswith("."):
                continue  # our own marker file; photoclip skips hidden files too
            os.stat(os.path.join(dirpath, name))
            n += 1
    return n


def best(fn, repeat: int) -> tuple[float, object]:
    result, best_time = None, float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best_time = min(best_time, time.perf_counter() - start)
    return best_time, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--per-folder", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    from photoclip.core.db import Library
    from photoclip.core.ingest.pipeline import index_library
    from photoclip.core.ingest.scan import scan_library

    print(f"# bench_rescan  ({common.machine_line()})")
    root = make_tree(args.files, args.per_folder)
    with tempfile.TemporaryDirectory(prefix="bench-rescan-") as tmp:
        lib = Library(Path(tmp) / "library.db")
        lib.add_folder(root)
        start = time.perf_counter()
        last = None
        for event in index_library(lib, None):
            last = event
        first = time.perf_counter() - start
        print(
            f"first catalogue (scan, then fingerprints + metadata, no model): {last.catalogued} photos in {first:.1f} s "
            f"= {last.catalogued / first:,.0f} files/s"
        )

        def rescan() -> int:
            gen = scan_library(lib)
            try:
                while True:
                    next(gen)
            except StopIteration as stop:
                result = stop.value
            assert result.new == result.changed == result.missing == result.moved == 0, result
            return result.seen

        def reindex() -> int:
            final = None
            for event in index_library(lib, None):
                final = event
            assert final.done == 0, final
            return final.seen

        walk_t, walk_n = best(lambda: bare_walk(root), args.repeat)
        scan_t, scan_n = best(rescan, args.repeat)
        index_t, index_n = best(reindex, args.repeat)
        lib.close()
    print(f"bare os.walk + os.stat:            {walk_n:>6} files in {walk_t * 1000:7.1f} ms = {walk_n / walk_t:>9,.0f} files/s")
    print(
        f"rescan (scan_library, unchanged):  {scan_n:>6} files in {scan_t * 1000:7.1f} ms = {scan_n / scan_t:>9,.0f} files/s"
        f"   ({scan_t / walk_t:.2f}x the bare walk's time)"
    )
    print(
        f"rescan (index_library(lib, None)): {index_n:>6} files in {index_t * 1000:7.1f} ms = {index_n / index_t:>9,.0f} files/s"
        f"   ({index_t / walk_t:.2f}x the bare walk's time)"
    )
    print(f"(best of {args.repeat} runs each, warm OS cache)")


if __name__ == "__main__":
    main()
