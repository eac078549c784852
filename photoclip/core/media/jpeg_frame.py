"""Which JPEGs a GPU's decoder takes: the coding their frame header names.

nvJPEG (torchvision's `decode_jpeg` on CUDA) decodes baseline and progressive Huffman-coded
JPEGs of 8 bits a sample. Other codings exist in the wild: arithmetic coding (SOF9-SOF11,
which `jpegtran -arithmetic` writes and libjpeg-turbo, hence Pillow, decodes), lossless and
12-bit JPEGs (medical and some raw converters' output), hierarchical frames. Given to the
device, such a file fails its whole batch at best; on the CPU it is decoded, or refused with
the CPU's reason, as any other file.
"""

from __future__ import annotations

from photoclip.core.media.jpeg_trailer import header_markers

BASELINE = 0xC0
PROGRESSIVE = 0xC2
# The start-of-frame markers: 0xC0-0xCF but for DHT (0xC4), JPG (0xC8) and DAC (0xCC).
START_OF_FRAME = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def device_decodable(data: bytes) -> bool:
    """Whether the frame header says baseline or progressive Huffman coding, 8 bits a sample
    (the precision is the first byte after the segment's length)."""
    for at, marker in header_markers(data):
        if marker in START_OF_FRAME:
            return marker in (BASELINE, PROGRESSIVE) and at + 4 < len(data) and data[at + 4] == 8
        if marker == 0xDA:
            return False  # a scan before any frame: not a JPEG the device should be trusted with
    return False
