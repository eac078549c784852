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
    """Whether the header holds one frame header, before the first scan, saying baseline or
    progressive Huffman coding, 8 bits a sample (the precision is the first byte after the
    segment's length). A second frame header is a damaged file that libjpeg refuses
    ("two SOF markers"), and Pillow reports the last one's size and mode where the first
    one could say 12 bits or 60000x60000 pixels (a device allocation of gigabytes)."""
    frame: tuple[int, int] | None = None
    for at, marker in header_markers(data):
        if marker in START_OF_FRAME:
            if frame is not None:
                return False
            frame = at, marker
        elif marker == 0xDA:  # the first scan: the frame must have come before it
            if frame is None:
                return False
            at, marker = frame
            return marker in (BASELINE, PROGRESSIVE) and at + 4 < len(data) and data[at + 4] == 8
    return False  # no scan in the header's walk (truncated, or stopped at junk)
