"""Embedders: the small protocol the rest of photoclip uses, and its implementations.

`OpenClipEmbedder` imports torch and open_clip only when first used, so that the
CLI's `status` and the GUI's window appear without paying for them.

Images reach an embedder already reduced and centre-cropped to its input size as
uint8 arrays (done in decode workers, see images.prepare_for_model); normalisation
and the forward pass happen here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from photoclip.core import paths
from photoclip.core.errors import ModelUnavailable

log = logging.getLogger(__name__)

DEFAULT_MODEL = "ViT-B-32-256"
DEFAULT_WEIGHTS = "datacomp_s34b_b86k"

# (bytes done, bytes total or None, what) -> None
ProgressCallback = Callable[[int, int | None, str], None]


@runtime_checkable
class Embedder(Protocol):
    """What indexing, search and tagging need from a model."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def input_size(self) -> int: ...

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        """uint8 (N, S, S, 3) -> float32 (N, dim), each row of unit length."""
        ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """N strings -> float32 (N, dim), each row of unit length."""
        ...


def normalize(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


class FakeEmbedder:
    """A deterministic embedder for tests and demos: no torch, no weights.

    Images map through a fixed random projection of a tiny thumbnail, so the same
    picture always gets the same vector and similar pictures get close vectors.
    Texts map to a vector seeded by their hash, unless `text_vectors` sets one by hand.
    """

    def __init__(
        self,
        dim: int = 32,
        input_size: int = 32,
        text_vectors: dict[str, Sequence[float]] | None = None,
        model_id: str = "fake",
    ) -> None:
        self._dim = dim
        self._size = input_size
        self._model_id = model_id
        rng = np.random.default_rng(1234)
        self._projection = rng.standard_normal((8 * 8 * 3, dim)).astype(np.float32)
        self.text_vectors = {k: normalize(np.asarray(v, np.float32)) for k, v in (text_vectors or {}).items()}
        self.image_calls = 0
        self.images_embedded = 0
        self.text_calls = 0
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def input_size(self) -> int:
        return self._size

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        self.image_calls += 1
        self.images_embedded += len(batch)
        n, s = batch.shape[0], batch.shape[1]
        step = max(1, s // 8)
        small = batch[:, : step * 8 : step, : step * 8 : step, :].astype(np.float32) / 255.0 - 0.5
        return normalize(small.reshape(n, -1) @ self._projection)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        self.text_calls += 1
        self.texts_embedded += len(texts)
        out = []
        for text in texts:
            if text in self.text_vectors:
                out.append(self.text_vectors[text])
                continue
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
            out.append(np.random.default_rng(seed).standard_normal(self._dim).astype(np.float32))
        return normalize(np.stack(out)) if out else np.empty((0, self._dim), np.float32)


# -- open_clip ----------------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    """What the user asked for: an open_clip architecture and a pretrained tag or a file."""

    name: str = DEFAULT_MODEL
    weights: str = DEFAULT_WEIGHTS
    device: str = "auto"  # auto, cpu, cuda, mps
    precision: str = "auto"  # auto, fp32, bf16, fp16

    @property
    def weights_is_file(self) -> bool:
        return (
            os.path.sep in self.weights
            or os.path.isfile(self.weights)
            or self.weights.endswith((".pt", ".pth", ".bin", ".safetensors", ".ckpt"))
        )


def _file_digest(path: str) -> str:
    """A short identity for a checkpoint file: size plus samples of its content."""
    h = hashlib.blake2b(digest_size=8)
    size = os.path.getsize(path)
    h.update(str(size).encode())
    with open(path, "rb") as fh:
        for offset in (0, max(0, size // 2 - 65536), max(0, size - 131072)):
            fh.seek(offset)
            h.update(fh.read(131072))
    return h.hexdigest()


def model_id_for(choice: ModelChoice) -> str:
    """The id stored beside every vector, so models never mix and can coexist."""
    if choice.weights_is_file:
        try:
            return f"{choice.name}:file-{_file_digest(choice.weights)}"
        except OSError as exc:
            raise ModelUnavailable(f"The model weights file {choice.weights} cannot be read: {exc.strerror or exc}") from exc
    return f"{choice.name}:{choice.weights}"


def register_extra_model_configs() -> None:
    """Let users (and tests) add open_clip architectures from JSON configs.

    Looked up in PHOTOCLIP_MODEL_CONFIGS (a folder or file) and <config dir>/models.
    """
    import open_clip

    candidates = [os.environ.get("PHOTOCLIP_MODEL_CONFIGS"), str(paths.config_dir() / "models")]
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            open_clip.add_model_config(candidate)


def pick_device(requested: str = "auto") -> str:
    import torch

    if requested not in ("auto", "cpu", "cuda", "mps"):
        raise ModelUnavailable(f"Unknown device {requested!r}: choose auto, cpu, cuda or mps")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("CUDA was requested but no CUDA GPU is available to torch")
    if requested == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ModelUnavailable("Apple MPS was requested but is not available")
    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class _ProgressBar:
    """A tqdm stand-in handed to huggingface_hub so download bytes reach our callback."""

    def __init__(self, callback: ProgressCallback, what: str):
        self._callback = callback
        self._what = what

    def make(self):
        from tqdm import tqdm

        callback, what = self._callback, self._what

        class Forwarding(tqdm):  # type: ignore[misc]
            def __init__(self, *args, **kwargs):
                kwargs["disable"] = True
                super().__init__(*args, **kwargs)
                self._done = 0
                self._total = kwargs.get("total")

            def update(self, n=1):
                self._done += n or 0
                callback(self._done, self._total, what)

        return Forwarding


def resolve_weights(choice: ModelChoice, progress: ProgressCallback | None = None) -> str:
    """A local checkpoint path for the choice: the user's file, or open_clip's download.

    Raises ModelUnavailable with a message that names the model and the way to give a file.
    """
    import open_clip

    if choice.weights_is_file:
        if not os.path.isfile(choice.weights):
            raise ModelUnavailable(f"The model weights file {choice.weights} does not exist.")
        return choice.weights
    tags = open_clip.list_pretrained_tags_by_model(choice.name)
    if choice.weights not in tags:
        known = ", ".join(tags) if tags else "none"
        raise ModelUnavailable(f"open_clip has no pretrained weights {choice.weights!r} for {choice.name} (known: {known}).")
    cfg = open_clip.get_pretrained_cfg(choice.name, choice.weights)
    hub = cfg.get("hf_hub") or ""
    url = cfg.get("url") or ""
    help_text = f"photoclip needs the weights of {choice.name} ({choice.weights}) and could not download them"
    where = f"https://huggingface.co/{hub.rstrip('/')}" if hub else url
    advice = (
        f"If this computer is offline, download the checkpoint from {where} on another computer and "
        "give it with `--weights /path/to/file` (or Settings -> Model -> Checkpoint file). "
        "Your library stays browsable meanwhile; photos are embedded once a model is available."
    )
    try:
        if hub:
            return _download_from_hub(hub, progress)
        return open_clip.pretrained.download_pretrained_from_url(url, cache_dir=None)
    except Exception as exc:
        raise ModelUnavailable(f"{help_text}: {_short_reason(exc)}. {advice}") from exc


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _hub_files(hub: str) -> tuple[str, list[str]]:
    """open_clip writes "org/repo/" or "org/repo/filename": the same split it uses."""
    repo_id, filename = hub[: hub.rfind("/")], hub[hub.rfind("/") + 1 :]
    return repo_id, [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]


def _cached_hub_file(hub: str) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    repo_id, names = _hub_files(hub)
    for name in names:
        cached = try_to_load_from_cache(repo_id, name)
        if isinstance(cached, str):
            return cached
    return None


def weights_available(choice: ModelChoice) -> bool:
    """Whether loading `choice` needs no download (imports open_clip: call it off the GUI thread).

    A file choice or an unknown name answers True: the load itself reports those problems.
    """
    if choice.weights_is_file:
        return True
    import open_clip

    register_extra_model_configs()
    try:
        cfg = open_clip.get_pretrained_cfg(choice.name, choice.weights)
    except Exception:
        return True
    hub = (cfg or {}).get("hf_hub") or ""
    if not hub:
        return True  # URL-hosted weights: the load finds or fetches them
    return _cached_hub_file(hub) is not None


def _download_from_hub(hub: str, progress: ProgressCallback | None) -> str:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    cached = _cached_hub_file(hub)
    if cached is not None:
        return cached
    repo_id, names = _hub_files(hub)
    tqdm_class = _ProgressBar(progress, repo_id).make() if progress else None
    for name in names[:-1]:
        try:
            return hf_hub_download(repo_id=repo_id, filename=name, tqdm_class=tqdm_class)
        except EntryNotFoundError:
            continue  # this repo has the other file format; any other error is final
    return hf_hub_download(repo_id=repo_id, filename=names[-1], tqdm_class=tqdm_class)


def _precision_cache() -> Path:
    return paths.config_dir() / "precision.json"


class OpenClipEmbedder:
    """open_clip behind the Embedder protocol. Construction is cheap; `load()` is not."""

    def __init__(self, choice: ModelChoice | None = None, progress: ProgressCallback | None = None) -> None:
        self.choice = choice or ModelChoice()
        self._progress = progress
        self._model = None
        self._tokenizer = None
        self._mean = None
        self._std = None
        self._size = 0
        self._dim = 0
        self._dtype = None
        self._trimmed = False  # texts run through only as many positions as the longest needs
        self.device = ""
        self.precision = ""
        self._model_id: str | None = None

    # -- protocol --------------------------------------------------------

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            self._model_id = model_id_for(self.choice)
        return self._model_id

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    @property
    def input_size(self) -> int:
        self.load()
        return self._size

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> OpenClipEmbedder:
        if self._model is not None:
            return self
        started = time.perf_counter()
        import open_clip
        import torch

        register_extra_model_configs()
        if open_clip.get_model_config(self.choice.name) is None:
            raise ModelUnavailable(f"Unknown model {self.choice.name!r}. Run `photoclip models` for the names open_clip knows.")
        checkpoint = resolve_weights(self.choice, self._progress)
        self._model_id = model_id_for(self.choice)
        device = pick_device(self.choice.device)
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(self.choice.name, pretrained=checkpoint, device=device)
        except Exception as exc:
            raise ModelUnavailable(
                f"Could not load {self.choice.name} weights from {checkpoint}: {_short_reason(exc)}. "
                "Is it a checkpoint for this model architecture?"
            ) from exc
        model.eval()
        cfg = getattr(model.visual, "preprocess_cfg", {}) or {}
        size = cfg.get("size") or model.visual.image_size
        self._size = int(size[0] if isinstance(size, (tuple, list)) else size)
        mean = cfg.get("mean", (0.48145466, 0.4578275, 0.40821073))
        std = cfg.get("std", (0.26862954, 0.26130258, 0.27577711))
        self._mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, device=device).view(1, 3, 1, 1)
        self._tokenizer = open_clip.get_tokenizer(self.choice.name)
        self._model = model
        self.reference_preprocess = preprocess
        self.device = device
        with torch.inference_mode():
            probe = model.encode_text(self._tokenizer(["a photo"]).to(device))
        self._dim = int(probe.shape[-1])
        self.precision = self._choose_precision(torch)
        if self.precision == "bf16":
            self._dtype = torch.bfloat16
        elif self.precision == "fp16":
            self._dtype = torch.float16
        else:
            self._dtype = torch.float32
        model.to(self._dtype)
        self._trimmed = self._trimmed_texts_agree(torch)
        log.info("loaded %s on %s (%s) in %.1fs", self.model_id, device, self.precision, time.perf_counter() - started)
        return self

    def _choose_precision(self, torch) -> str:
        requested = self.choice.precision
        if requested != "auto":
            return requested
        if self.device in ("cuda", "mps"):
            return "fp16"
        return self._measured_cpu_precision(torch)

    def _measured_cpu_precision(self, torch) -> str:
        """bf16 is much faster than fp32 on CPUs with AMX/AVX512-BF16 and slower elsewhere: measure once."""
        key = f"{self.model_id}|{platform.processor() or platform.machine()}|{torch.__version__}|{torch.get_num_threads()}"
        cache = _precision_cache()
        try:
            known = json.loads(cache.read_text())
        except (OSError, ValueError):
            known = {}
        if key in known:
            return known[key]
        choice = self._measure_precision(torch)
        known[key] = choice
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(known, indent=1))
        except OSError:
            pass
        return choice

    def _measure_precision(self, torch) -> str:
        rng = np.random.default_rng(0)
        batch = rng.integers(0, 256, size=(8, self._size, self._size, 3), dtype=np.uint8)
        timings = {}
        outputs = {}
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            try:
                self._model.to(dtype)
                self._dtype = dtype
                self._encode(batch)  # warm-up
                start = time.perf_counter()
                outputs[name] = self._encode(batch)
                timings[name] = time.perf_counter() - start
            except (RuntimeError, TypeError):
                timings[name] = float("inf")
        self._model.to(torch.float32)
        if "bf16" not in outputs or timings["bf16"] >= timings["fp32"]:
            return "fp32"
        agreement = float(np.min(np.sum(outputs["fp32"] * outputs["bf16"], axis=1)))
        return "bf16" if agreement >= 0.999 else "fp32"

    def _encode(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            pixels = torch.from_numpy(np.require(batch, np.uint8, ["C", "W"])).to(self.device)
            pixels = pixels.permute(0, 3, 1, 2).float().div_(255.0)
            pixels = ((pixels - self._mean) / self._std).to(self._dtype)
            features = self._model.encode_image(pixels)
            return normalize(features.float().cpu().numpy())

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        self.load()
        if len(batch) == 0:
            return np.empty((0, self._dim), np.float32)
        return self._encode(batch)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self.load()
        if not texts:
            return np.empty((0, self._dim), np.float32)
        with torch.inference_mode():
            tokens = self._tokenizer(list(texts)).to(self.device)
            features = _encode_text_trimmed(self._model, tokens) if self._trimmed else self._model.encode_text(tokens)
            return normalize(features.float().cpu().numpy())

    def _trimmed_texts_agree(self, torch) -> bool:
        """Whether the short text path gives this model's own answer (checked once per load)."""
        if not _can_trim_text(self._model):
            return False
        probe = ["a photo of a dog.", "a blurry photo of the big red bus parked outside the old station."]
        try:
            with torch.inference_mode():
                tokens = self._tokenizer(probe).to(self.device)
                full = normalize(self._model.encode_text(tokens).float().cpu().numpy())
                short = normalize(_encode_text_trimmed(self._model, tokens).float().cpu().numpy())
        except Exception:
            log.info("trimmed text encoding unavailable for %s", self.model_id, exc_info=True)
            return False
        return bool(np.min(np.sum(full * short, axis=1)) >= 0.9999)


def _can_trim_text(model: object) -> bool:
    # A CLIP-style text tower: token and position embeddings, a causal mask, and features
    # read at the end-of-text token. Its output there never depends on the padding after it.
    return (
        all(hasattr(model, name) for name in ("token_embedding", "positional_embedding", "transformer", "ln_final"))
        and getattr(model, "attn_mask", None) is not None
        and getattr(model, "text_pool_type", None) in ("argmax", "eos")
    )


def _encode_text_trimmed(model, tokens):
    """The model's text features, computed over the used positions only.

    Tokenizers pad every prompt to the full context (77); label prompts use 8-20 of
    them. With a causal mask, the end-of-text position never attends to the padding
    after it, so cutting the padding off gives the same features for a fraction of
    the work (attention is quadratic in the length). `load` checks the agreement.
    """
    import torch

    used = tokens != 0
    positions = torch.arange(tokens.shape[1], device=tokens.device)
    length = int((used * (positions + 1)).max().item()) if used.any() else 1
    tokens = tokens[:, :length]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    rows = torch.arange(x.shape[0], device=x.device)
    x = x[rows, tokens.argmax(dim=-1)] if model.text_pool_type == "argmax" else x[rows, (tokens == model.text_eos_id).int().argmax(dim=-1)]
    projection = model.text_projection
    if projection is None:
        return x
    return projection(x) if isinstance(projection, torch.nn.Module) else x @ projection


def describe_models() -> list[tuple[str, str]]:
    """(architecture, pretrained tag) pairs open_clip can download."""
    import open_clip

    return list(open_clip.list_pretrained())
