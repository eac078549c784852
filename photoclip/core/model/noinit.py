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
import types
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


def _holders(torch: Any) -> list[Any]:
    """torch.nn.init and the torch.nn modules that bound its fills by name at import time
    (MultiheadAttention calls its own `xavier_uniform_`: patching torch.nn.init alone left
    a quarter of a ViT's weights filled, and resident, for nothing)."""
    import sys

    holders = [torch.nn.init]
    holders += [module for name, module in list(sys.modules.items()) if name.startswith("torch.nn.modules.") and module is not None]
    return holders


@contextmanager
def no_random_init() -> Iterator[None]:
    """Within: torch.nn.init's random fills leave tensors as allocated. Use only around
    building a model that a strict checkpoint load completes."""
    import torch

    with _lock:
        fills = {getattr(torch.nn.init, name): name for name in RANDOM_FILLS if hasattr(torch.nn.init, name)}
        saved: list[tuple[Any, str, Any]] = []
        try:
            for holder in _holders(torch):
                for attr, value in list(vars(holder).items()):
                    if isinstance(value, types.FunctionType) and fills.get(value) == attr:
                        saved.append((holder, attr, value))
                        setattr(holder, attr, _unfilled)
            yield
        finally:
            for holder, attr, value in reversed(saved):
                setattr(holder, attr, value)


def strict_checkpoint(path: str) -> bool:
    """Whether open_clip loads this file strictly (its big_vision .npz path does not)."""
    return not path.lower().endswith((".npz", ".npy"))
