"""Embedding label prompts: the trimmed text path vs open_clip's full-context path.

    .venv/bin/python benchmarks/bench_prompts.py [--model ViT-B-32-256] [--prompts 256]

A first tagging run embeds every label's prompt ensemble (17 templates plus the
label's descriptions): 200 labels are ~3,400 prompts. Both paths run in the same
process on the same prompts with a random-weights checkpoint of a real architecture
(the cost does not depend on the weights); the agreement of their vectors is printed
with the ratio. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32-256")
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    common.isolate()
    print("bench_prompts:", common.machine_line())

    import torch

    from photoclip.core import tagging
    from photoclip.core.model import ModelChoice, OpenClipEmbedder, normalize

    checkpoint = common.random_checkpoint(args.model)
    embedder = OpenClipEmbedder(ModelChoice(args.model, str(checkpoint), "cpu", "auto")).load()
    names = [f"label {n}" for n in range(args.prompts)]
    prompts = [p for name in names for p in tagging.prompts_for(name, ["a short description of it"])][: args.prompts]

    def full() -> np.ndarray:
        with torch.inference_mode():
            return normalize(embedder._model.encode_text(embedder._tokenizer(prompts)).float().numpy())

    def trimmed() -> np.ndarray:
        return embedder.embed_texts(prompts)

    timings = {}
    outputs = {}
    for name, fn in (("full context (open_clip)", full), ("trimmed (photoclip)", trimmed)):
        fn()  # warm-up
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            outputs[name] = fn()
            best = min(best, time.perf_counter() - start)
        timings[name] = best
    agreement = float(np.min(np.sum(outputs["full context (open_clip)"] * outputs["trimmed (photoclip)"], axis=1)))
    per_label = len(tagging.prompts_for("x", ["a description"]))
    print(f"{args.model} on cpu ({embedder.precision}), {len(prompts)} label prompts, best of {args.repeat}")
    for name, seconds in timings.items():
        ms = 1000 * seconds / len(prompts)
        print(f"  {name:26s} {ms:6.1f} ms/prompt;  200 labels x {per_label} prompts: ~{200 * per_label * ms / 1000:5.0f} s")
    print(
        f"  ratio (full / trimmed):    {timings['full context (open_clip)'] / timings['trimmed (photoclip)']:6.1f}x;"
        f"  min cosine between the two: {agreement:.6f}  (trimmed path in use: {embedder._trimmed})"
    )


if __name__ == "__main__":
    main()
