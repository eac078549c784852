"""What happens to photos as the indexer embeds them: the user's labels, and their sidecars.

Its own module because it joins tagging and sidecars, and sidecar.py already builds
on tagging.py: keeping the join here keeps the two free of an import circle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from . import tagging
from .embed import Embedder
from .library import Library
from .sidecar import export_xmp


def new_photo_tagger(
    lib: Library,
    embedder: Embedder | None,
    *,
    write_xmp: bool = False,
    sidecars: list[str] | None = None,
    problems: list[tuple[str, str]] | None = None,
) -> Callable[[Sequence[int]], object] | None:
    """The indexer's `after_commit` hook: photos get the user's labels as they are embedded.

    With `write_xmp` (the user's setting), the sidecars of exactly the photos just
    tagged are brought in line with their tags; the paths written are appended to
    `sidecars` and unwritable ones to `problems` as (path, reason), when given.
    None when there is no model; a library with no labels costs one cheap query per commit.
    """
    if embedder is None:
        return None

    def tag_new(photo_ids: Sequence[int]) -> object:
        if not photo_ids or not lib.conn.execute("SELECT 1 FROM labels LIMIT 1").fetchone():
            return None
        counts = tagging.tag_photos(lib, embedder, photo_ids)
        if write_xmp:
            written = export_xmp(lib, problems=problems, photo_ids=photo_ids)
            if sidecars is not None:
                sidecars.extend(written)
        return counts

    return tag_new
