"""Choosing the device the model runs on: CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import ctypes
import importlib.util
import platform
import re
import sys
import threading
from pathlib import Path

from photoclip.core import paths
from photoclip.core.errors import ModelUnavailable

# torch/version.py is a few hundred bytes; `status` must answer whatever sits in its place.
MAX_VERSION_FILE = 1 << 20
# The driver's cuInit takes under a second on a sound system; a wedged GPU or driver can
# hold it for minutes, and `status` must not wait for it: past this, "cannot tell".
DRIVER_PROBE_SECONDS = 5.0


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
        # Non-blocking and bounded: a named pipe there hung `status`, a huge file filled memory.
        version = paths.read_regular_file(Path(spec.origin).parent / "version.py", MAX_VERSION_FILE).decode("utf-8", "replace")
    except (OSError, paths.NotAPlainFile):
        return None
    built_for = dict(_BUILD_LINE.findall(version))
    if built_for.get("hip") not in (None, "None"):
        return None  # ROCm: torch.cuda is AMD's there; no cheap way to count its GPUs
    if built_for.get("cuda") not in (None, "None"):
        gpus = _cuda_gpus_within(DRIVER_PROBE_SECONDS)
        if gpus is None:
            return None
        if gpus > 0:
            return "cuda"
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return "mps"  # Apple silicon (macOS 12.3 or later has MPS; older is rare enough)
    return "cpu"


# `cuda: Optional[str] = '12.1'` or `= None`, in torch/version.py
_BUILD_LINE = re.compile(r"^(cuda|hip)\s*(?::[^=]*)?=\s*['\"]?([^'\"\s]+)", re.MULTILINE)


def _cuda_gpus_within(seconds: float) -> int | None:
    """`_cuda_gpus()`, or None when the driver has not answered in `seconds` or failed.

    Asked in a daemon thread (ctypes lets go of the GIL during the call): a driver that
    never answers is left behind, and the process can still exit."""
    answer: list[int] = []

    def probe() -> None:
        try:
            answer.append(_cuda_gpus())
        except Exception:  # a driver library of another shape (no cuInit): cannot tell
            pass

    thread = threading.Thread(target=probe, name="photoclip-cuda-probe", daemon=True)
    thread.start()
    thread.join(seconds)
    return answer[0] if answer else None


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
