"""Tag changes that reach the XMP sidecars when the user asked for that (`write_xmp`).

New photos tagged as the indexer embeds them, a label renamed or deleted: each is a
tagging step followed by bringing the affected photos' sidecars in line. The join
lives here because sidecar.py already builds on tagging.py, and the app and the
command line share it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.db import labels as label_db
from photoclip.core.db import tags as tag_db
from photoclip.core.model import Embedder
from photoclip.core.tagging.names import leaf
from photoclip.core.xmp.sidecar import export_xmp


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
        if not photo_ids or not label_db.has_labels(lib):
            return None
        counts = tagging.tag_photos(lib, embedder, photo_ids)
        if write_xmp:
            written = export_xmp(lib, problems=problems, photo_ids=photo_ids)
            if sidecars is not None:
                sidecars.extend(written)
        return counts

    return tag_new


def new_pass_finisher(
    lib: Library,
    embedder: Embedder | None,
    *,
    write_xmp: bool = False,
    sidecars: list[str] | None = None,
    problems: list[tuple[str, str]] | None = None,
    stale_sidecars: Callable[[set[int]], object] | None = None,
) -> Callable[[], object] | None:
    """The indexer's `after_pass` hook: thresholds calibrated during the pass (on the
    photos embedded so far, a few dozen at first) are recalibrated over the whole
    library and those labels' tags re-decided.

    With `write_xmp` the sidecars of the photos whose tags changed are written here
    (paths appended to `sidecars`, failures to `problems`); `stale_sidecars`, when
    given, receives those photo ids instead, for a caller that writes sidecars on a
    thread of its own. None when there is no model.
    """
    if embedder is None:
        return None

    def finish_pass() -> object:
        labels = tagging.provisional_labels(lib)
        if not labels:
            return None
        label_ids = [label.id for label in labels]
        track = write_xmp or stale_sidecars is not None
        before = tag_pairs(lib, label_ids) if track else set()
        counts = tagging.finish_pass(lib, embedder, labels)
        if track:
            stale = photos_to_sync(lib, label_ids, before)
            if stale_sidecars is not None:
                stale_sidecars(stale)
            elif stale:
                written = export_xmp(lib, problems=problems, photo_ids=sorted(stale))
                if sidecars is not None:
                    sidecars.extend(written)
        return counts

    return finish_pass


def rename_label(lib: Library, old: str, new: str, *, write_xmp: bool = False) -> tagging.Label:
    """Rename a label (its children move with it); with write_xmp, its photos' sidecars follow."""
    affected = tagging.photos_with_label(lib, old) if write_xmp else []
    label = tagging.rename_label(lib, old, new)
    if affected:
        export_xmp(lib, photo_ids=affected)
    return label


def what_a_rename_changes(old: str, new: str) -> str | None:
    """A sentence for people when renaming a label changes what it looks for (see
    tagging.looks_for_something_else), else None: the tags stay as they are, but the next
    tagging run reads the photos with the new word, and a word the model never learned
    (a pet's name) finds other photos."""
    word = tagging.looks_for_something_else(old, new)
    if word is None:
        return None
    before = leaf(tagging.normalize_name(old))
    return (
        f"It now looks for “{word}” instead of “{before}”: tagging the library again may tag other photos. "
        f"To go on finding what “{before}” found, add “{before}” to its descriptions."
    )


def delete_label(lib: Library, name: str, *, write_xmp: bool = False) -> int:
    """Delete one label and its tags; with write_xmp, the keyword leaves its photos' sidecars."""
    affected = tagging.photos_with_label(lib, name, include_children=False) if write_xmp else []
    removed = tagging.delete_label(lib, name)
    if affected:
        export_xmp(lib, photo_ids=affected)
    return removed


def tag_pairs(lib: Library, label_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(photo, label) pairs tagged with these labels: taken before a run to see what it changed."""
    return tag_db.tag_pairs(lib, label_ids)


def photos_to_sync(lib: Library, label_ids: Sequence[int], before: set[tuple[int, int]], also: Iterable[int] = ()) -> set[int]:
    """Photos whose sidecars a tagging run made stale: those whose tags of these labels changed
    since `before`, plus those carrying one of these tags that photoclip has not written yet
    (tags from before the setting was turned on). Reading every sidecar in the library after
    each run would cost far more than the tagging."""
    changed = {pid for pid, _ in before ^ tag_pairs(lib, label_ids)} | set(also)
    changed.update(tag_db.photos_missing_sidecar_keyword(lib, label_ids))
    return changed
