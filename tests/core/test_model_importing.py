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
from photoclip.core.model.openclip import _config_file
from photoclip.core.model.importing import import_open_clip
oc = import_open_clip(_config_file("ViT-B-32"))
print("vit", "timm" in sys.modules, oc.timm_model.timm is None)
oc.create_model("ViT-B-32", pretrained=None)  # a ViT builds without timm
import_open_clip(_config_file("convnext_base"))
print("convnext", "timm" in sys.modules, oc.timm_model.timm is None)
from open_clip.timm_model import TimmModel
TimmModel("resnet18", embed_dim=8, image_size=32)  # the class open_clip already holds works
print("built")
"""


def test_a_vit_loads_without_timm_and_a_timm_model_gets_it_back() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:3] == ["vit False True", "convnext True False", "built"]
