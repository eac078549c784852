"""A text search in a fresh process: the cached text tower made by `index` answers it, and
its answer is open_clip's (same order, same scores to 1e-4)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.core.test_cli import env, photoclip  # noqa: F401  (the env fixture)

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.slow


def test_index_prepares_the_tower_and_search_agrees_with_open_clip(env, photo_dir, isolated_home):  # noqa: F811
    # open_clip in fp32, the tower's reference (on CPU "auto" may pick bf16 for speed).
    (isolated_home / "config").mkdir(parents=True, exist_ok=True)
    (isolated_home / "config" / "settings.json").write_text(json.dumps({"precision": "fp32"}))
    photoclip("add-folder", str(photo_dir), env=env)
    photoclip("index", env=env)
    towers = isolated_home / "cache" / "text-towers"
    records = [json.loads(p.read_text()) for p in towers.glob("*/tower.json")]
    assert len(records) == 1 and records[0]["verified"]

    query = ["a cat on a sofa", "-dogs", "--json", "-n", "5"]
    fast = json.loads(photoclip("search", *query, env=env).stdout)["results"]
    shutil.rmtree(towers)  # no tower: this search loads open_clip, then caches the tower again
    slow = json.loads(photoclip("search", *query, env=env).stdout)["results"]
    assert [r["path"] for r in fast] == [r["path"] for r in slow]
    assert all(abs(a["score"] - b["score"]) < 1e-4 for a, b in zip(fast, slow, strict=True))
    assert [json.loads(p.read_text())["verified"] for p in towers.glob("*/tower.json")] == [True]
