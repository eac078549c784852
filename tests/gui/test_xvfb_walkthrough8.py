"""Screenshots of what the round-8 walkthrough fixed, at laptop sizes, for a person to look at:
the first start without weights (the banner says where it looked and how to side-load) and a
search for a tag that does not exist (named, with the close ones)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.gui.test_xvfb import ARTIFACTS, _xvfb, run_driven_app

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
]


@pytest.mark.parametrize("screen", [(1366, 768), (1024, 700)])
def test_first_start_banner_and_a_missing_tag_at_laptop_sizes(screen: tuple[int, int], tmp_path: Path, photo_dir: Path) -> None:
    width, height = screen
    ARTIFACTS.mkdir(exist_ok=True)
    banner_shot = ARTIFACTS / f"xvfb-{width}x{height}-first-start-banner.png"
    tag_shot = ARTIFACTS / f"xvfb-{width}x{height}-missing-tag.png"
    unfolded_shot = ARTIFACTS / f"xvfb-{width}x{height}-first-start-banner-unfolded.png"
    unfolded = tmp_path / "unfolded.json"
    report = tmp_path / "report.json"
    script = tmp_path / "script.json"
    actions = [
        {"add_folder": str(photo_dir)},
        {"wait": "model"},
        {"wait": "catalogued"},
        {"wait": "thumbnails"},
        {"screenshot": str(banner_shot)},
        {"report": str(report)},
        {"unfold_banner": True},
        {"screenshot": str(unfolded_shot)},
        {"report": str(unfolded)},
        {"unfold_banner": True},
        {"pin": "#dgos"},
        {"wait": "shown"},
        {"screenshot": str(tag_shot)},
        {"quit": True},
    ]
    script.write_text(json.dumps({"timeout": 180, "actions": actions}))
    with _xvfb(f"{width}x{height}x24") as display:
        home = str(tmp_path / "home")
        run_driven_app(script, display, 240, PHOTOCLIP_HOME=home, HF_HUB_OFFLINE="1", PHOTOCLIP_MODEL=None, PHOTOCLIP_WEIGHTS=None)
    result = json.loads(report.read_text())
    assert result["model"] == "missing"
    # What to do now in view; where photoclip looked and the offline how-to folded behind a link.
    assert result["banner"].endswith("browsable meanwhile.") and not result["banner_details_shown"]
    assert "looked for open_clip_model.safetensors in" in result["banner_details"]
    assert json.loads(unfolded.read_text())["banner_details_shown"]
    for shot in (banner_shot, unfolded_shot, tag_shot):
        assert shot.is_file() and shot.stat().st_size > 10_000, f"{shot} is missing or blank"
