"""Keywords of sidecar files: read them, merge into them, import them as a photo's tags."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from photoclip.core import tagging
from photoclip.core.db import Library
from photoclip.core.xmp.document import NEW_SIDECAR, Document
from photoclip.core.xmp.files import find_sidecar, read_sidecar, replace_sidecar, sidecar_exists
from photoclip.core.xmp.merge import Merge, clean_name, keywords, merge_keywords


def load(path: str) -> Document:
    return Document(read_sidecar(path), path)


def read_keywords(path: str | os.PathLike[str]) -> list[str]:
    """Keywords in a sidecar file as photoclip label names (`Animals/Dogs`)."""
    return keywords(load(os.fspath(path)))


def write_keywords(path: str | os.PathLike[str], add: Iterable[str] = (), remove: Iterable[str] = ()) -> bool:
    """Merge keywords into a sidecar (created if absent): add `add`, drop `remove`.

    Everything else in the file stays. Written through a temp file in the same folder
    and os.replace, so a crash leaves the old or the new file, never half of one.
    Returns whether the file changed.
    """
    return merge_into_file(path, add, remove).changed


def merge_into_file(
    path: str | os.PathLike[str],
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    keep_subjects: Iterable[str] = (),
    before_write: Callable[[Merge], None] | None = None,
) -> Merge:
    """write_keywords, also saying which names of `add` the file did not hold before (the
    keywords this write put there; the rest were already someone's) and which flat
    dc:subject words it put there. See merge.merge_keywords for `keep_subjects`.

    `before_write` is given the merge before the file is replaced (only when it changes),
    so the library can write down what becomes its own first: a process killed between
    the two then leaves a library that owns a keyword the file may lack, which the next
    export puts right, never a file holding a keyword no one remembers writing."""
    path = os.fspath(path)
    exists = sidecar_exists(path)  # refuses pipes, devices, folders and links before anything is read
    add = list(add)
    if not exists and not any(clean_name(a) for a in add):
        return Merge()
    doc = load(path) if exists else Document(NEW_SIDECAR, path)
    result = merge_keywords(doc, add, remove, keep_subjects, is_new=not exists)
    if result.changed:
        if before_write is not None:
            before_write(result)
        replace_sidecar(path, doc.serialize(), exists)
    return result


def import_sidecar_tags(lib: Library, photo_id: int, photo_path: str | os.PathLike[str]) -> list[str]:
    """Add the keywords of a photo's existing sidecar as manual tags (labels created as needed).

    Keywords the photo already carries (auto or manual) are left as they are, so a
    sidecar photoclip exported itself does not turn auto tags into manual ones, and
    a tag the user rejected is not brought back. Returns the label names added.
    A sidecar that is not a readable regular file raises SidecarError (the scan reports it).
    """
    path = find_sidecar(photo_path)
    if path is None:
        return []
    names = read_keywords(path)
    present = {t.label for t in tagging.photo_tags(lib, photo_id)}
    rejected = tagging.rejected_labels(lib, photo_id)
    added = [n for n in names if n not in present and n not in rejected]
    for name in added:
        tagging.add_tag(lib, photo_id, name)
    return added
