"""Importing open_clip without timm when the model does not need it, and then without
torch's compiler (dynamo) too.

open_clip imports timm when it is itself imported, for the few architectures whose image
tower timm builds (those whose config names a `timm_model_name`). ViTs and the other
open_clip-native towers never use it, yet timm costs every load ~25 MB of memory and a
share of the imports' seconds: for a ViT, open_clip is imported with timm made
unimportable, and open_clip leaves it out as it does where timm is not installed. A timm
model loaded later in the same process gets timm back (open_clip's adapter module is
run again, so its names point at the real timm).

open_clip imports torchvision.ops, whose roi_align module imports one function from
`torch._dynamo.utils` at its top, and with it all of torch's compiler: 1.5 s and 150 MB of
every indexing process on this project's 2-core machine (round 23, `-X importtime`),
though photoclip never compiles and never calls roi_align. While open_clip is imported, a
stand-in for that one module answers instead; it is taken out again at once, and its
function imports the real one if it is ever called, so a later `import torch._dynamo`
(torch.onnx's exporter, a user's own code) gets all of it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from photoclip.core import paths

_DYNAMO = "torch._dynamo"
_DYNAMO_UTILS = "torch._dynamo.utils"


def user_config_locations() -> list[str]:
    """Where users (and tests) keep architectures of their own: PHOTOCLIP_MODEL_CONFIGS (a
    folder or one file) and <config dir>/models, those that are set."""
    found = [os.environ.get("PHOTOCLIP_MODEL_CONFIGS"), str(paths.config_dir() / "models")]
    return [location for location in found if location]


def config_file(name: str) -> Path | None:
    """Where open_clip (or the user, see user_config_locations) keeps `name`'s config."""
    folders = user_config_locations()
    spec = importlib.util.find_spec("open_clip")  # finds the package without importing it
    for location in (spec.submodule_search_locations or []) if spec else []:
        folders.append(os.path.join(location, "model_configs"))
    for folder in folders:
        candidate = Path(folder)
        if candidate.is_file():
            if candidate.stem == name:
                return candidate
            continue
        if (candidate / f"{name}.json").is_file():
            return candidate / f"{name}.json"
    return None


def needs_timm(config: Path | None) -> bool:
    """Whether the architecture in this config file is built with timm (unknown: yes)."""
    if config is None:
        return True
    try:
        vision = json.loads(config.read_text()).get("vision_cfg") or {}
    except (OSError, ValueError, AttributeError):
        return True
    return not isinstance(vision, dict) or bool(vision.get("timm_model_name"))


def _is_compile_supported(device_type: Any) -> Any:
    """The real `torch._dynamo.utils.is_compile_supported`, imported when first asked."""
    from torch._dynamo.utils import is_compile_supported

    return is_compile_supported(device_type)


@contextlib.contextmanager
def _without_dynamo() -> Iterator[None]:
    """While open_clip is imported, `from torch._dynamo.utils import is_compile_supported`
    finds a stand-in instead of importing the compiler (see the module's docstring)."""
    if _DYNAMO in sys.modules or _DYNAMO_UTILS in sys.modules:
        yield  # already imported: nothing to save
        return
    package, utils = ModuleType(_DYNAMO), ModuleType(_DYNAMO_UTILS)
    package.__path__ = []  # a package with no submodules: any other import from it fails loudly
    utils.is_compile_supported = _is_compile_supported  # type: ignore[attr-defined]
    package.utils = utils  # type: ignore[attr-defined]
    sys.modules[_DYNAMO], sys.modules[_DYNAMO_UTILS] = package, utils
    try:
        yield
    finally:
        for name, stand_in in ((_DYNAMO_UTILS, utils), (_DYNAMO, package)):
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


def import_open_clip(config: Path | None) -> ModuleType:
    """open_clip, imported without timm and torch's compiler unless the model of `config`
    needs timm (which uses the compiler's functions as it is imported)."""
    wanted = needs_timm(config)
    if "open_clip" not in sys.modules and not wanted and "timm" not in sys.modules:
        sys.modules["timm"] = None  # type: ignore[assignment]  # `import timm` now fails: open_clip skips it
        try:
            # timm decorates its models with the compiler's own functions when it is imported:
            # only without timm can the compiler stay out.
            try:
                with _without_dynamo():
                    import open_clip
            except (ImportError, AttributeError):
                # A later open_clip or torchvision wants more of the compiler as it is
                # imported than the stand-in has: then it gets all of it.
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
