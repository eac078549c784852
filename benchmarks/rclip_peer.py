"""rclip as the benchmark's peer: its own virtual environment, and our random-weights model
exported to the folder layout rclip reads.

rclip (>= 4) needs Python >= 3.12 and never imports torch: it runs two ONNX files with
ONNX Runtime, `<RCLIP_DATADIR>/ViT-B-32-256-datacomp_s34b_b86k/{visual,textual}.onnx`,
tokenizes with the CLIP BPE vocabulary at `<RCLIP_DATADIR>/tokenizer/bpe_simple_vocab_16e6.txt.gz`,
and downloads from its model hub whatever of those (or of its four licence files beside
them) is missing. We lay all of them out, so it never tries the network. Its database is
`<RCLIP_DATADIR>/db.sqlite3`; it indexes the working directory, then answers the query.

The export follows what rclip's own scripts/convert_model.py does: the image tower and
`encode_text` each wrapped in a module, the TorchScript exporter (not dynamo), opset 18,
a dynamic batch axis, the multi-head-attention fast path off while tracing, inputs named
"input" and outputs "output"; each file is checked against open_clip's output.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import common

MODEL_SUBDIR = "ViT-B-32-256-datacomp_s34b_b86k"  # the only model rclip knows
LEGAL_FILES = ("LICENSE", "OPENAI-CLIP-MIT.txt", "README.md", "THIRD_PARTY_NOTICES.md")


def find_python312(explicit: str | None) -> tuple[str | None, str]:
    """An interpreter >= 3.12 for rclip's venv: the one given, one on PATH, or pyenv's."""
    candidates = [explicit] if explicit else []
    for name in ("python3.13", "python3.12"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    home = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(str(home / "versions" / "3.1[23]*" / "bin" / "python3")), reverse=True)
    for candidate in candidates:
        if not candidate:
            continue
        try:
            out = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info >= (3, 12))"], capture_output=True, text=True, timeout=60
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.stdout.strip() == "True":
            return candidate, ""
    return None, "no Python >= 3.12 found (rclip 4 needs one): give one with --python, or install one with pyenv"


def ensure_rclip(version: str, python: str | None) -> tuple[Path | None, str]:
    """The rclip executable in benchmarks/out/rclip-<version>/ (installed once), or why not."""
    venv = common.OUT / f"rclip-{version}"
    exe = venv / "bin" / "rclip"
    if exe.exists():
        return runnable(exe), ""
    interpreter, why = find_python312(python)
    if interpreter is None:
        return None, why
    print(f"installing rclip {version} into {venv} with {interpreter} (once) ...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    made = subprocess.run([interpreter, "-m", "venv", str(venv)], capture_output=True, text=True)
    if made.returncode != 0:
        return None, f"could not make a venv with {interpreter}: {made.stderr.strip()[-300:]}"
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"rclip=={version}"], capture_output=True, text=True)
    if pip.returncode != 0 or not exe.exists():
        lines = [line for line in pip.stderr.splitlines() if line.startswith("ERROR")] or pip.stderr.splitlines()[-3:]
        shutil.rmtree(venv, ignore_errors=True)
        return None, f"pip could not install rclip=={version}: {' '.join(lines)[-400:]}"
    return exe, ""


def runnable(exe: Path) -> Path:
    """`exe`, or a launcher through its venv's python when the venv was moved since it was
    made (pip wrote the old folder into the script's first line)."""
    first = exe.read_text(errors="replace").splitlines()[0] if exe.stat().st_size else ""
    interpreter = first[2:].strip().split(" ")[0] if first.startswith("#!") else ""
    if not interpreter or os.path.exists(interpreter):
        return exe
    launcher = common.temp_dir("rclip-launcher-") / "rclip"
    launcher.write_text(f'#!/bin/sh\nexec "{exe.parent / "python"}" "{exe}" "$@"\n')
    launcher.chmod(0o755)
    return launcher


def exported_model(checkpoint: Path, model_name: str) -> Path:
    """A folder with rclip's model layout for `checkpoint`, exported once and cached."""
    from photoclip.core.model.choice import file_digest

    folder = common.OUT / f"rclip-model-{model_name}-{file_digest(str(checkpoint))}"
    if (folder / "done").exists():
        return folder
    import numpy as np
    import onnxruntime as ort
    import open_clip
    import torch

    print(f"exporting {checkpoint.name} to rclip's ONNX layout in {folder} (once) ...", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    model_dir = folder / MODEL_SUBDIR
    model_dir.mkdir(parents=True)
    model = open_clip.create_model(model_name, pretrained=str(checkpoint))
    model.eval()
    size = model.visual.image_size
    size = int(size[0] if isinstance(size, (tuple, list)) else size)
    context = int(model.context_length)

    class ImageTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.visual = model.visual

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return self.visual(pixels)

    class TextTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.clip = model

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return self.clip.encode_text(tokens)

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # the fused kernel does not export
    try:
        for wrapper, example, name in (
            (ImageTower(), torch.randn(1, 3, size, size), "visual.onnx"),
            (TextTower(), torch.zeros(1, context, dtype=torch.long), "textual.onnx"),
        ):
            torch.onnx.export(
                wrapper.eval(),
                (example,),
                str(model_dir / name),
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                opset_version=18,
                dynamo=False,
            )
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)

    # Check both files against open_clip before rclip is timed with them.
    tokenizer = open_clip.get_tokenizer(model_name)
    pixels = torch.randn(2, 3, size, size)
    tokens = tokenizer(["a photo of a dog", "a red bus outside an old station"])
    with torch.inference_mode():
        expected = {"visual.onnx": model.visual(pixels).numpy(), "textual.onnx": model.encode_text(tokens).numpy()}
    for name, given in (("visual.onnx", pixels.numpy()), ("textual.onnx", tokens.numpy())):
        session = ort.InferenceSession(str(model_dir / name), providers=["CPUExecutionProvider"])
        (got,) = session.run(None, {"input": given})
        ref = expected[name] / np.linalg.norm(expected[name], axis=1, keepdims=True)
        got = got / np.linalg.norm(got, axis=1, keepdims=True)
        cosine = float(np.min(np.sum(ref * got, axis=1)))
        if cosine < 0.9999:
            raise RuntimeError(f"rclip's {name} disagrees with open_clip (cosine {cosine:.6f})")
    vocab = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    (folder / "tokenizer").mkdir()
    shutil.copy2(vocab, folder / "tokenizer" / vocab.name)
    for name in LEGAL_FILES:  # present, so rclip does not fetch its own; these weights are random
        (folder / name).write_text("Random weights made by photoclip's benchmark; no licence applies.\n")
    (folder / "done").write_text("")
    return folder


def fresh_datadir(model_folder: Path) -> Path:
    """An RCLIP_DATADIR with no database, whose model files point into the exported folder."""
    datadir = common.temp_dir("rclip-data-")
    for entry in model_folder.iterdir():
        if entry.name != "done":
            os.symlink(entry, datadir / entry.name)
    return datadir


def rclip_version(exe: Path) -> str:
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    return (out.stdout or out.stderr).strip() or "rclip (version unknown)"


if __name__ == "__main__":
    sys.exit("run benchmarks/bench_vs_rclip.py")
