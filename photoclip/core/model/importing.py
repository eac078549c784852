"""Importing open_clip without timm when the model does not need it.

open_clip imports timm when it is itself imported, for the few architectures whose image
tower timm builds (those whose config names a `timm_model_name`). ViTs and the other
open_clip-native towers never use it, yet timm costs every load ~25 MB of memory and a
share of the imports' seconds: for a ViT, open_clip is imported with timm made
unimportable, and open_clip leaves it out as it does where timm is not installed. A timm
model loaded later in the same process gets timm back (open_clip's adapter module is
run again, so its names point at the real timm).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType


def needs_timm(config: Path | None) -> bool:
    """Whether the architecture in this config file is built with timm (unknown: yes)."""
    if config is None:
        return True
    try:
        vision = json.loads(config.read_text()).get("vision_cfg") or {}
    except (OSError, ValueError, AttributeError):
        return True
    return not isinstance(vision, dict) or bool(vision.get("timm_model_name"))


def import_open_clip(config: Path | None) -> ModuleType:
    """open_clip, imported without timm unless the model of `config` needs it."""
    wanted = needs_timm(config)
    if "open_clip" not in sys.modules and not wanted and "timm" not in sys.modules:
        sys.modules["timm"] = None  # type: ignore[assignment]  # `import timm` now fails: open_clip skips it
        try:
            import open_clip
        finally:
            if "timm" in sys.modules and sys.modules["timm"] is None:
                del sys.modules["timm"]  # later imports of timm work as usual
    import open_clip

    adapter = open_clip.timm_model
    if wanted and getattr(adapter, "timm", None) is None and importlib.util.find_spec("timm") is not None:
        importlib.reload(adapter)  # its `timm` and timm's layers, in the namespace TimmModel reads
    module: ModuleType = open_clip
    return module
