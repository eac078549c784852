"""Building a model whose weights come from a checkpoint, without first filling it with
random numbers that the checkpoint then overwrites.

open_clip builds the architecture with random initial weights (about a second of CPU
for ViT-B-32) and only then loads the checkpoint, strictly: every parameter must be in
the file, or the load fails. So while such a model is built, torch.nn.init's random
fills can do nothing; tensors are still allocated, and buffers computed outside
torch.nn.init (the text tower's causal mask) are made as usual.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The fills that draw random numbers; constant fills (zeros_, ones_) are cheap and kept.
RANDOM_FILLS = (
    "uniform_",
    "normal_",
    "trunc_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "xavier_uniform_",
    "xavier_normal_",
    "orthogonal_",
)
_lock = threading.Lock()  # the patch is process-wide: one model built this way at a time


def _unfilled(tensor: Any, *args: Any, **kwargs: Any) -> Any:
    return tensor


@contextmanager
def no_random_init() -> Iterator[None]:
    """Within: torch.nn.init's random fills leave tensors as allocated. Use only around
    building a model that a strict checkpoint load completes."""
    import torch

    with _lock:
        saved = {name: getattr(torch.nn.init, name) for name in RANDOM_FILLS if hasattr(torch.nn.init, name)}
        try:
            for name in saved:
                setattr(torch.nn.init, name, _unfilled)
            yield
        finally:
            for name, fill in saved.items():
                setattr(torch.nn.init, name, fill)


def strict_checkpoint(path: str) -> bool:
    """Whether open_clip loads this file strictly (its big_vision .npz path does not)."""
    return not path.lower().endswith((".npz", ".npy"))
