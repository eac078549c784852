"""JPEGs decoded where the model runs: on a GPU, torchvision's batched nvJPEG decoder.

On a CPU, decoding a 12-MP JPEG (~30 core-ms, even reduced by DCT scaling) costs less than
the model; on a GPU the model embeds hundreds of photos a second and the CPU's decoders
cannot keep up. Here the file's bytes go to the device in a batch, are decoded there at
full size, turned upright, reduced to the model's input (and to a thumbnail) and handed on,
so that only a few hundred kilobytes a photo cross back to the host.

Any photo the device cannot decode (CMYK, arithmetic coding, a damaged file) is reported
back by its position, and the caller decodes it on the CPU as before. torch is imported
by the caller (the embedder, once loaded): importing this module imports nothing heavy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from photoclip.core.geometry import centre_crop, is_very_elongated

log = logging.getLogger(__name__)


Rows = TypeVar("Rows")


@dataclass
class JpegBatch(Generic[Rows]):
    """A batch of JPEGs through the model's device. `rows[i]` and `thumbnails[i]` belong to
    the photo at position `decoded[i]`: `rows` are the model inputs (N, 3, S, S), uint8 on the
    device, as `decode_batch` gives them, then their vectors (N, D) as
    `OpenClipEmbedder.embed_jpegs` gives them. `thumbnails` are (H, W, 3) uint8 on the host,
    or None where none was asked for; `failed` the positions the device refused, for the CPU."""

    rows: Rows
    decoded: list[int]
    thumbnails: list[np.ndarray | None]
    failed: list[int]


def jpeg_decoder_available() -> bool:
    """Whether this torchvision decodes JPEGs (deprecated since 0.29 in favour of TorchCodec:
    where a later one has dropped it, photos are decoded on the CPU as before)."""
    try:
        from torchvision.io import ImageReadMode, decode_jpeg  # noqa: F401
    except ImportError:
        return False
    return True


def orient(torch: Any, image: Any, orientation: int) -> Any:
    """(C, H, W) turned as EXIF orientation 1-8 says, as Pillow's `exif_transpose` does."""
    if orientation == 2:
        return image.flip(-1)
    if orientation == 3:
        return image.flip(-1).flip(-2)
    if orientation == 4:
        return image.flip(-2)
    if orientation == 5:
        return image.transpose(-1, -2)
    if orientation == 6:
        return torch.rot90(image, -1, (-2, -1))  # a quarter turn clockwise
    if orientation == 7:
        return image.transpose(-1, -2).flip(-1).flip(-2)  # across the other diagonal
    if orientation == 8:
        return torch.rot90(image, 1, (-2, -1))
    return image


def reduced(torch: Any, image: Any, short_side: int) -> Any:
    """uint8 (C, H, W) -> float (C, h, w), averaged over k x k blocks while the short side
    stays >= 2 x `short_side` (Pillow's reducing_gap, or the CPU path's DCT scaling): the
    resizes after it then filter a few hundred rows, not 3,000. Each output pixel still
    averages every pixel of its block, so nothing aliases."""
    k = min(image.shape[1:]) // (2 * short_side)
    pixels = image.unsqueeze(0).float()
    if k >= 2:
        pixels = torch.nn.functional.avg_pool2d(pixels, k, k)
    return pixels.squeeze(0)


def _resized(torch: Any, image: Any, height: int, width: int) -> Any:
    """float (C, H, W) -> uint8 (C, height, width), bicubic with antialiasing: the reduction
    averages every source pixel, as Pillow's resize does, where plain bicubic would alias."""
    scaled = torch.nn.functional.interpolate(image.unsqueeze(0), size=(height, width), mode="bicubic", antialias=True, align_corners=False)
    return scaled.squeeze(0).round_().clamp_(0, 255).to(torch.uint8)


def model_input(torch: Any, image: Any, size: int) -> Any:
    """The shortest side to `size`, centre-cropped: open_clip's preprocess geometry, as
    media.decode.prepare_for_model does on the CPU. `image` is float (C, H, W)."""
    _, h, w = image.shape
    new_w, new_h, left, top = centre_crop(w, h, size)
    resized = _resized(torch, image, new_h, new_w)
    return resized[:, top : top + size, left : left + size]


def thumbnail(torch: Any, image: Any, edge: int) -> Any:
    """The longest side to `edge` (never enlarged): uint8 (H, W, 3), still on the device."""
    _, h, w = image.shape
    scale = min(1.0, edge / max(w, h))
    if scale < 1:
        small = _resized(torch, image, max(1, round(h * scale)), max(1, round(w * scale)))
    else:
        small = image.round().clamp(0, 255).to(torch.uint8)
    return small.permute(1, 2, 0)


def _to_host(torch: Any, images: list[Any]) -> list[np.ndarray]:
    """Several small device images to the host in one copy (one wait for the device, not one each)."""
    if not images:
        return []
    flat = torch.cat([image.reshape(-1) for image in images]).cpu().numpy()
    out: list[np.ndarray] = []
    at = 0
    for image in images:
        n = image.numel()
        out.append(flat[at : at + n].reshape(tuple(image.shape)))
        at += n
    return out


def _decode_one(decode_jpeg: Any, mode: Any, blob: Any, device: str) -> Any:
    """One photo alone, after its batch failed: None where the device refuses it."""
    if blob is None:
        return None
    try:
        return decode_jpeg(blob, mode=mode, device=device)
    except (RuntimeError, ValueError):
        return None


def decode_batch(
    blobs: Sequence[bytes], orientations: Sequence[int], size: int, device: str, thumbnail_edges: Sequence[int | None]
) -> JpegBatch[Any]:
    """Decode a batch of JPEG files' bytes on `device`, upright, at the model's input size."""
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg

    # torch cannot wrap no bytes (ValueError): an empty file is left out of the batch, and failed.
    encoded = [torch.frombuffer(bytearray(blob), dtype=torch.uint8) if blob else None for blob in blobs]
    one_by_one = False
    try:
        if any(blob is None for blob in encoded):
            raise ValueError("an empty file in the batch")
        images: list[Any] = list(decode_jpeg(encoded, mode=ImageReadMode.RGB, device=device)) if encoded else []
    except (RuntimeError, ValueError):
        # One damaged photo fails the whole batch, and so does a batch too large for the
        # device's memory (32 photos of 50 MP: 4.8 GB): then each is decoded alone, just
        # before it is reduced, so that one full-size photo at a time is held.
        one_by_one = True
        images = [None] * len(encoded)
    inputs: list[Any] = []
    decoded: list[int] = []
    small: list[Any] = []
    wanted: list[int] = []  # positions in `decoded` that asked for a thumbnail
    failed: list[int] = []
    for position, (orientation, edge) in enumerate(zip(orientations, thumbnail_edges)):
        image, images[position] = images[position], None  # 36 MB on the device for 12 MP: freed once reduced
        if one_by_one:
            image = _decode_one(decode_jpeg, ImageReadMode.RGB, encoded[position], device)
        if image is None or image.ndim != 3 or image.shape[0] != 3 or min(image.shape[1:]) < 1:
            failed.append(position)
            continue
        if is_very_elongated(int(image.shape[2]), int(image.shape[1])):
            failed.append(position)  # resized whole before the crop: gigabytes (the CPU cuts it out first)
            continue
        try:
            upright = reduced(torch, orient(torch, image, orientation), max(size, edge or 0))
            model_in = model_input(torch, upright, size)
            small_one = thumbnail(torch, upright, edge) if edge else None
        except (RuntimeError, ValueError):
            # Out of device memory (torch's OutOfMemoryError is a RuntimeError) on one photo:
            # that photo goes to the CPU, not the whole batch and the indexing pass with it.
            log.warning("the model's device could not reduce a %s photo", "x".join(map(str, image.shape[1:])), exc_info=True)
            failed.append(position)
            continue
        finally:
            del image
        inputs.append(model_in)
        if small_one is not None:
            wanted.append(len(decoded))
            small.append(small_one)
        decoded.append(position)
        del upright, model_in, small_one
    pixels = torch.stack(inputs) if inputs else torch.empty((0, 3, size, size), dtype=torch.uint8, device=device)
    thumbnails: list[np.ndarray | None] = [None] * len(decoded)
    for at, host in zip(wanted, _to_host(torch, small)):
        thumbnails[at] = host
    return JpegBatch(pixels, decoded, thumbnails, failed)
