"""What the user chose (architecture, weights tag or file, device, precision) and the id
stored beside every vector made with it."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass

from photoclip.core import paths
from photoclip.core.errors import ModelUnavailable
from photoclip.core.model.protocol import DEFAULT_MODEL, DEFAULT_WEIGHTS


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

    @property
    def weights_tag(self) -> str | None:
        """open_clip's pretrained tag, or None when the weights are a file."""
        return None if self.weights_is_file else self.weights

    @property
    def weights_file(self) -> str | None:
        """The checkpoint file's absolute path, or None when the weights are an open_clip tag."""
        return os.path.abspath(self.weights) if self.weights_is_file else None

    def describe(self) -> str:
        """What is in use, in plain words: "ViT-B-32-256 · datacomp_s34b_b86k" or
        "ViT-B-32-256 · file /home/me/clip.safetensors". Exactly the pair that loads, never a
        default filled in beside a file."""
        if self.weights_file is not None:
            return f"{self.name} · file {self.weights_file}"
        return f"{self.name} · {self.weights}"


def checkpoint_problem(path: str) -> str | None:
    """Why `path` cannot be a checkpoint file, in words (None when it may be one).

    Checked before anything opens it: a named pipe would block a plain open() forever,
    and /dev/zero or /dev/urandom behind a link would be read without end."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode):
        return f"is {paths.file_kind(st.st_mode)}, not a checkpoint file"
    if st.st_size == 0:
        return "is empty"
    return None


class NotARegularFile(OSError):
    """A path to be digested is a pipe, device or folder (found on the open file itself)."""


def file_digest(path: str) -> str:
    """A short identity for a file: size plus samples of its content.

    The open never blocks and the type is checked on the open file: a named pipe would
    block a plain open() forever, a device be read without end. Raises OSError
    (NotARegularFile for those) when it cannot be read."""
    h = hashlib.blake2b(digest_size=8)
    try:
        fd, st = paths.open_regular(path)
    except paths.NotAPlainFile as exc:  # an OSError here: callers handle unreadable files as such
        raise NotARegularFile(f"it {exc}") from exc
    try:
        h.update(str(st.st_size).encode())
        for offset in (0, max(0, st.st_size // 2 - 65536), max(0, st.st_size - 131072)):
            os.lseek(fd, offset, os.SEEK_SET)
            h.update(_read_up_to(fd, 131072))
    finally:
        os.close(fd)
    return h.hexdigest()


def _read_up_to(fd: int, count: int) -> bytes:
    chunks = []
    while count > 0:
        chunk = os.read(fd, count)
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def model_id_for(choice: ModelChoice) -> str:
    """The id stored beside every vector, so models never mix and can coexist."""
    if choice.weights_is_file:
        problem = checkpoint_problem(choice.weights)
        if problem is not None:
            raise ModelUnavailable(f"The model weights file {choice.weights} {problem}.")
        try:
            return f"{choice.name}:file-{file_digest(choice.weights)}"
        except OSError as exc:
            raise ModelUnavailable(f"The model weights file {choice.weights} cannot be read: {exc.strerror or exc}") from exc
    return f"{choice.name}:{choice.weights}"
