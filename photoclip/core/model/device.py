"""Choosing the device the model runs on: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import ctypes
import importlib.util
import platform
import re
import sys
from pathlib import Path

from photoclip.core.errors import ModelUnavailable


def pick_device(requested: str = "auto") -> str:
    import torch

    if requested not in ("auto", "cpu", "cuda", "mps"):
        raise ModelUnavailable(f"Unknown device {requested!r}: choose auto, cpu, cuda or mps")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("CUDA was requested but no CUDA GPU is available to torch")
    if requested == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ModelUnavailable("Apple MPS was requested but is not available")
    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def expected_device(requested: str = "auto") -> str | None:
    """The device `pick_device(requested)` would choose, told without importing torch (two
    seconds, for `photoclip status`) and without loading a model; None where it cannot tell.

    A torch built without CUDA (its version.py says so) never picks CUDA; one built with it
    picks CUDA when the driver counts a GPU (CUDA_VISIBLE_DEVICES applies there too)."""
    if requested != "auto":
        return requested
    if "torch" in sys.modules:  # imported already: ask it
        try:
            return pick_device(requested)
        except ModelUnavailable:
            return None
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return None
    try:
        version = (Path(spec.origin).parent / "version.py").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    built_for = dict(_BUILD_LINE.findall(version))
    if built_for.get("hip") not in (None, "None"):
        return None  # ROCm: torch.cuda is AMD's there; no cheap way to count its GPUs
    if built_for.get("cuda") not in (None, "None") and _cuda_gpus() > 0:
        return "cuda"
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return "mps"  # Apple silicon (macOS 12.3 or later has MPS; older is rare enough)
    return "cpu"


# `cuda: Optional[str] = '12.1'` or `= None`, in torch/version.py
_BUILD_LINE = re.compile(r"^(cuda|hip)\s*(?::[^=]*)?=\s*['\"]?([^'\"\s]+)", re.MULTILINE)


def _cuda_gpus() -> int:
    """How many GPUs the CUDA driver counts; 0 without a driver."""
    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", "libcuda.so"]
    for name in names:
        try:
            driver = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return count.value
    return 0
