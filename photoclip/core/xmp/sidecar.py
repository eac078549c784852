"""XMP sidecars: exporting the library's tags, and remembering which keywords are ours.

Export adds the photo's tags and takes out only two kinds of keyword: those
photoclip itself wrote into that sidecar earlier (remembered in the library's
`sidecar_keywords` table, by the name written, so a renamed or deleted label's old
keyword goes too) that the photo no longer carries, and labels the user rejected or
removed on that photo in photoclip. A keyword another app wrote stays even when it
equals a label's name, unless the user rejected that label on the photo.

The package's other modules: `files` (where sidecars are, reading and replacing them
safely), `document` (parsing and writing back without losses), `merge` (keywords in a
parsed document), `keywords` (keywords of files, importing them as tags). The names
other code uses are re-exported here: `sidecar.export_xmp`, `sidecar.read_keywords`, ...
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from photoclip.core import tagging
from photoclip.core.db import Library, fs_path
from photoclip.core.db import sidecars as records
from photoclip.core.search.filters import matching_tags, tag_matches
from photoclip.core.xmp.document import DC, DIGIKAM, LR, RDF, X
from photoclip.core.xmp.files import SidecarError, clean_folder, find_sidecar, sidecar_path
from photoclip.core.xmp.keywords import import_sidecar_tags, merge_into_file, read_keywords, write_keywords
from photoclip.core.xmp.merge import Merge, leaf

__all__ = [
    "DC",
    "DIGIKAM",
    "LR",
    "RDF",
    "SidecarError",
    "X",
    "export_xmp",
    "find_sidecar",
    "import_sidecar_tags",
    "read_keywords",
    "sidecar_path",
    "write_keywords",
]


def _label_scope(lib: Library, label: str | None) -> tuple[set[str], str | None]:
    """(current label names in scope, the scope's root as the labels spell it, or None for all labels)."""
    names = [l.name for l in tagging.list_labels(lib)]
    if label is None:
        return set(names), None
    # "Animals" may be only a level of "Animals/Dogs", with no label of its own. Tags
    # match as search and browse match them: whole levels, any case (core.search.filters).
    root = tagging.normalize_name(label)
    scope = matching_tags(names, root)
    if not scope:
        raise tagging.LabelError(f"No label named {root!r}{tagging.did_you_mean(lib, root)}")
    return set(scope), "/".join(scope[0].split("/")[: len(root.split("/"))])


def export_xmp(
    lib: Library,
    label: str | None = None,
    problems: list[tuple[str, str]] | None = None,
    photo_ids: Iterable[int] | None = None,
) -> list[str]:
    """Write the library's tags (or one label's, with its children) into sidecars.

    With `photo_ids`, only those photos' sidecars are considered (after tagging a few
    photos there is no need to read every sidecar in the library). Only sidecars whose
    keywords change are written. Returns the touched paths; a sidecar that cannot be
    read or written (not a regular file, too large, not XMP, no permission) is skipped
    and, when `problems` is given, reported there as (path, reason). Temp files left
    in the photos' folders by an earlier, killed export are removed on the way.
    """
    managed, root = _label_scope(lib, label)
    ids = None if photo_ids is None else sorted({int(p) for p in photo_ids})
    if ids == []:
        return []

    def in_scope(name: str | None) -> bool:
        if name is None:
            return False
        return root is None or tag_matches(name, root)

    tags: dict[int, set[str]] = {}
    for pid, name in records.tagged_names(lib, ids):
        if name in managed:
            tags.setdefault(pid, set()).add(name)
    rejected: dict[int, set[str]] = {}
    for pid, name in records.rejected_names(lib, ids):
        if name in managed:
            rejected.setdefault(pid, set()).add(name)
    owned: dict[int, set[str]] = {}
    foreign_subjects: dict[int, set[str]] = {}  # flat words that were there before photoclip wrote
    own_subjects: dict[int, set[str]] = {}  # flat words photoclip put there (for any of its names)
    for kw in records.written_keywords(lib, ids):
        # A keyword written under a label's old name belongs to the label's scope now.
        if in_scope(kw.name) or in_scope(kw.label_name):
            owned.setdefault(kw.photo_id, set()).add(kw.name)
            subjects = own_subjects if kw.subject_added else foreign_subjects
            subjects.setdefault(kw.photo_id, set()).add(leaf(kw.name))
    if not managed and not owned:
        return []
    label_ids = records.label_ids_by_name(lib)

    touched = []
    cleaned: set[str] = set()
    for pid, raw_path in records.exportable_photos(lib, ids):
        target = sidecar_path(fs_path(raw_path))
        desired = tags.get(pid, set())
        ours = owned.get(pid, set())
        remove = (ours | rejected.get(pid, set())) - desired
        if not desired and not os.path.lexists(target):
            if ours:  # the sidecar was deleted, and what we wrote with it
                records.record_written(lib, pid, gone=ours, added=())
            continue
        if not desired and not remove:
            continue  # nothing to add or take out: the sidecar is not even read
        folder = os.path.dirname(target)
        if folder not in cleaned:
            cleaned.add(folder)
            clean_folder(folder)
        claimed: list[str] = []

        def claim(merged: Merge, pid: int = pid, claimed: list[str] = claimed) -> None:
            # Before the file is replaced (see merge_into_file): the keywords it adds are ours.
            # A flat word photoclip put there for an earlier name (before a rename) is still its own.
            own_leaves = merged.new_leaves | own_subjects.get(pid, set())
            records.record_written(lib, pid, gone=(), added=[(n, label_ids.get(n), leaf(n) in own_leaves) for n in merged.added])
            claimed.extend(merged.added)

        try:
            merged = merge_into_file(
                target,
                add=sorted(desired),
                remove=remove,
                keep_subjects=foreign_subjects.get(pid, set()) - own_subjects.get(pid, set()) - {leaf(n) for n in rejected.get(pid, set())},
                before_write=claim,
            )
        except SidecarError as exc:
            records.record_written(lib, pid, gone=claimed, added=())  # the file was not replaced: not ours after all
            if problems is not None:
                problems.append((target, str(exc)))
            continue
        # Only now, with the file replaced, are the keywords taken out forgotten (a kill before
        # this leaves them remembered, and the next export finds them gone from the file).
        records.record_written(lib, pid, gone=ours - desired, added=())
        if merged.changed:
            touched.append(target)
    return touched
