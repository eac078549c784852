"""Scoring many labels at once against the library, versus one label at a time; then a whole tagging run.

    .venv/bin/python benchmarks/bench_tagging.py [--photos 100000] [--labels 200] [--dim 512] [--skip-e2e]

Part 1 (in memory): both ways run in the same process on the same random unit vectors,
so the ratio is what matters; the issue's target is the one-pass time under 1 s on this CPU.

Part 2 (end to end, `--skip-e2e` to leave out): a real SQLite library in a temp dir with
the same number of photos and labels (see tag_library.py for how the vectors are drawn
so that each photo matches 1-3 labels), a FakeEmbedder as the model, and
`tagging.run_to_end(tagging.apply_labels(lib, embedder))` timed: a first run (embeds
and caches the prompts), a second (text vectors cached, every auto tag rewritten), and
a run with `_write_tags` replaced by a no-op (the same run without the database writes).
Each run's time is split by wrapping the functions apply_labels calls.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

common.isolate()  # before photoclip: PHOTOCLIP_HOME in a temp dir, hub offline

from photoclip.core import tagging  # noqa: E402
from photoclip.core.db import Library  # noqa: E402
from photoclip.core.model import FakeEmbedder, normalize  # noqa: E402
from photoclip.core.tagging import CHUNK_SIZE, LabelVectors, decide, score_matrix  # noqa: E402


def one_pass(photos: np.ndarray, labels: np.ndarray, chunk_size: int) -> np.ndarray:
    """How apply_labels scores: one (chunk x labels) matrix product per chunk of photos."""
    best = np.empty(len(photos), np.float32)
    for start, scores in score_matrix(photos, labels, chunk_size):
        best[start : start + len(scores)] = scores.max(axis=1)
    return best


def apply_path(photos: np.ndarray, lv: LabelVectors, thresholds: np.ndarray, chunk_size: int) -> int:
    """The whole decision of apply_labels, minus the database: scores, background rule, thresholds."""
    tagged = 0
    for _, scores in score_matrix(photos, lv.stacked(), chunk_size):
        label_scores, text_scores, background = lv.split(scores)
        tagged += int(decide(label_scores, text_scores, background, thresholds).sum())
    return tagged


def label_by_label(photos: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The naive way: a matrix-vector product over the whole library for each label."""
    best = np.full(len(photos), -np.inf, np.float32)
    for vector in labels:
        np.maximum(best, photos @ vector, out=best)
    return best


def timed(fn, repeat: int) -> tuple[float, np.ndarray]:
    fn()  # warm-up: page in the matrices, start BLAS threads
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000, result


# -- end to end -------------------------------------------------------------------

PHASES = ("label_vectors", "stats_for", "store_thresholds", "rejected_pairs", "_write_tags")
RUN = tagging.apply  # the module apply_labels lives in: the names it calls are looked up there


class PhaseClock:
    """Wraps the module functions apply_labels calls (and the library's load_vectors) to sum their time."""

    def __init__(self, lib: Library, no_writes: bool = False) -> None:
        self.lib, self.no_writes = lib, no_writes
        self.seconds: dict[str, float] = defaultdict(float)
        self.saved: dict[str, object] = {}

    def _wrap(self, name: str, fn):
        def timed_call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start

        return timed_call

    def __enter__(self) -> PhaseClock:
        for name in PHASES:
            self.saved[name] = getattr(RUN, name)
            fn = self.saved[name]
            if name == "_write_tags" and self.no_writes:
                fn = lambda lib, photo_ids, label_ids, *rest: np.zeros(len(label_ids), np.int64)  # noqa: E731
            setattr(RUN, name, self._wrap(name, fn))
        self.lib.load_vectors = self._wrap("load_vectors", self.lib.load_vectors)  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        for name, fn in self.saved.items():
            setattr(RUN, name, fn)
        del self.lib.load_vectors


def end_to_end(photos: int, labels: int, dim: int, chunk: int, scoring_ms: float) -> None:
    import tag_library

    print(f"\nend to end: apply_labels on a SQLite library, {labels} labels x {photos:,} photos, dim {dim}, FakeEmbedder")
    work = common.temp_dir("photoclip-bench-tagging-")
    folder = work / "photos"
    folder.mkdir()
    emb = FakeEmbedder(dim=dim, model_id=f"fake-{dim}")
    built = tag_library.build(work / "library.db", folder, emb, photos, labels)
    runs = [
        ("first run (prompts embedded)", False),
        ("second run (cached; tags rewritten)", False),
        ("no DB writes (_write_tags no-op)", True),
    ]
    totals: list[float] = []
    writes: list[float] = []
    with Library(built.db_path) as lib:
        for what, no_writes in runs:
            texts_before = emb.texts_embedded
            with PhaseClock(lib, no_writes) as clock, common.timed() as t:
                counts = tagging.run_to_end(tagging.apply_labels(lib, emb, chunk_size=chunk))
            seconds = t()
            totals.append(seconds)
            s = clock.seconds
            writes.append(s["_write_tags"])
            rest = seconds - sum(s.values())
            written = sum(counts.values())
            in_db = lib.conn.execute("SELECT COUNT(*) FROM tags WHERE source = 'auto'").fetchone()[0]
            print(
                f"  {what}: {seconds:6.2f} s; auto tags {'counted' if no_writes else 'written'} {written:,} "
                f"({written / photos:.2f} per photo; {in_db:,} in the library); prompts embedded {emb.texts_embedded - texts_before:,}"
            )
            print(
                f"     load_vectors {s['load_vectors']:.2f} s, label_vectors {s['label_vectors']:.2f} s, "
                f"calibration {s['stats_for']:.2f} s, store thresholds {s['store_thresholds']:.2f} s, "
                f"_write_tags {s['_write_tags']:.2f} s, scoring + decision + the rest {rest:.2f} s"
            )
    full, no_db = totals[1], totals[2]
    print(
        f"  DB writes (_write_tags, timed in the cached run): {writes[1]:.2f} s of {full:.2f} s ({writes[1] / full:.0%}); "
        f"the run without them {no_db:.2f} s (difference {full - no_db:.2f} s)"
    )
    print(
        f"  ratio to the in-memory decision path ({scoring_ms:.0f} ms): cached run {full * 1000 / scoring_ms:.1f}x, "
        f"first run {totals[0] * 1000 / scoring_ms:.1f}x, without DB writes {no_db * 1000 / scoring_ms:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--chunk", type=int, default=CHUNK_SIZE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-e2e", action="store_true", help="leave out the end-to-end run on a SQLite library")
    args = parser.parse_args()
    print("bench_tagging:", common.machine_line())

    rng = np.random.default_rng(0)
    photos = normalize(rng.standard_normal((args.photos, args.dim), dtype=np.float32))
    labels = normalize(rng.standard_normal((args.labels, args.dim), dtype=np.float32))

    batched_ms, batched = timed(lambda: one_pass(photos, labels, args.chunk), args.repeat)
    single_ms, single = timed(lambda: label_by_label(photos, labels), args.repeat)
    assert np.allclose(batched, single, atol=1e-4), "the two ways must agree"

    # As in a real run: a tenth of the labels moved by feedback, eight background prompts.
    moved = labels.copy()
    moved[::10] = normalize(moved[::10] + 0.5 * photos[: len(moved[::10])])
    lv = LabelVectors([], moved, labels, normalize(rng.standard_normal((8, args.dim), dtype=np.float32)))
    thresholds = np.full(args.labels, 0.1, np.float32)
    apply_ms, _ = timed(lambda: apply_path(photos, lv, thresholds, args.chunk), args.repeat)

    print(f"{args.labels} labels x {args.photos} photos, dim {args.dim}, chunk {args.chunk} (best of {args.repeat})")
    print(f"  one pass (photos x labels, chunked): {batched_ms:8.1f} ms")
    print(f"  one label at a time:                 {single_ms:8.1f} ms")
    print(f"  ratio (one at a time / one pass):    {single_ms / batched_ms:8.1f}x")
    print(f"  apply_labels' decision path:         {apply_ms:8.1f} ms  (scores + background rule + thresholds)")
    del photos, labels, moved, lv
    if not args.skip_e2e:
        end_to_end(args.photos, args.labels, args.dim, args.chunk, apply_ms)


if __name__ == "__main__":
    main()
