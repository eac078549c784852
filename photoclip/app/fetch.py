"""Query images that do not come from disk: a URL dropped from a browser, a pasted image.

Both end as a file in the cache's `queries/` folder, because core's image search
takes a path. Fetching runs in a worker thread (urllib: blocking is fine there),
http(s) only, with a size cap and a timeout.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from photoclip.core import paths
from photoclip.core.errors import PhotoclipError

MAX_BYTES = 25 * 1024 * 1024
TIMEOUT = 15.0
IMAGE_SUFFIXES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/avif": ".avif",
}


class FetchError(PhotoclipError):
    pass


def query_dir() -> Path:
    target = paths.cache_dir() / "queries"
    target.mkdir(parents=True, exist_ok=True)
    return target


def fetch_image(url: str, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT) -> str:
    """Download an image URL to the query folder; returns the file's path. Worker thread only."""
    if not url.lower().startswith(("http://", "https://")):
        raise FetchError("Only http and https image addresses can be searched with.")
    request = urllib.request.Request(url, headers={"User-Agent": "photoclip (image search)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            final = response.geturl()
            if not final.lower().startswith(("http://", "https://")):
                raise FetchError("The address redirected to something that is not http(s).")
            kind = (response.headers.get_content_type() or "").lower()
            if not kind.startswith("image/"):
                raise FetchError(f"The address is not an image (it is {kind or 'unknown'}).")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FetchError(f"The image is larger than {max_bytes // (1024 * 1024)} MB.")
            data = response.read(max_bytes + 1)
    except FetchError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"Could not download the image: {reason}") from exc
    if len(data) > max_bytes:
        raise FetchError(f"The image is larger than {max_bytes // (1024 * 1024)} MB.")
    return _store(data, IMAGE_SUFFIXES.get(kind, ".img"))


def store_image_bytes(data: bytes, suffix: str = ".png") -> str:
    """Keep pasted or dropped image data as a query file."""
    return _store(data, suffix)


def _store(data: bytes, suffix: str) -> str:
    digest = hashlib.blake2b(data, digest_size=12).hexdigest()
    target = query_dir() / f"{digest}{suffix}"
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=suffix)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    return str(target)
