"""The model's input geometry, one rule for the CPU's decoders (media/decode.py) and a GPU's
(model/jpeg_device.py), which may not import each other: the shortest side to the input
size, then the centre square, as open_clip's preprocess does."""

from __future__ import annotations

# Beyond this ratio of long side to short, resizing the short side to the model's input
# before the centre crop costs more memory than the photo (a 65500x1 JPEG of a few KB would
# become 14.7M x 224 pixels): such photos have their crop cut out first.
MAX_RESIZED_ASPECT = 16


def is_very_elongated(width: int, height: int) -> bool:
    """Whether a photo is so much longer than wide that the model's input must be cut out
    before it is resized (a strip, a 1-pixel-high JPEG)."""
    return max(width, height) > MAX_RESIZED_ASPECT * min(width, height)


def centre_crop(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """(new width, new height, left, top): the photo resized so that its shortest side is
    `size`, and where the centre `size` x `size` square starts in it."""
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    return new_w, new_h, round((new_w - size) / 2.0), round((new_h - size) / 2.0)
