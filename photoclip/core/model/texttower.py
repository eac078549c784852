"""A cached ONNX copy of a model's text tower, so that a text search in a fresh process
needs neither torch nor open_clip (importing them and building the model cost seconds;
the query itself, milliseconds).

open_clip stays the source of truth: a tower is exported from the open_clip model loaded
in fp32 from the same weights, then checked on sample texts (our tokenizer must give
open_clip's ids, and ONNX Runtime's vectors must be within cosine 0.9999 of open_clip's)
before it is used. A tower that fails the check is recorded as failed and never used.

The cache lives in photoclip's cache folder (a user's weights file may sit in a folder
that is not ours to write to), one folder per model id, holding `textual.onnx` (the graph,
already optimised by ONNX Runtime), `textual.weights` (its tensors, kept apart so that ONNX
Runtime maps them from the file instead of copying them: a session starts in a third of
the time, at half the memory), the tokenizer's vocabulary (and `tokenizer.tables`, the
same read into the tokenizer's tables) and `tower.json`. It is keyed by
the model id and a digest of the weights file: when the weights change (or ONNX Runtime,
or the tokenizer's revision), the old tower is not used and the next load of the real
model exports a new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photoclip.core import paths
from photoclip.core.model.bpe import ClipTokenizer
from photoclip.core.model.choice import ModelChoice, file_digest, model_id_for
from photoclip.core.model.noinit import no_random_init, strict_checkpoint
from photoclip.core.model.protocol import normalize

log = logging.getLogger(__name__)

MIN_COSINE = 0.9999
TOKENIZER_REVISION = 1  # bump when bpe.py changes what it produces
# How the folder is laid out: 1 was one self-contained textual.onnx; 2 keeps the tensors
# in textual.weights. A tower of another layout is exported again at the next model load.
TOWER_LAYOUT = 2
WEIGHTS_FILE = "textual.weights"
TABLES_FILE = "tokenizer.tables"  # the vocabulary as read, for a faster start (bpe.save_tables)
PROBES = (
    "a photo of a dog.",
    "Kids on a BEACH at sunset!",
    "a blurry photo of the big red bus parked outside the old station, seen from across the street at night",
    "café crème, 東京 & naïve résumé 😀",
    "",
    "word " * 90,  # longer than the context: cut to fit
)


def towers_dir() -> Path:
    return paths.cache_dir() / "text-towers"


def tower_dir(model_id: str) -> Path:
    return towers_dir() / re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)


def _runtime_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("onnxruntime")
    except Exception:
        return None


@dataclass(frozen=True)
class TowerRecord:
    """What tower.json says: which weights the tower was made from, and its check."""

    model_id: str
    weights_path: str
    weights_digest: str
    onnx_digest: str
    dim: int
    context_length: int
    runtime: str
    tokenizer_revision: int
    cosine: float
    verified: bool
    reason: str = ""
    layout: int = 1  # records written before the layout was recorded are layout 1
    tensors_digest: str = ""
    tables_digest: str = ""

    def current(self, model_id: str) -> bool:
        """Whether this record still describes the model's weights and this installation."""
        if self.model_id != model_id or self.runtime != _runtime_version() or self.tokenizer_revision != TOKENIZER_REVISION:
            return False
        if self.layout != TOWER_LAYOUT:
            return False
        try:
            return file_digest(self.weights_path) == self.weights_digest
        except OSError:
            return False


def read_record(model_id: str) -> TowerRecord | None:
    """The folder's record; None when there is no usable one (a named pipe in its place
    is not opened: a plain read of one blocked every text search)."""
    try:
        data = json.loads(paths.read_regular_file(tower_dir(model_id) / "tower.json", 1 << 20))
        return TowerRecord(**data)
    except (OSError, ValueError, TypeError, RecursionError, paths.NotAPlainFile):
        return None


class TextTower:
    """A verified cached text tower run by ONNX Runtime: texts to unit vectors."""

    def __init__(self, record: TowerRecord, folder: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        options.log_severity_level = 3  # errors only: ORT's warnings are not the user's business
        # The file was optimised once at export (see `_optimise`): redoing it costs a third
        # of the session's start-up on every search.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        self.record = record
        self.model_id = record.model_id
        self.dim = record.dim
        self._session = ort.InferenceSession(str(folder / "textual.onnx"), sess_options=options, providers=["CPUExecutionProvider"])
        self._tokenizer = ClipTokenizer(folder / "vocab.txt.gz", record.context_length, tables=folder / TABLES_FILE)

    @classmethod
    def open(cls, choice: ModelChoice) -> TextTower | None:
        """The tower for this choice if one is cached, current and verified; else None. No torch."""
        found = _usable(choice)
        if found is None:
            return None
        record, folder = found
        try:
            return cls(record, folder)
        except Exception:
            log.info("cached text tower for %s unusable", record.model_id, exc_info=True)
            return None

    @staticmethod
    def ready(choice: ModelChoice) -> bool:
        """Whether `open` would find a tower, without starting a session (~250 MB for ViT-B-32)."""
        return _usable(choice) is not None

    def tokens(self, texts: Sequence[str]) -> np.ndarray:
        return self._tokenizer(texts)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), np.float32)
        (features,) = self._session.run(None, {"input": self.tokens(texts)})
        return normalize(features)


def _usable(choice: ModelChoice) -> tuple[TowerRecord, Path] | None:
    """The record and folder of a cached, current, verified and undamaged tower."""
    if _runtime_version() is None:
        return None
    try:
        model_id = model_id_for(choice)
    except Exception:
        return None
    record = read_record(model_id)
    folder = tower_dir(model_id)
    if record is None or not record.verified or not record.current(model_id):
        return None
    try:
        found = [file_digest(str(folder / name)) for name in ("textual.onnx", WEIGHTS_FILE, TABLES_FILE)]
        if found != [record.onnx_digest, record.tensors_digest, record.tables_digest]:
            return None  # changed or damaged since it was checked
    except OSError:
        return None
    return record, folder


def needs_export(choice: ModelChoice) -> bool:
    """Whether no tower (verified or known to fail) matches this choice's weights."""
    if _runtime_version() is None:
        return False
    try:
        model_id = model_id_for(choice)
    except Exception:
        return False
    remove_abandoned_exports(towers_dir())
    record = read_record(model_id)
    return record is None or not record.current(model_id)


def export_text_tower(choice: ModelChoice, checkpoint: str) -> TowerRecord | None:
    """Export and check the text tower of `choice` loaded from `checkpoint` (imports torch).

    Returns the record written (verified or not), or None when the export itself could not
    run (no onnx exporter, an architecture it cannot trace): then nothing is cached and the
    full model keeps answering.
    """
    try:
        return _export(choice, checkpoint)
    except Exception as exc:
        log.info("text tower export for %s failed: %s", choice.name, exc, exc_info=True)
        _record_failure(choice, checkpoint, f"export failed: {type(exc).__name__}: {str(exc)[:200]}")
        return None


def _record_failure(choice: ModelChoice, checkpoint: str, reason: str) -> None:
    """Remember that these weights cannot be exported here, so that later searches do not
    pay for trying again (a change of weights or of ONNX Runtime tries again)."""
    try:
        model_id = model_id_for(choice)
        record = TowerRecord(
            model_id=model_id,
            weights_path=os.path.abspath(checkpoint),
            weights_digest=file_digest(checkpoint),
            onnx_digest="",
            dim=0,
            context_length=0,
            runtime=_runtime_version() or "",
            tokenizer_revision=TOKENIZER_REVISION,
            cosine=0.0,
            verified=False,
            reason=reason,
            layout=TOWER_LAYOUT,
        )
        folder = tower_dir(model_id)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        paths.write_atomically(folder / "tower.json", json.dumps(record.__dict__, indent=1).encode())
    except OSError:
        pass


def _export(choice: ModelChoice, checkpoint: str) -> TowerRecord:
    import open_clip
    import torch

    model_id = model_id_for(choice)
    with no_random_init() if strict_checkpoint(checkpoint) else contextlib.nullcontext():
        model = open_clip.create_model(choice.name, pretrained=checkpoint, device="cpu")
    model.eval()
    tokenizer = open_clip.get_tokenizer(choice.name)
    context = int(getattr(tokenizer, "context_length", None) or model.context_length)
    vocab = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"

    class Encoder(torch.nn.Module):
        def __init__(self, clip: Any) -> None:
            super().__init__()
            self.clip = clip

        def forward(self, tokens: torch.Tensor) -> Any:
            return self.clip.encode_text(tokens)

    target = tower_dir(model_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".export-{os.getpid()}-", dir=target.parent))
    try:
        fastpath = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)  # its fused kernel cannot be traced
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer's notes are for developers; the check below decides
                torch.onnx.export(
                    Encoder(model).eval(),
                    (torch.zeros(1, context, dtype=torch.long),),
                    str(work / "raw.onnx"),
                    input_names=["input"],
                    output_names=["output"],
                    dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                    opset_version=18,
                    dynamo=False,
                )
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
        _optimise(work / "raw.onnx", work / "textual.onnx")
        shutil.copyfile(vocab, work / "vocab.txt.gz")
        ClipTokenizer(work / "vocab.txt.gz", context).save_tables(work / TABLES_FILE)
        with torch.inference_mode():
            expected_tokens = tokenizer(list(PROBES))
            expected = normalize(model.encode_text(expected_tokens).float().numpy())
        dim = int(expected.shape[1])
        del model
        record = TowerRecord(
            model_id=model_id,
            weights_path=os.path.abspath(checkpoint),
            weights_digest=file_digest(checkpoint),
            onnx_digest=file_digest(str(work / "textual.onnx")),
            tensors_digest=file_digest(str(work / WEIGHTS_FILE)),
            tables_digest=file_digest(str(work / TABLES_FILE)),
            layout=TOWER_LAYOUT,
            dim=dim,
            context_length=context,
            runtime=_runtime_version() or "",
            tokenizer_revision=TOKENIZER_REVISION,
            cosine=0.0,
            verified=False,
        )
        record = _verify(record, work, expected_tokens.numpy(), expected)
        paths.write_atomically(work / "tower.json", json.dumps(record.__dict__, indent=1).encode())
        _replace_folder(work, target)
        log.info("text tower for %s exported: %s", model_id, "verified" if record.verified else record.reason)
        return record
    finally:
        shutil.rmtree(work, ignore_errors=True)


def remove_abandoned_exports(folder: Path) -> None:
    """Remove the work folders of exports whose process is gone (~250 MB each for ViT-B-32).

    The app leaves an export running when it quits rather than keep the user waiting, and
    a killed process never reaches its clean-up: whoever next loads a full model clears up
    (`needs_export`, asked after every full-model load and before any export)."""
    try:
        works = list(folder.glob(".export-*"))
    except OSError:
        return
    for work in works:
        if not _abandoned(work):
            continue
        shutil.rmtree(work, ignore_errors=True)


def _abandoned(work: Path) -> bool:
    """A work folder named `.export-PID-…` whose process has ended (where that can be asked
    safely: on Windows os.kill ends a process, so there an hour's age decides)."""
    parts = work.name.split("-")
    pid = int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None
    if pid is None or os.name != "posix":
        try:
            return time.time() - work.stat().st_mtime > 3600
        except OSError:
            return False
    return pid != os.getpid() and not paths.process_alive(pid)


def _optimise(raw: Path, target: Path) -> None:
    """Save ONNX Runtime's graph optimisations (fused attention, layer norm, GELU) into the
    file the tower runs, once, with its tensors in WEIGHTS_FILE beside it. EXTENDED, not
    ALL: ALL may write layouts for this machine's CPU only. The files are verified as they
    will run, and keyed by ONNX Runtime's version."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", WEIGHTS_FILE)
    options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    options.log_severity_level = 3
    ort.InferenceSession(str(raw), sess_options=options, providers=["CPUExecutionProvider"])
    raw.unlink()


def _verify(record: TowerRecord, folder: Path, expected_tokens: np.ndarray, expected: np.ndarray) -> TowerRecord:
    """The record, marked verified only when tokens match exactly and vectors within MIN_COSINE."""
    tower = TextTower(record, folder)
    got_tokens = tower.tokens(list(PROBES))
    if got_tokens.shape != expected_tokens.shape or not np.array_equal(got_tokens, expected_tokens):
        return _with(record, cosine=0.0, verified=False, reason="photoclip's tokenizer differs from this model's")
    cosine = float(np.min(np.sum(run_session(tower, expected_tokens) * expected, axis=1)))
    if cosine < MIN_COSINE:
        return _with(record, cosine=cosine, verified=False, reason=f"ONNX output differs from open_clip's (cosine {cosine:.6f})")
    return _with(record, cosine=cosine, verified=True)


def run_session(tower: TextTower, tokens: np.ndarray) -> np.ndarray:
    """The tower's unit vectors for given token ids (a seam for the tests' failed check)."""
    (features,) = tower._session.run(None, {"input": tokens})
    return normalize(features)


def _with(record: TowerRecord, **changes: Any) -> TowerRecord:
    return TowerRecord(**{**record.__dict__, **changes})


def _replace_folder(source: Path, target: Path) -> None:
    """Move the new tower into place (same folder, so renames): the old one goes first."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(source, target)
    shutil.rmtree(old, ignore_errors=True)
