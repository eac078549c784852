"""Loading weights converted as they are read: the same model as open_clip's own load
converted afterwards, and a memory-mapped checkpoint that is not left resident."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from photoclip.core.model import ModelChoice, OpenClipEmbedder
from photoclip.core.model.streamload import load_converted, mappable, release_pages

pytestmark = pytest.mark.slow
TINY = "photoclip-tiny"


def _resident_kib(path: Path) -> int:
    """Resident KiB of this process's mappings of `path` (Linux)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
            inside = len(fields) >= 6 and fields[5] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_same_weights_as_open_clips_load_then_converted(tiny_weights: Path, precision: str) -> None:
    import open_clip
    import torch

    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    ours = OpenClipEmbedder(ModelChoice(TINY, str(tiny_weights), device="cpu", precision=precision)).load()
    reference = open_clip.create_model(TINY, pretrained=str(tiny_weights)).eval().to(dtype)
    theirs = reference.state_dict()
    mine = ours._model.state_dict()
    assert mine.keys() == theirs.keys()
    for name, value in theirs.items():
        assert mine[name].dtype == value.dtype and torch.equal(mine[name], value), name
    assert ours.dim == int(reference.encode_text(open_clip.get_tokenizer(TINY)(["a"])).shape[-1])
    with torch.inference_mode():
        pixels = torch.rand(2, 3, 64, 64).to(dtype)
        expected = reference.encode_image(pixels).float().numpy()
        got = ours._model.encode_image(pixels).float().numpy()
    np.testing.assert_array_equal(got, expected)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps; pages are released on Linux only")
def test_released_pages_leave_memory_and_read_back_the_same(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "big.pt"
    torch.save({"w": torch.arange(8 << 20, dtype=torch.float32)}, path)  # 32 MiB
    assert mappable(str(path))
    mapped = torch.load(path, mmap=True, weights_only=True)["w"]
    expected_sum = float(mapped.double().sum())  # reads every page
    assert _resident_kib(path) > 30 * 1024
    assert release_pages(mapped) > 31 * (1 << 20)
    assert _resident_kib(path) < 1024
    assert float(mapped.double().sum()) == expected_sum  # faulted in again from the file


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_a_mapped_checkpoint_is_not_kept_resident(tiny_weights: Path, tmp_path: Path, precision: str) -> None:
    """After a load, nothing of the file stays mapped or referenced (in fp32 too: a file
    replaced while the model runs must not change or break it)."""
    import open_clip
    import torch

    from photoclip.core.model.noinit import no_random_init

    own = tmp_path / "own.pt"  # fp32 models loaded by other tests keep the shared file mapped
    own.write_bytes(tiny_weights.read_bytes())
    with no_random_init():
        model = open_clip.create_model(TINY, pretrained=None)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    load_converted(model, str(own), dtype, "cpu")
    assert all(p.dtype == dtype for p in model.parameters())
    if sys.platform.startswith("linux"):
        assert _resident_kib(own) == 0  # unmapped: no tensor holds the file any more
    assert "load_state_dict" not in vars(model)  # the load's own hook is gone


def test_not_mappable_files() -> None:
    assert not mappable("weights.safetensors")
    assert not mappable("weights.npz")
