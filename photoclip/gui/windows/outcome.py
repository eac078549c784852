"""What a search on the library thread hands back to the window.

Its own module: the window's base (base.py) names it in the stub every part implements,
and understood.py, which makes it, is one of those parts; kept there, the two imported
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from photoclip.core.db import Photo
from photoclip.core.search import Result
from photoclip.core.search.understand import Understanding


@dataclass(frozen=True)
class Outcome:
    """What a search on the library thread found: results, a filtered browse list, or a wait for the model."""

    understood: Understanding
    results: list[Result] | None = None
    photos: list[Photo] | None = None
    needs_model: bool = False
    needs_images: tuple[str, ...] = ()  # image files to read off the library thread, then search again
    unknown_tags: dict[str, list[str]] = field(default_factory=dict)  # tags asked for that do not exist: close names
