"""Checking a checkpoint file against the chosen architecture before open_clip loads it.

open_clip quietly resizes position embeddings when a checkpoint's patch grid or text
context differs from the architecture's, so a ViT-B-32 file "loads" as ViT-B-32-256 and
every vector lands in a space no other photo shares. So before loading, every tensor
name and shape in the file is compared with the architecture's (read without the data:
safetensors headers, or torch.load onto the meta device; the model is built on the meta
device, so nothing is allocated or initialised) and a mismatch is refused, naming the
architectures whose shapes the file does match.

Only files the user gives are checked: open_clip's own (architecture, tag) pairs fit by
construction. Files this check cannot read as a plain state dict (TorchScript archives,
big_vision .npz, Apple's MobileCLIP originals, which open_clip converts) are left to
open_clip, as before. Shapes cannot tell activations apart: ViT-B-32 and
ViT-B-32-quickgelu have the same tensors, so both are named.

torch and open_clip are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from photoclip.core.errors import ModelUnavailable

log = logging.getLogger(__name__)

Shapes = dict[str, tuple[int, ...]]

# Tensors open_clip's load_checkpoint adds, drops or reshapes by itself: compared by size only, or optional.
_OPTIONAL = ("logit_bias", "text.transformer.embeddings.position_ids")
_SIZE_ONLY = ("logit_scale", "logit_bias")
# Key prefixes of third-party layouts open_clip converts before loading (MobileCLIP originals).
_FOREIGN_PREFIXES = ("image_encoder.model.",)
# Old layout: text tower at the top level; open_clip moves it under "text." for CustomTextCLIP models.
_TEXT_TOWER_PREFIXES = ("text_projection", "positional_embedding", "token_embedding", "transformer", "ln_final")


def file_shapes(path: str) -> Shapes | None:
    """Tensor names and shapes stored in a checkpoint file, or None when it is not a plain state dict."""
    if path.endswith((".npz", ".npy")):
        return None
    try:
        if path.endswith(".safetensors"):
            from safetensors import safe_open

            with safe_open(path, framework="pt") as fh:
                shapes = {key: tuple(fh.get_slice(key).get_shape()) for key in fh.keys()}  # noqa: SIM118
        else:
            import torch

            loaded = torch.load(path, map_location="meta", weights_only=True)
            shapes = _tensor_shapes(loaded)
    except Exception:
        log.info("could not read the tensor shapes of %s; leaving the check to open_clip", path, exc_info=True)
        return None
    if not shapes or any(key.startswith(_FOREIGN_PREFIXES) for key in shapes):
        return None
    if next(iter(shapes)).startswith("module"):
        shapes = {key.removeprefix("module."): shape for key, shape in shapes.items()}
    return shapes


def _tensor_shapes(loaded: Any) -> Shapes:
    import torch

    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        return {}
    return {str(key): tuple(value.shape) for key, value in loaded.items() if isinstance(value, torch.Tensor)}


@contextlib.contextmanager
def quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(previous)


def architecture_shapes(name: str) -> Shapes | None:
    """The state dict shapes of an open_clip architecture, built on the meta device (no weights)."""
    import open_clip
    import torch

    config = open_clip.get_model_config(name)
    if config is None or "hf_model_name" in (config.get("text_cfg") or {}):
        return None  # Hugging Face text towers fetch their own config from the network to be built
    try:
        # open_clip warns "No pretrained weights loaded ... initialized randomly" on the root
        # logger for a model built without weights: true here, and alarming in a terminal.
        with torch.device("meta"), quiet_root_logger():
            model = open_clip.create_model(name, pretrained=None, device="meta")
    except Exception:
        log.info("cannot build %s on the meta device", name, exc_info=True)
        return None
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def _as_open_clip_would_load(found: Shapes, expected: Shapes) -> Shapes:
    """The file's shapes after the renaming open_clip applies for this architecture."""
    if "positional_embedding" in found and "positional_embedding" not in expected and "text_projection" in found:
        return {("text." + key if key.startswith(_TEXT_TOWER_PREFIXES) else key): shape for key, shape in found.items()}
    return found


def _size(shape: tuple[int, ...]) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


def difference(expected: Shapes, found: Shapes) -> str | None:
    """The first way the file does not fit the architecture, in words; None when it fits exactly."""
    found = _as_open_clip_would_load(found, expected)
    missing = sorted(key for key in expected if key not in found and key not in _OPTIONAL)
    unexpected = sorted(key for key in found if key not in expected and key not in _OPTIONAL)
    for key, shape in expected.items():
        if key not in found:
            continue
        other = found[key]
        same = _size(other) == _size(shape) if key in _SIZE_ONLY else other == shape
        if not same:
            return f"{key} is {_dims(other)} in the file but {_dims(shape)} in the architecture"
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{_tensors(len(missing), 'it needs', 'missing')} (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{_tensors(len(unexpected), '', 'not part of it')} (e.g. {unexpected[0]})")
        return " and ".join(parts)
    return None


def _tensors(count: int, which: str, are: str) -> str:
    """ "1 tensor it needs is missing", "3 tensors it needs are missing"."""
    noun, verb = ("tensor", "is") if count == 1 else ("tensors", "are")
    return " ".join(w for w in (str(count), noun, which, verb, are) if w)


def _dims(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape) or "a scalar"


def _could_match(config: dict[str, Any], sizes: set[int], timm_tower: bool) -> bool:
    """Cheap necessary conditions, so only a few architectures are built to be compared.

    Every size the config names appears as some tensor dimension (not the context length:
    CoCa adds a class token to it), and the image tower is a timm one in both or in neither.
    """
    vision, text = config.get("vision_cfg") or {}, config.get("text_cfg") or {}
    if isinstance(vision.get("timm_model_name"), str) != timm_tower:
        return False
    named = [config.get("embed_dim"), vision.get("width"), text.get("width"), text.get("vocab_size")]
    return all(n in sizes for n in named if isinstance(n, int))


def matching_architectures(found: Shapes) -> list[str]:
    """Every architecture open_clip knows whose tensors the file fits exactly."""
    import open_clip

    sizes = {n for shape in found.values() for n in shape}
    timm_tower = any(key.startswith("visual.trunk.") for key in found)
    matches = []
    for name in open_clip.list_models():
        config = open_clip.get_model_config(name)
        if config is None or not _could_match(config, sizes, timm_tower):
            continue
        expected = architecture_shapes(name)
        if expected is not None and difference(expected, found) is None:
            matches.append(name)
    return matches


def check_checkpoint(name: str, path: str, built: Any = None) -> None:
    """Refuse a checkpoint file whose tensors do not fit architecture `name` exactly.

    `built`: the architecture already built (its weights not loaded yet), whose shapes are
    then read off it. Otherwise it is built again on the meta device, where torch's random
    fills run through its Python reference ops, which import all of torch's compiler: 1.5 s
    and 150 MB of an indexing process that had built the model anyway (round 23)."""
    found = file_shapes(path)
    if found is None:
        return
    if built is not None:
        expected: Shapes | None = {key: tuple(value.shape) for key, value in built.state_dict().items()}
    else:
        expected = architecture_shapes(name)
    if expected is None:
        return
    problem = difference(expected, found)
    if problem is None:
        return
    matches = [match for match in matching_architectures(found) if match != name]
    file = os.path.basename(path)
    if matches:
        # Which tensor differs says nothing to a photographer once the model the file is for
        # is known (round 23's walk): that goes to the log, the choice to make comes first.
        log.info("%s does not fit %s: %s", file, name, problem)
        seems = " or ".join(matches)
        raise ModelUnavailable(
            f"The file {file} is a checkpoint for {seems}, not for {name}: choose {seems} as the model "
            f"(Settings → Other open_clip model…), or a file made for {name}."
        )
    raise ModelUnavailable(
        f"The file {file} is not a checkpoint for {name}, nor for any model open_clip knows ({problem}): choose a file made for {name}."
    )


def non_finite_tensor(model: Any) -> str | None:
    """The name of the first weight holding NaN or an infinity, or None. Shapes say nothing
    of values: a file of the right shapes with one NaN tensor loads, and makes every vector NaN."""
    import torch

    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return str(name)
    return None
