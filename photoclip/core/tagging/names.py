"""What a label name and its descriptions may be: the text rules, no database."""

from __future__ import annotations

from collections.abc import Iterable

from photoclip.core.errors import PhotoclipError


class LabelError(PhotoclipError):
    """A label name is invalid, unknown, or already taken; a label file cannot be read."""


def normalize_name(name: str) -> str:
    """Trim each `/`-separated level; reject empty levels and `|` (XMP's hierarchy separator)."""
    if not isinstance(name, str):
        raise LabelError("A label name must be text")
    parts = [part.strip() for part in name.strip().split("/")]
    if not name.strip() or any(not part for part in parts):
        raise LabelError(f"Invalid label name {name!r}: use 'Name' or 'Parent/Child' with no empty level")
    if any("|" in part for part in parts):
        raise LabelError(f"Invalid label name {name!r}: '|' is reserved for the XMP hierarchy")
    return "/".join(parts)


# A hierarchy several levels deep fits easily; a name this long is pasted text, not a label.
MAX_NAME = 255


def check_new_name(name: str) -> str:
    """`normalize_name`, and what a NEW label's name must also be: no control characters
    (a newline in a name split every line-per-label output and the sidecars' keyword lists)
    and at most MAX_NAME characters. Looking up an existing label uses only
    `normalize_name`, so a label made before these rules can still be renamed or removed."""
    cleaned = normalize_name(name)
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in cleaned):
        raise LabelError(f"Invalid label name {cleaned!r}: it contains control characters (a line break, a tab...)")
    if len(cleaned) > MAX_NAME:
        raise LabelError(f"Invalid label name: it has {len(cleaned)} characters, at most {MAX_NAME} are allowed")
    return cleaned


def clean_descriptions(descriptions: Iterable[str]) -> tuple[str, ...]:
    """Whitespace collapsed, empty ones dropped, duplicates dropped (first one kept)."""
    seen: dict[str, None] = {}
    for text in descriptions:
        text = " ".join(str(text).split())
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


def leaf(name: str) -> str:
    """The last level of a label name: "Animals/Dogs" -> "Dogs"."""
    return name.rsplit("/", 1)[-1]
