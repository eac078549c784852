"""Shared helpers for the benchmark scripts: isolation, generated photos, a random-weights model.

Every script calls `isolate()` before importing photoclip, so that nothing touches the
real home (PHOTOCLIP_HOME goes to a temp dir) and nothing tries the network.
Generated files are cached under benchmarks/out/ (git-ignored) and reused.
"""

from __future__ import annotations

import atexit
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def isolate() -> Path:
    """Point photoclip's home at a fresh temp dir and keep the hub offline. Call before imports."""
    home = Path(tempfile.mkdtemp(prefix="photoclip-bench-home-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["PHOTOCLIP_HOME"] = str(home)
    for var in ("PHOTOCLIP_DB", "PHOTOCLIP_CACHE", "PHOTOCLIP_MODEL", "PHOTOCLIP_WEIGHTS"):
        os.environ.pop(var, None)
    os.environ["HF_HUB_OFFLINE"] = "1"
    # A user's Python keeps compiled modules (__pycache__); with this set (as on the
    # machines these benchmarks were first run on) every process would compile photoclip's
    # ~90 modules again, ~0.15 s that no user pays and that a peer installed by pip never pays.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.path.insert(0, str(HERE.parent))
    return home


def temp_dir(prefix: str) -> Path:
    """A temp dir removed when the script exits."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def out_dir(*parts: str) -> Path:
    path = OUT.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def machine_line() -> str:
    """One line on what ran the benchmark, printed at the top of every script."""
    import numpy as np

    torch = sys.modules.get("torch")  # only if the benchmark uses it: importing it takes seconds
    torch_part = f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""
    blas = os.environ.get("OPENBLAS_CORETYPE")
    blas_part = f", OPENBLAS_CORETYPE={blas}" if blas else ""
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores{load}; Python {platform.python_version()}, "
        f"numpy {np.__version__}{torch_part}{blas_part}"
    )


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """`with timed() as t: ...; t()` gives the seconds the block took."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def best_of(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """Fastest wall time of `repeat` calls after `warmup` untimed ones, in seconds."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


# -- generated photos ---------------------------------------------------------


def _make_photo(args: tuple[str, int, int, int, int]) -> int:
    """One camera-like JPEG: smooth colour fields, shapes with hard edges, sensor-like noise, EXIF."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    path, seed, width, height, quality = args
    rng = np.random.default_rng(seed)
    # Smooth gradients: a tiny random colour field blown up with bicubic interpolation.
    base = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(base, "RGB").resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    scale = width / 4000
    for _ in range(int(rng.integers(25, 45))):
        x0, y0 = int(rng.integers(-width // 4, width)), int(rng.integers(-height // 4, height))
        w, h = int(rng.integers(40, width // 2)), int(rng.integers(40, height // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        elif kind == 1:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            draw.line((x0, y0, x0 + w, y0 + h), fill=colour, width=max(1, int(rng.integers(2, 40) * scale)))
    # Soften the edges a little (a lens is not a vector renderer), then add texture and sensor noise.
    img = img.filter(ImageFilter.GaussianBlur(1.2 * scale + 0.3))
    arr = np.asarray(img, dtype=np.int16)
    texture = rng.integers(0, 256, size=(height // 16 + 1, width // 16 + 1), dtype=np.uint8)
    texture = np.asarray(Image.fromarray(texture, "L").resize((width, height), Image.Resampling.BILINEAR), dtype=np.int16)
    noise = rng.integers(-9, 10, size=arr.shape, dtype=np.int16)
    arr = arr + noise + ((texture - 128) // 6)[:, :, None]
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif[0x0110] = "BenchCam Model 1"
    exif[0x0132] = f"2024:0{1 + seed % 9}:1{seed % 10} 12:{seed % 60:02d}:00"
    exif.get_ifd(0x8769)[0x9003] = exif[0x0132]
    tmp = path + ".tmp"
    img.save(tmp, "JPEG", quality=quality, exif=exif.tobytes())
    os.replace(tmp, path)
    return os.path.getsize(path)


def generated_photos(
    count: int, width: int = 4000, height: int = 3000, quality: int = 90, seed: int = 0, log: Callable[[str], None] = print
) -> list[Path]:
    """`count` generated JPEGs of width x height, made once and cached in benchmarks/out/."""
    folder = out_dir(f"photos-{width}x{height}-q{quality}-s{seed}")
    paths = [folder / f"IMG_{i:05d}.jpg" for i in range(count)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        log(f"generating {len(missing)} {width}x{height} JPEGs in {folder} (once; cached for later runs) ...")
        start = time.perf_counter()
        jobs = [(str(p), seed * 1_000_003 + int(p.stem[4:]), width, height, quality) for p in missing]
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for _ in pool.map(_make_photo, jobs, chunksize=4):
                pass
        log(f"  made in {time.perf_counter() - start:.0f} s")
    return paths


def tiny_jpeg_bytes(seed: int, size: int = 16) -> bytes:
    """A small, valid, distinct JPEG (for the rescan benchmark's many files)."""
    import io

    import numpy as np
    from PIL import Image

    arr = np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, "JPEG", quality=80)
    return buf.getvalue()


# -- model ----------------------------------------------------------------------


def random_checkpoint(model_name: str = "ViT-B-32-256", log: Callable[[str], None] = print) -> Path:
    """A random-weights checkpoint of a real architecture (real cost, no download), cached."""
    target = out_dir("models") / f"{model_name}-random.pt"
    if not target.exists():
        import open_clip
        import torch

        log(f"building a random-weights {model_name} checkpoint at {target} (once) ...")
        torch.manual_seed(0)
        model = open_clip.create_model(model_name, pretrained=None)
        tmp = target.with_suffix(".tmp")
        torch.save(model.state_dict(), tmp)
        os.replace(tmp, target)
    return target
