"""Labels: create, find, list, rename, delete, and their description phrases."""

from __future__ import annotations

import difflib
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from photoclip.core.db import Library
from photoclip.core.db import labels as label_db
from photoclip.core.db import tags as tag_db
from photoclip.core.tagging.names import MAX_NAME, LabelError, check_descriptions, check_new_name, leaf, normalize_name
from photoclip.core.tagging.prompts import prompts_for


@dataclass(frozen=True)
class Label:
    id: int
    name: str
    descriptions: tuple[str, ...]
    threshold: float | None
    threshold_z: float | None
    threshold_source: str | None
    threshold_model: str | None
    auto_count: int = 0
    manual_count: int = 0
    threshold_photos: int | None = None  # photos the threshold's statistics were computed on
    provisional: bool = False  # calibrated during an indexing pass: redone when the pass ends
    ignore_background: bool = False  # the user overruled the background rule: every photo past the line is tagged

    @property
    def leaf(self) -> str:
        return leaf(self.name)

    @property
    def parent(self) -> str | None:
        return self.name.rsplit("/", 1)[0] if "/" in self.name else None

    def prompts(self) -> list[str]:
        """Every text the label's ensemble embeds, in a fixed order."""
        return prompts_for(self.name, self.descriptions)

    def pinned_for(self, model_id: str) -> bool:
        """Whether the user set this label's raw cut-off for this model (nothing recalibrates it)."""
        return self.threshold_source == "user" and self.threshold_model == model_id and self.threshold is not None


def _label(row: label_db.LabelRow, auto: int = 0, manual: int = 0) -> Label:
    return Label(
        id=row.id,
        name=row.name,
        descriptions=row.descriptions,
        threshold=row.threshold,
        threshold_z=row.threshold_z,
        threshold_source=row.threshold_source,
        threshold_model=row.threshold_model,
        auto_count=auto,
        manual_count=manual,
        threshold_photos=row.threshold_photos,
        provisional=row.provisional,
        ignore_background=row.ignore_background,
    )


def find_label(lib: Library, name: str) -> Label | None:
    """The label of this name as given or, failing that, composed: new names are stored
    composed (NFC), and a name typed decomposed (as macOS gives file names) finds them.
    Failing both, the one label whose name differs only in case: a tag typed "cat" under
    an existing "Cat" made a second label that looks like the first, and `search --tag`
    matches either case anyway. Two labels differing only in case (made before this) are
    each found by their exact name, and neither by another case."""
    key = normalize_name(name)
    composed = unicodedata.normalize("NFC", key)
    row = label_db.label_row(lib, key) or label_db.label_row(lib, composed)
    if row is None:
        folded = composed.casefold()
        alike = [n for n in label_db.label_names(lib) if unicodedata.normalize("NFC", n).casefold() == folded]
        row = label_db.label_row(lib, alike[0]) if len(alike) == 1 else None
    return _label(row) if row else None


def get_label(lib: Library, name: str) -> Label:
    label = find_label(lib, name)
    if label is None:
        raise LabelError(f"No label named {normalize_name(name)!r}{did_you_mean(lib, normalize_name(name))}")
    return label


def did_you_mean(lib: Library, name: str) -> str:
    """'. Did you mean 'Animals/Dogs'?' for "Dogs" (a label is named by its whole path, which a
    newcomer leaves out), "dogs" or "Dgos"; '' when no label is close."""
    names = [row.name for row in label_db.label_rows(lib)]
    want = unicodedata.normalize("NFC", name).casefold()
    same = [n for n in names if want in (n.casefold(), leaf(n).casefold())]
    if not same:
        by_key: dict[str, str] = {}
        for n in names:
            by_key.setdefault(n.casefold(), n)
            by_key.setdefault(leaf(n).casefold(), n)
        same = [by_key[key] for key in difflib.get_close_matches(want, list(by_key), n=6, cutoff=0.6)]
    close = list(dict.fromkeys(same))[:3]
    return ". Did you mean " + " or ".join(repr(n) for n in close) + "?" if close else ""


def list_labels(lib: Library) -> list[Label]:
    """All labels, by name, with their auto and manual tag counts."""
    counts = tag_db.counts_by_label(lib)
    return [_label(r, counts.get(r.id, {}).get("auto", 0), counts.get(r.id, {}).get("manual", 0)) for r in label_db.label_rows(lib)]


def resolve_labels(lib: Library, names: Iterable[str] | None) -> list[Label]:
    """The labels with these names (all labels for None); an unknown name is a LabelError."""
    if names is None:
        return list_labels(lib)
    return [get_label(lib, n) for n in names]


def create_label(lib: Library, name: str, descriptions: Iterable[str] = ()) -> Label:
    name = check_new_name(name)
    existing = find_label(lib, name)
    if existing is not None:
        raise LabelError(f"A label named {existing.name!r} already exists")
    with lib.transaction():
        label_db.insert_label(lib, name, check_descriptions(descriptions), time.time())
    return get_label(lib, name)


def ensure_label(lib: Library, name: str) -> Label:
    return find_label(lib, name) or create_label(lib, name)


def set_descriptions(lib: Library, name: str, descriptions: Iterable[str]) -> Label:
    """Replace a label's description phrases. Re-apply the label to update its tags."""
    label = get_label(lib, name)
    with lib.transaction():
        label_db.set_descriptions(lib, label.id, check_descriptions(descriptions), time.time())
        # The label's vector changes: a raw cut-off typed for the old vector no longer
        # means the same, its relative position (z) does.
        label_db.unpin_user_threshold(lib, label.id)
    return get_label(lib, name)


def set_ignore_background(lib: Library, name: str, ignore: bool) -> Label:
    """Let a label tag every photo past its line even when the photo fits a plain
    description ("a photo") as well (the background rule overruled), or restore the rule.
    Re-apply the label to update its tags."""
    label = get_label(lib, name)
    with lib.transaction():
        label_db.set_ignore_background(lib, label.id, ignore, time.time())
    return get_label(lib, name)


def looks_for_something_else(old: str, new: str) -> str | None:
    """What a label renamed from `old` to `new` will look for instead, when the rename
    changes it: the photo templates embed the name's last level, so "Dogs" -> "Pets/Dogs"
    keeps the label's vector but "dog" -> "Rex" gives it a new one (and a model that never
    read "Rex" finds other photos). None when the last level stays the same."""
    before, after = leaf(normalize_name(old)), leaf(normalize_name(new))
    return after if before != after else None


def rename_label(lib: Library, old: str, new: str) -> Label:
    """Rename a label; its children (`Old/...`) move with it. Tags follow (they refer to ids)."""
    old, new = normalize_name(old), check_new_name(new)
    label = get_label(lib, old)
    old = label.name  # as stored: typed in another case, it still names the label and its children
    if label.name == new:
        return label
    other = find_label(lib, new)
    if other is not None and other.id != label.id:  # the label itself, in another case, may be renamed
        raise LabelError(f"A label named {other.name!r} already exists")
    below = label_db.children(lib, old)
    moved = [(label.id, new)] + [(cid, new + cname[len(old) :]) for cid, cname in below]
    too_long = [n for _, n in moved if len(n) > MAX_NAME]
    if too_long:  # a child's whole name grows with its parent's
        raise LabelError(f"Cannot rename: {too_long[0][:60]!r}… would have {len(too_long[0])} characters, at most {MAX_NAME} are allowed")
    taken = label_db.label_names(lib) - {old} - {cname for _, cname in below}
    clash = [n for _, n in moved if n in taken]
    if clash:
        raise LabelError(f"Cannot rename: {clash[0]!r} already exists")
    now = time.time()
    with lib.transaction():
        for label_id, name in moved:
            label_db.set_name(lib, label_id, name, now)
        if looks_for_something_else(old, new):  # a new vector: a line set by hand no longer fits it
            label_db.unpin_user_threshold(lib, label.id)
    return get_label(lib, new)


def delete_label(lib: Library, name: str) -> int:
    """Delete one label with its tags and feedback; returns how many tags went. Children stay."""
    label = get_label(lib, name)
    with lib.transaction():
        removed = tag_db.delete_label_tags(lib, label.id)
        label_db.delete_label(lib, label.id)
    return removed
