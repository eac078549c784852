"""Sidecar sync as a use case: bring photos' XMP sidecars in line with their tags."""

from __future__ import annotations

from collections.abc import Iterable

from photoclip.app.changes import Changes
from photoclip.core.db import Library
from photoclip.core.xmp import sidecar


def write_sidecars(lib: Library, photo_ids: Iterable[int] | None, enabled: bool = True) -> Changes:
    """Write the sidecars of these photos (all, for None) when the user asked for sidecars."""
    if not enabled:
        return Changes()
    problems: list[tuple[str, str]] = []
    ids = None if photo_ids is None else [int(p) for p in photo_ids]
    written = sidecar.export_xmp(lib, problems=problems, photo_ids=ids)
    return Changes(sidecars_written=list(written), problems=problems)
