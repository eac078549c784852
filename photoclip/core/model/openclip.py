"""open_clip behind the Embedder protocol.

torch and open_clip are imported only in `load()` and the methods it enables, so that
the CLI's `status` and the GUI's window appear without paying for them. Images arrive
already reduced and centre-cropped to the input size as uint8 arrays (decode workers
do that); normalisation and the forward pass happen here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from photoclip.core.errors import ModelUnavailable
from photoclip.core.model.checkpoint import check_checkpoint, non_finite_tensor, quiet_root_logger
from photoclip.core.model.choice import ModelChoice, model_id_for
from photoclip.core.model.device import pick_device
from photoclip.core.model.heap import give_back_freed_memory
from photoclip.core.model.imageonly import TowerTexts
from photoclip.core.model.importing import config_file, import_open_clip
from photoclip.core.model.jpeg_device import JpegBatch, decode_batch, jpeg_decoder_available
from photoclip.core.model.noinit import no_random_init, strict_checkpoint
from photoclip.core.model.precisioncache import cached_precisions, remember_precision
from photoclip.core.model.protocol import ProgressCallback, normalize
from photoclip.core.model.streamload import load_converted, mappable
from photoclip.core.model.textpath import can_trim_text, encode_text_trimmed
from photoclip.core.model.texttower import TextTower
from photoclip.core.model.weights import REFUSED_PICKLE, register_extra_model_configs, resolve_weights, short_reason

log = logging.getLogger(__name__)


def _file_state(path: str) -> tuple[int, ...] | None:
    """What changes when a file is rewritten, replaced or grows: compared before and after a load."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class OpenClipEmbedder:
    """open_clip behind the Embedder protocol. Construction is cheap; `load()` is not."""

    def __init__(
        self, choice: ModelChoice | None = None, progress: ProgressCallback | None = None, *, texts_by_tower: bool = False
    ) -> None:
        """`texts_by_tower`: where a verified text tower is cached for these weights, load the
        model without its text weights and embed texts with the tower (imageonly.py): for
        processes that embed photos and seldom texts (the indexer, the worker)."""
        self.choice = choice or ModelChoice()
        self._progress = progress
        self._texts_by_tower = texts_by_tower
        self._tower_texts: TowerTexts | None = None  # set while loaded without the text weights
        # torch objects, typed loosely: torch is imported only when the model loads.
        self._model: Any = None
        self._tokenizer: Any = None
        self._mean: Any = None
        self._std: Any = None
        self._size = 0
        self._dim = 0
        self._dtype: Any = None
        self._trimmed: bool | None = None  # texts run through only as many positions as the longest needs
        self.device = ""
        self.decodes_jpeg_on_device = False
        self.precision = ""
        self._model_id: str | None = None
        self.checkpoint = ""  # the weights file the model was loaded from
        self._loader: threading.Thread | None = None
        self._load_error: BaseException | None = None

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
    def description(self) -> str:
        """What is in use: architecture and weights tag, or architecture and file path."""
        return self.choice.describe()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def loading(self) -> bool:
        """Whether a load started by `start_loading` is still running (never waits)."""
        loader = self._loader
        return loader is not None and loader.is_alive()

    def start_loading(self) -> None:
        """Load on a thread, so that the caller's own start-up (scanning, decoding photos)
        runs while torch and open_clip are imported; the next use waits for it, and raises
        what the load raised."""
        if self._model is not None or self._loader is not None:
            return

        def run() -> None:
            try:
                self.load()
            except BaseException as exc:  # handed to whoever uses the model next
                self._load_error = exc

        self._loader = threading.Thread(target=run, name="photoclip-model-load", daemon=True)
        self._loader.start()

    def planned_shape(self) -> tuple[int, int] | None:
        """(embedding size, input size) from the architecture's config file, without importing
        open_clip; None when it cannot be read that way. `load()` gives the true values."""
        config = config_file(self.choice.name)
        if config is None:
            return None
        try:
            data: dict[str, Any] = json.loads(config.read_text())
            dim, size = data["embed_dim"], data["vision_cfg"]["image_size"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if isinstance(size, (list, tuple)) and size and size[0] == size[-1]:
            size = size[0]
        if "preprocess_cfg" in data or not isinstance(dim, int) or not isinstance(size, int):
            return None  # a config that sets its own input size: only the loaded model knows
        return dim, size

    def load(self) -> OpenClipEmbedder:
        loader = self._loader
        if loader is not None and loader is not threading.current_thread():
            loader.join()
            self._loader = None
            error, self._load_error = self._load_error, None
            if error is not None:
                raise error
        if self._model is not None:
            return self
        started = time.perf_counter()
        open_clip = import_open_clip(config_file(self.choice.name))
        import torch

        register_extra_model_configs()
        if open_clip.get_model_config(self.choice.name) is None:
            raise ModelUnavailable(f"Unknown model {self.choice.name!r}. Run `photoclip models` for the names open_clip knows.")
        checkpoint = resolve_weights(self.choice, self._progress)
        before = _file_state(checkpoint) if self.choice.weights_is_file else None
        if self.choice.weights_is_file and not self._streams(checkpoint):
            check_checkpoint(self.choice.name, checkpoint)  # open_clip would resize a misfit silently
        self._model_id = model_id_for(self.choice)
        device = pick_device(self.choice.device)
        self._tokenizer = open_clip.get_tokenizer(self.choice.name)
        image_only = self._texts_by_tower and self._streams(checkpoint) and TextTower.ready(self.choice)
        model, preprocess = self._build(open_clip, torch, checkpoint, device, image_only=image_only)
        if not self._answers_are_numbers(torch, texts=not image_only):  # every vector would be NaN, stored, and every search "cancel out"
            damaged = non_finite_tensor(model) or "a weight"  # slow (a second per 150M weights): only when damaged
            self._model = None
            raise ModelUnavailable(f"The weights in {checkpoint} are damaged: {damaged} holds NaN or infinite values.")
        if before is not None and _file_state(checkpoint) != before:
            # The id was taken from the file as it was: vectors of the weights read now
            # would be stored under the id of other weights, and mix with theirs.
            self._model = None
            raise ModelUnavailable(
                f"The model weights file {checkpoint} changed while it was read (still being copied?): load it again once it is complete."
            )
        self._model = model
        self.checkpoint = checkpoint
        self.reference_preprocess = preprocess
        self._dim = self._output_dim(open_clip, torch)
        self._trimmed = None  # checked on the first text embedded: an indexer may never need it
        self._tower_texts = TowerTexts(self.choice, self._full_model_for_texts) if image_only else None
        log.info("loaded %s on %s (%s) in %.1fs", self.model_id, device, self.precision, time.perf_counter() - started)
        return self

    @staticmethod
    def _streams(checkpoint: str) -> bool:
        """Whether the weights are read into a model built without them (see `_build`)."""
        return strict_checkpoint(checkpoint) and mappable(checkpoint)

    def _build(self, open_clip: Any, torch: Any, checkpoint: str, device: str, *, image_only: bool = False) -> tuple[Any, Any]:
        """The model with the checkpoint's weights, in the precision it runs in.

        Where the precision is already known (chosen, or measured before on this machine)
        and the file can be memory-mapped, the weights are converted as they are read (see
        streamload.py): the whole fp32 checkpoint is never in memory. Otherwise open_clip
        loads it in fp32 and the model is converted afterwards.
        """
        self.device = device
        # On a GPU JPEGs are decoded there (see jpeg_device.py); on a CPU, Pillow's DCT-scaled
        # decode of a reduced image costs less than torchvision's decode of the whole.
        self.decodes_jpeg_on_device = device == "cuda" and jpeg_decoder_available()
        precision = self._known_precision(torch)
        streamed = self._streams(checkpoint)
        try:
            if streamed:
                with no_random_init(), quiet_root_logger():  # every weight comes from the file
                    model, _, preprocess = open_clip.create_model_and_transforms(self.choice.name, pretrained=None, device=device)
                if self.choice.weights_is_file:
                    check_checkpoint(self.choice.name, checkpoint, built=model)  # before a misfit is loaded
                with quiet_root_logger():
                    load_converted(model, checkpoint, self._torch_dtype(torch, precision or "fp32"), device, image_only=image_only)
            else:
                building = no_random_init() if strict_checkpoint(checkpoint) else contextlib.nullcontext()
                with building:  # the checkpoint overwrites every weight: no random fill first
                    model, _, preprocess = open_clip.create_model_and_transforms(self.choice.name, pretrained=checkpoint, device=device)
        except ModelUnavailable:
            raise  # a misfit checkpoint, already said in words
        except Exception as exc:
            reason = short_reason(exc)
            question = "" if reason == REFUSED_PICKLE else " Is it a checkpoint for this model architecture?"
            raise ModelUnavailable(f"Could not load {self.choice.name} weights from {checkpoint}: {reason}.{question}") from exc
        model.eval()
        self._model = model
        self._read_preprocessing(torch, model, device)
        if precision is None:  # first load on this machine: measure, from the fp32 weights
            precision = self._measured_cpu_precision(torch)
            if precision == "fp32" and streamed:
                # the trial's bf16 round trip lost bits
                load_converted(model, checkpoint, torch.float32, device, image_only=image_only)
        self.precision = precision
        self._dtype = self._torch_dtype(torch, precision)
        model.to(self._dtype)
        return model, preprocess

    def _answers_are_numbers(self, torch: Any, *, texts: bool) -> bool:
        """One blank image and one text through the model give finite vectors (tens of ms: a
        scan of every weight would take about a second on a CPU). A model loaded without its
        text weights answers texts with a tower verified when it was exported."""
        with torch.inference_mode():
            outputs = [self._model.encode_image(self._blank_image(torch))]
            if texts:
                outputs.append(self._model.encode_text(self._tokenizer(["a photo"]).to(self.device)))
        return all(bool(torch.isfinite(out).all()) for out in outputs)

    def _read_preprocessing(self, torch: Any, model: Any, device: str) -> None:
        cfg = getattr(model.visual, "preprocess_cfg", {}) or {}
        size = cfg.get("size") or model.visual.image_size
        self._size = int(size[0] if isinstance(size, (tuple, list)) else size)
        mean = cfg.get("mean", (0.48145466, 0.4578275, 0.40821073))
        std = cfg.get("std", (0.26862954, 0.26130258, 0.27577711))
        self._mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, device=device).view(1, 3, 1, 1)

    @staticmethod
    def _torch_dtype(torch: Any, precision: str) -> Any:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)

    def _blank_image(self, torch: Any) -> Any:
        return torch.zeros((1, 3, self._size, self._size), dtype=self._dtype, device=self.device)

    def _output_dim(self, open_clip: Any, torch: Any) -> int:
        """The embedding size, from the architecture's config; a probe image where it has none."""
        config = open_clip.get_model_config(self.choice.name) or {}
        if isinstance(config.get("embed_dim"), int):
            return int(config["embed_dim"])
        with torch.inference_mode():
            probe = self._model.encode_image(self._blank_image(torch))
        return int(probe.shape[-1])

    @property
    def holds_text_weights(self) -> bool:
        """False while loaded without the text tower's weights (texts go to the cached tower)."""
        return self._model is not None and self._tower_texts is None

    def _full_model_for_texts(self) -> OpenClipEmbedder:
        return OpenClipEmbedder(self.choice, self._progress).load()

    def unload(self) -> None:
        """Give the model's memory back; the next use loads it again."""
        self._model = None
        self._tower_texts = None

    def _known_precision(self, torch: Any) -> str | None:
        """The precision to run in when it is known before loading; None: measure it."""
        requested = self.choice.precision
        if requested != "auto":
            return requested
        if self.device in ("cuda", "mps"):
            return "fp16"
        return cached_precisions().get(self._precision_key(torch))

    def _precision_key(self, torch: Any) -> str:
        return f"{self.model_id}|{platform.processor() or platform.machine()}|{torch.__version__}|{torch.get_num_threads()}"

    def _measured_cpu_precision(self, torch: Any) -> str:
        """bf16 is much faster than fp32 on CPUs with AMX/AVX512-BF16 and slower elsewhere: measure once."""
        key = self._precision_key(torch)
        known = cached_precisions().get(key)
        if known is not None:
            return known
        choice = self._measure_precision(torch)
        remember_precision(key, choice)
        return choice

    def _measure_precision(self, torch: Any) -> str:
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
            return self._encode_on_device(pixels.permute(0, 3, 1, 2))

    def _encode_on_device(self, pixels: Any) -> np.ndarray:
        """uint8 (N, 3, S, S) already on the model's device -> unit vectors."""
        pixels = pixels.float().div_(255.0)
        pixels = ((pixels - self._mean) / self._std).to(self._dtype)
        features = self._model.encode_image(pixels)
        return normalize(features.float().cpu().numpy())

    def embed_jpegs(
        self, blobs: Sequence[bytes], orientations: Sequence[int], thumbnail_edges: Sequence[int | None]
    ) -> JpegBatch[np.ndarray]:
        """JPEG files' bytes decoded on the model's device and embedded (see jpeg_device.py).
        Photos the device refuses come back in `failed`, for the caller to decode on the CPU."""
        import torch

        self.load()
        with torch.inference_mode():
            batch = decode_batch(blobs, orientations, self._size, self.device, thumbnail_edges)
            vectors = self._encode_on_device(batch.rows) if batch.decoded else np.empty((0, self._dim), np.float32)
        return JpegBatch(vectors, batch.decoded, batch.thumbnails, batch.failed)

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        self.load()
        if len(batch) == 0:
            return np.empty((0, self._dim), np.float32)
        vectors = self._encode(batch)
        if self.device == "cpu":
            give_back_freed_memory()  # the batch's activations, kept by glibc otherwise (heap.py)
        return vectors

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self.load()
        if not texts:
            return np.empty((0, self._dim), np.float32)
        tower = self._tower_texts
        if tower is not None:
            return tower.embed_texts(texts)
        with torch.inference_mode():
            tokens = self._tokenizer(list(texts)).to(self.device)
            if self._trimmed is None:
                self._trimmed = self._trimmed_texts_agree(torch)
            features = encode_text_trimmed(self._model, tokens) if self._trimmed else self._model.encode_text(tokens)
            return normalize(features.float().cpu().numpy())

    def _trimmed_texts_agree(self, torch: Any) -> bool:
        """Whether the short text path gives this model's own answer (checked once per load)."""
        if not can_trim_text(self._model):
            return False
        probe = ["a photo of a dog.", "a blurry photo of the big red bus parked outside the old station."]
        try:
            with torch.inference_mode():
                tokens = self._tokenizer(probe).to(self.device)
                full = normalize(self._model.encode_text(tokens).float().cpu().numpy())
                short = normalize(encode_text_trimmed(self._model, tokens).float().cpu().numpy())
        except Exception:
            log.info("trimmed text encoding unavailable for %s", self.model_id, exc_info=True)
            return False
        return bool(np.min(np.sum(full * short, axis=1)) >= 0.9999)
