"""What a label name and its descriptions may be: the text rules, no database."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from photoclip.core.errors import PhotoclipError


class LabelError(PhotoclipError):
    """A label name is invalid, unknown, or already taken; a label file cannot be read."""


def check_text(text: str, what: str) -> str:
    """`text`, unless it holds bytes that are not UTF-8: a command line's invalid bytes (or a
    label file's lone \\udXXX escape) reached SQLite and the sidecars as lone surrogates,
    which cannot be stored; each was an internal error, and a description that got in
    broke every later `tag`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise LabelError(f"{what} {text!r} is not valid text: it holds bytes that are not UTF-8") from None
    return text


def normalize_name(name: str) -> str:
    """Trim each `/`-separated level; reject empty levels and `|` (XMP's hierarchy separator)."""
    if not isinstance(name, str):
        raise LabelError("A label name must be text")
    check_text(name, "The label name")
    parts = [part.strip() for part in name.strip().split("/")]
    if not name.strip() or any(not part for part in parts):
        raise LabelError(f"Invalid label name {name!r}: use 'Name' or 'Parent/Child' with no empty level")
    if any("|" in part for part in parts):
        raise LabelError(f"Invalid label name {name!r}: '|' is reserved for the XMP hierarchy")
    return "/".join(parts)


# A hierarchy several levels deep fits easily; a name this long is pasted text, not a label.
MAX_NAME = 255

# Characters that change how the text around them shows: line and paragraph separators
# (str.splitlines and many viewers break lines there) and the bidirectional embeddings,
# overrides and isolates, which make a name print reversed or differently from its text.
_LAYOUT_CHARACTERS = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_new_name(name: str) -> str:
    """`normalize_name`, and what a NEW label's name must also be: no control characters
    (a newline in a name split every line-per-label output and the sidecars' keyword lists)
    and at most MAX_NAME characters. Composed (NFC): "Café" typed on one system and
    "Cafe" + a combining accent from another's file were two labels that look the same.
    Looking up an existing label uses only `normalize_name`, so a label made before these
    rules can still be renamed or removed."""
    cleaned = unicodedata.normalize("NFC", normalize_name(name))
    if any(ord(c) < 32 or 127 <= ord(c) < 160 or c in _LAYOUT_CHARACTERS for c in cleaned):
        raise LabelError(f"Invalid label name {cleaned!r}: it contains control characters (a line break, a tab, a text direction...)")
    if any(unicodedata.category(part[0]) == "Cf" or unicodedata.category(part[-1]) == "Cf" for part in cleaned.split("/")):
        # A zero-width space or byte-order mark at an edge makes "Cats" a second label that
        # prints exactly like the first (round 23's attacker); inside a word such characters
        # join emoji and Persian letters, and stay allowed there.
        raise LabelError(f"Invalid label name {cleaned!r}: it begins or ends with an invisible character")
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


def check_descriptions(descriptions: Iterable[str]) -> tuple[str, ...]:
    """`clean_descriptions` of new text: LabelError for one with bytes that are not UTF-8."""
    return tuple(check_text(text, "The description") for text in clean_descriptions(descriptions))


def storable(descriptions: Iterable[str]) -> tuple[str, ...]:
    """The descriptions that can be embedded and stored: one with bytes that are not UTF-8,
    saved before they were refused, is left out rather than failing every `tag`."""
    out = []
    for text in descriptions:
        try:
            out.append(check_text(text, "The description"))
        except LabelError:
            continue
    return tuple(out)


def leaf(name: str) -> str:
    """The last level of a label name: "Animals/Dogs" -> "Dogs"."""
    return name.rsplit("/", 1)[-1]
