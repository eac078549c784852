"""open_clip imported without timm for the architectures that do not use it, and timm back
for one that does, in the same process (each case in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from photoclip.core.model.importing import needs_timm

pytest.importorskip("timm")
pytestmark = pytest.mark.slow


def test_needs_timm_reads_the_config(tmp_path: Path) -> None:
    vit, convnext, broken = tmp_path / "vit.json", tmp_path / "convnext.json", tmp_path / "broken.json"
    vit.write_text(json.dumps({"embed_dim": 512, "vision_cfg": {"width": 768, "patch_size": 32}}))
    convnext.write_text(json.dumps({"embed_dim": 512, "vision_cfg": {"timm_model_name": "convnext_base"}}))
    broken.write_text("{not json")
    assert not needs_timm(vit)
    assert needs_timm(convnext) and needs_timm(broken) and needs_timm(None) and needs_timm(tmp_path / "missing.json")


SCRIPT = """
import sys, torch
from photoclip.core.model.importing import config_file
from photoclip.core.model.importing import import_open_clip
oc = import_open_clip(config_file("ViT-B-32"))
print("vit", "timm" in sys.modules, oc.timm_model.timm is None)
oc.create_model("ViT-B-32", pretrained=None)  # a ViT builds without timm
import_open_clip(config_file("convnext_base"))
print("convnext", "timm" in sys.modules, oc.timm_model.timm is None)
from open_clip.timm_model import TimmModel
TimmModel("resnet18", embed_dim=8, image_size=32)  # the class open_clip already holds works
print("built")
"""


def test_a_vit_loads_without_timm_and_a_timm_model_gets_it_back() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:3] == ["vit False True", "convnext True False", "built"]


COMPILER_SCRIPT = """
import sys, torch
from photoclip.core.model.importing import config_file
from photoclip.core.model.importing import import_open_clip
oc = import_open_clip(config_file("ViT-B-32"))
print("vit", "torch._dynamo" in sys.modules, "torch._dynamo.utils" in sys.modules)
oc.create_model("ViT-B-32", pretrained=None)
print("built", "torch._dynamo" in sys.modules)
import torch._dynamo  # a later import (torch.onnx's exporter, a user's code) gets the real compiler
print("real", callable(torch._dynamo.disable), callable(torch._dynamo.utils.counters.clear))
roi_align = sys.modules["torchvision.ops.roi_align"]
print("asked", roi_align.is_compile_supported("cpu") in (True, False))
import_open_clip(config_file("convnext_base"))  # timm decorates with the compiler's functions
print("convnext", "timm" in sys.modules)
"""


def test_a_vit_loads_without_torchs_compiler_which_a_later_import_still_gets_whole() -> None:
    """torchvision.ops (imported by open_clip) pulled in torch._dynamo: 1.5 s and 150 MB of
    every indexing process (round 23), for one function photoclip never calls."""
    proc = subprocess.run([sys.executable, "-c", COMPILER_SCRIPT], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:5] == ["vit False False", "built False", "real True True", "asked True", "convnext True"]


LOAD_SCRIPT = """
import sys
from pathlib import Path
from photoclip.core.model.importing import import_open_clip
import_open_clip(Path(sys.argv[1]) / (sys.argv[2] + ".json")).add_model_config(sys.argv[1])
from photoclip.core.model import ModelChoice, OpenClipEmbedder
from photoclip.core.errors import ModelUnavailable
embedder = OpenClipEmbedder(ModelChoice(sys.argv[2], sys.argv[3], device="cpu", precision="fp32")).load()
print("loaded", "torch._dynamo" in sys.modules)
try:
    OpenClipEmbedder(ModelChoice(sys.argv[2], sys.argv[4], device="cpu", precision="fp32")).load()
except ModelUnavailable as exc:
    print("refused", "not for" in str(exc) or "nor for" in str(exc))
"""


def test_a_side_loaded_checkpoint_is_checked_and_loaded_without_torchs_compiler(tiny_weights: Path, tmp_path: Path) -> None:
    """The shape check built the architecture again on the meta device, whose random fills
    import torch's compiler (1.5 s, 150 MB); it now reads the shapes off the model being
    loaded, before the weights go in, and still refuses a misfit."""
    import torch

    from tests.conftest import MODEL_CONFIGS, TINY_MODEL

    state = torch.load(tiny_weights)
    state["visual.proj"] = torch.zeros(3, 3)  # a misfit
    misfit = tmp_path / "misfit.pt"
    torch.save(state, misfit)
    args = [str(MODEL_CONFIGS), TINY_MODEL, str(tiny_weights), str(misfit)]
    proc = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:2] == ["loaded False", "refused True"], proc.stdout


FALLBACK_SCRIPT = """
import sys, torch
from photoclip.core.model import importing
from photoclip.core.model.importing import config_file
real = importing._without_dynamo

class Wanting:  # a later torchvision that asks the compiler for more than the stand-in has
    def find_spec(self, name, path=None, target=None):
        if name == "torchvision.ops.roi_align" and isinstance(sys.modules.get("torch._dynamo"), type(sys)) \\
                and not hasattr(sys.modules["torch._dynamo"], "disable"):
            raise ImportError("cannot import name 'disable' from 'torch._dynamo'")
        return None

sys.meta_path.insert(0, Wanting())
oc = importing.import_open_clip(config_file("ViT-B-32"))
print("imported", callable(oc.create_model), "torch._dynamo" in sys.modules)
"""


def test_an_open_clip_that_wants_more_of_the_compiler_gets_it_whole() -> None:
    proc = subprocess.run([sys.executable, "-c", FALLBACK_SCRIPT], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[0] == "imported True True"


AVAILABLE_SCRIPT = """
import sys
from photoclip.core.model import ModelChoice
from photoclip.core.model.weights import weights_available
weights_available(ModelChoice("ViT-B-32", "laion2b_s34b_b79k"))  # the app asks this before it loads
print("asked", "open_clip" in sys.modules, "timm" in sys.modules, "torch._dynamo" in sys.modules)
"""


def test_asking_whether_weights_are_on_disk_imports_open_clip_as_the_load_does() -> None:
    """The app asks before every load; a plain `import open_clip` there brought in timm and
    torch's compiler, which the load then found already imported (round 23)."""
    proc = subprocess.run([sys.executable, "-c", AVAILABLE_SCRIPT], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[0] == "asked True False False"
