"""Keywords in a parsed sidecar: reading them as label names, and merging changes in.

What is written, for a label `Animals/Dogs`:
- `lr:hierarchicalSubject`  `Animals|Dogs`  (Lightroom, darktable, digiKam)
- `digiKam:TagsList`        `Animals/Dogs`  (digiKam)
- `dc:subject`              `Dogs`          (the leaf only, as digiKam writes it: apps
                                             that know no hierarchy show the word a
                                             person would search for)
Top-level labels appear unchanged in all three. Nothing here touches a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from photoclip.core import tagging
from photoclip.core.xmp.document import DC, DIGIKAM, LR, Document

# (property, container, separator the property uses between levels)
HIER_PROPS = ((f"{{{LR}}}hierarchicalSubject", "Bag", "|"), (f"{{{DIGIKAM}}}TagsList", "Seq", "/"))
SUBJECT = f"{{{DC}}}subject"


def clean_name(raw: str) -> str | None:
    """A keyword as a label name, or None when it cannot be one."""
    try:
        return tagging.check_new_name(raw)  # a keyword becomes a label: the same rules
    except tagging.LabelError:
        return None


def leaf(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def hierarchical(doc: Document) -> list[str]:
    names: dict[str, None] = {}
    for tag, _, sep in HIER_PROPS:
        for item in doc.items(tag):
            name = clean_name("/".join(part.strip() for part in item.split(sep)))
            if name:
                names.setdefault(name, None)
    return list(names)


def keywords(doc: Document) -> list[str]:
    """Every keyword of the document as a label name (`Animals/Dogs`), first seen first."""
    names = hierarchical(doc)
    levels = {part for name in names for part in name.split("/")}
    out = dict.fromkeys(names)
    for word in doc.items(SUBJECT):
        # A flat keyword that is a level of a hierarchical one is that same tag, seen
        # by an app without hierarchy; anything else is a top-level tag of its own.
        name = clean_name(word.replace("/", " ").replace("|", " "))
        if name and name not in levels:
            out.setdefault(name, None)
    return list(out)


@dataclass
class Merge:
    """What merging did to a document."""

    changed: bool = False  # the document must be written back
    added: list[str] = field(default_factory=list)  # names of `add` it did not hold before (now ours)
    new_leaves: set[str] = field(default_factory=set)  # flat dc:subject words it put there


def merge_keywords(
    doc: Document,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    keep_subjects: Iterable[str] = (),
    *,
    is_new: bool = False,
) -> Merge:
    """Add `add` and drop `remove` in the document's three keyword lists; nothing else changes.

    Flat words in `keep_subjects` stay even when a removed name has them as its leaf:
    another app wrote them. `is_new`: the document is a fresh sidecar, to be written
    even when it ends up with nothing beyond what it had.
    """
    add_names = [n for n in (clean_name(a) for a in add) if n]
    before = set(keywords(doc))
    added = [n for n in dict.fromkeys(add_names) if n not in before]
    remove_names = {n for n in (clean_name(r) for r in remove) if n} - set(add_names)

    current = hierarchical(doc)
    names = [n for n in current if n not in remove_names] + [n for n in add_names if n not in current]
    kept_leaves = {leaf(n) for n in names}
    dropped_leaves = {leaf(n) for n in remove_names} - kept_leaves - set(keep_subjects)
    subjects = doc.items(SUBJECT)
    new_subjects = [s for s in subjects if s not in dropped_leaves]
    new_subjects += [word for word in dict.fromkeys(leaf(n) for n in add_names) if word not in new_subjects]

    missing_somewhere = any(n.replace("/", sep) not in doc.items(tag) for tag, _, sep in HIER_PROPS for n in add_names)
    new_leaves = set(new_subjects) - set(subjects)
    if not is_new and names == current and new_subjects == subjects and not missing_somewhere:
        return Merge(False, added, new_leaves)  # nothing to say: leave the file (and its mtime) alone
    for tag, kind, sep in HIER_PROPS:
        wanted = [n.replace("/", sep) for n in names]
        if doc.items(tag) != wanted:
            doc.set_items(tag, kind, wanted)
    if new_subjects != subjects:
        doc.set_items(SUBJECT, "Bag", new_subjects)
    return Merge(True, added, new_leaves)
