"""Loading a checkpoint into a model one tensor at a time, in the precision it will run in.

open_clip's own load reads the whole checkpoint into memory (600 MB of fp32 for
ViT-B-32), copies it into the model's own fp32 weights (another 600 MB), and photoclip
then converted those to bf16 (300 MB more): ~1.9 GB at the peak for a model that runs
in 300 MB. Here the file is memory-mapped instead (torch's `mmap` load option), each
tensor is converted to the target precision and device as it is read and handed to the
model as its weight (no second fp32 copy), and on Linux the mapped pages of a tensor
that was converted are dropped at once, so the fp32 file is never resident as a whole.

open_clip still does everything else its load does (renaming old layouts, resizing
position embeddings, the strict check that every weight is present): only the two steps
that hold memory are replaced, for this one model and for the duration of the load.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import sys
from typing import Any

from photoclip.core.model.imageonly import is_image_key, remove_text_parts

log = logging.getLogger(__name__)

_PAGE = mmap.PAGESIZE
_SLICE = 8 << 20  # bytes of a mapped tensor read before its pages are dropped


def release_pages(tensor: Any) -> int:
    """Drop the resident pages of a contiguous tensor that lives in a private, read-only
    file mapping (torch.load with mmap=True) and will not be written. Its contents stay
    valid: a later read faults the pages in again from the file. Returns the bytes
    released (0 where the platform offers no such call). Never call it on anonymous
    memory still in use: there the kernel would hand back zeros."""
    if not sys.platform.startswith("linux") or not tensor.is_contiguous():
        return 0
    first = tensor.data_ptr()
    start = -(-first // _PAGE) * _PAGE  # whole pages inside the tensor only
    end = (first + tensor.numel() * tensor.element_size()) // _PAGE * _PAGE
    if end <= start:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), mmap.MADV_DONTNEED) != 0:
        log.debug("madvise failed: errno %d", ctypes.get_errno())
        return 0
    return int(end - start)


def _convert(tensor: Any, dtype: Any, device: str, release: bool) -> Any:
    """`tensor` in `dtype` on `device`; a mapped source is released as it is read, in slices
    of about _SLICE bytes, so even the largest tensor (the token embedding, 100 MB in fp32)
    is never wholly resident beside its copy."""
    if not release or tensor.dim() == 0 or not tensor.is_contiguous():
        return tensor.to(device=device, dtype=dtype, copy=True)
    out = torch_empty_like(tensor, dtype, device)
    row_bytes = max(1, tensor[0].numel() * tensor.element_size())
    step = max(1, _SLICE // row_bytes)
    for first in range(0, tensor.shape[0], step):
        part = tensor[first : first + step]
        out[first : first + step].copy_(part)
        release_pages(part)
    return out


def torch_empty_like(tensor: Any, dtype: Any, device: str) -> Any:
    import torch

    return torch.empty(tensor.shape, dtype=dtype, device=device)


def mappable(path: str) -> bool:
    """Whether torch can memory-map this checkpoint (its zip format; not safetensors or .npz)."""
    import zipfile

    return not path.lower().endswith((".safetensors", ".npz", ".npy")) and zipfile.is_zipfile(path)


def load_converted(model: Any, checkpoint: str, dtype: Any, device: str, *, image_only: bool = False) -> None:
    """Load `checkpoint` into `model` (built without random initial weights) with every
    floating-point tensor converted to `dtype` on `device` as it is read.

    `image_only`: the text tower's weights are let go of unread and its parts removed from
    the model (see imageonly.py), after open_clip's loader has checked and adapted the
    whole checkpoint against the whole model.

    Every weight is a copy of its own (also in fp32): nothing refers to the file once the
    load is done. Raises what
    open_clip's load raises (a missing or misshapen weight among them).
    """
    import torch
    from open_clip.factory import load_checkpoint
    from torch.utils.serialization import config

    mapped = mappable(checkpoint)

    def place(state_dict: dict[str, Any], strict: bool = True, assign: bool = False) -> Any:
        placed = {}
        if image_only:
            remove_text_parts(model)
        for key in list(state_dict):
            tensor = state_dict.pop(key)  # the dict lets go of it: freed once converted
            if image_only and not is_image_key(key):
                continue  # never copied: a mapped tensor's pages are not even read
            wanted = dtype if tensor.is_floating_point() else tensor.dtype
            # A mapped tensor is always copied: weights left in the mapping would change, or
            # fault (SIGBUS), if the user replaced or truncated the file while the model runs.
            copied = mapped or wanted != tensor.dtype or torch.device(device) != tensor.device
            placed[key] = _convert(tensor, wanted, device, release=mapped) if copied else tensor
        # assign: the converted tensors become the weights; the unfilled ones built are freed.
        return torch.nn.Module.load_state_dict(model, placed, strict=strict, assign=True)

    model.load_state_dict = place  # an instance attribute: only this model's load changes
    previous = config.load.mmap
    config.load.mmap = mapped
    try:
        load_checkpoint(model, checkpoint, strict=True)
    finally:
        config.load.mmap = previous
        del model.load_state_dict
    # Buffers not in the checkpoint (the text tower's causal mask) follow the weights.
    model.to(device=device, dtype=dtype)
