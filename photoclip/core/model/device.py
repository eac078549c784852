"""Choosing the device the model runs on: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

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
