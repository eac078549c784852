"""Optional bridge to the tagging engine (`photoclip.core.tagging`), if it is installed.

The app works without it: the tag filter then accepts a typed tag name (core's
search filters know the tags table), and the viewer shows no tags. Everything here
runs on the library thread (it reads the database).
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

log = logging.getLogger(__name__)


def tagging() -> ModuleType | None:
    try:
        return importlib.import_module("photoclip.core.tagging")
    except ImportError:
        return None


def tag_names(lib) -> list[tuple[str, int]]:  # noqa: ANN001
    """(tag name, photo count) pairs for the filter, most used first; [] without tagging."""
    module = tagging()
    fn = getattr(module, "tag_counts", None) if module else None
    if fn is None:
        return []
    try:
        return sorted(fn(lib), key=lambda item: (-item[1], item[0]))
    except Exception:  # noqa: BLE001 - an optional panel must not break browsing
        log.exception("could not list tags")
        return []


def photo_tag_names(lib, photo_id: int) -> list[str]:  # noqa: ANN001
    module = tagging()
    fn = getattr(module, "photo_tags", None) if module else None
    if fn is None:
        return []
    try:
        return [str(getattr(t, "label", t)) for t in fn(lib, photo_id)]
    except Exception:  # noqa: BLE001
        log.exception("could not read tags of photo %s", photo_id)
        return []


def photos_with_tag(lib, name: str) -> set[int] | None:  # noqa: ANN001
    """Photo ids carrying a tag (or its children), or None when tagging is unavailable."""
    module = tagging()
    fn = getattr(module, "photos_with_label", None) if module else None
    if fn is None:
        return None
    try:
        return set(fn(lib, name))
    except Exception:  # noqa: BLE001 - an unknown tag simply matches nothing
        return set()
