"""The model: the Embedder protocol the rest of photoclip uses, and its implementations.

Importing this package never imports torch or open_clip (a test checks it).
"""

from photoclip.core.model.choice import ModelChoice, model_id_for
from photoclip.core.model.device import expected_device, pick_device
from photoclip.core.model.fake import FakeEmbedder
from photoclip.core.model.offline import OfflineRoute, WeightsDownloadFailed, offline_route
from photoclip.core.model.openclip import OpenClipEmbedder
from photoclip.core.model.protocol import DEFAULT_MODEL, DEFAULT_WEIGHTS, Embedder, ProgressCallback, normalize
from photoclip.core.model.weights import (
    buildable_architectures,
    describe_models,
    register_extra_model_configs,
    resolve_weights,
    weights_available,
)

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_WEIGHTS",
    "Embedder",
    "FakeEmbedder",
    "ModelChoice",
    "OfflineRoute",
    "OpenClipEmbedder",
    "ProgressCallback",
    "WeightsDownloadFailed",
    "buildable_architectures",
    "describe_models",
    "expected_device",
    "model_id_for",
    "normalize",
    "offline_route",
    "pick_device",
    "register_extra_model_configs",
    "resolve_weights",
    "weights_available",
]
