"""Query understanding: the words of a query that name a time, a place, a tag or a camera become filters.

"snow in Innsbruck 2019" is the CLIP text "snow", the place Innsbruck and the year 2019.
What is recognised:

- dates (see dates.py): "2019", "June 2023", "2023-06-14", "2018-2020", "last summer",
  "since 2019", "3 weeks ago", with a leading "in"/"on"/"from"/"during" taken along;
- places where the library has photos (see db/places.py), written with a capital
  ("Lisbon") or after "in"/"at"/"near"/"from" in any case ("snow in innsbruck");
- `#Dogs` or `tag:Dogs`, a tag (`#"Road trips"` for names with spaces);
- `camera:pixel`, a camera whose name contains the text; `place:lisbon` forces a place.

A term in double quotes is never interpreted: `"June 2023"` stays CLIP text. Each
recognised part keeps its span in the typed text, so the app can show it as a chip and
the user can undo a wrong guess.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from photoclip.core.search.dates import MAX_WORDS as MAX_DATE_WORDS
from photoclip.core.search.dates import DateRange, match_date
from photoclip.core.search.query import looks_like_image_path

PART_KINDS = ("date", "place", "tag", "camera")
PLACE_WORDS = {"in", "at", "near", "from"}
MAX_PLACE_WORDS = 4
# The most words a date or place phrase can take (a place's leading "in" included): no
# recogniser reads further, so a run is cut there. Uncut, every word of a pasted page
# collected the rest of the page, and a 120 KB query took minutes to understand.
_LONGEST_PHRASE = max(MAX_DATE_WORDS, 1 + MAX_PLACE_WORDS)
_PREFIXED = re.compile(r"^(?P<key>camera|tag|place):(?P<value>.+)$", re.IGNORECASE)
_PREFIX_ONLY = re.compile(r"^(?:#|(?:camera|tag|place):)$", re.IGNORECASE)
_OUTER_PUNCTUATION = ",;:!?()[]{}"
_WEIGHTED = re.compile(r"^\d+(?:\.\d+)?\*")

ECHO_LIMIT = 200  # characters of the remaining text that the "understood:" line repeats


@dataclass(frozen=True)
class Part:
    """One recognised part of a query: its kind, what it means, and where it was typed."""

    kind: str  # one of PART_KINDS
    value: str  # the tag, place or camera; for a date its ISO from..to
    text: str  # as typed
    start: int = 0
    end: int = 0
    dates: DateRange | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text, "value": self.value, "start": self.start, "end": self.end}
        if self.dates is not None:
            out.update(self.dates.to_json())
        return out


@dataclass(frozen=True)
class Understanding:
    """What a query was understood as: the CLIP text that remains and each recognised filter."""

    text: str
    parts: tuple[Part, ...] = field(default_factory=tuple)

    def _values(self, kind: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.value for p in self.parts if p.kind == kind))

    @property
    def places(self) -> tuple[str, ...]:
        return self._values("place")

    @property
    def tags(self) -> tuple[str, ...]:
        return self._values("tag")

    @property
    def cameras(self) -> tuple[str, ...]:
        return self._values("camera")

    @property
    def dates(self) -> DateRange | None:
        """The days every date part covers together (two years give both and the years between)."""
        ranges = [p.dates for p in self.parts if p.dates is not None]
        if not ranges:
            return None
        starts = [r.start for r in ranges]
        ends = [r.end for r in ranges]
        return DateRange(
            None if None in starts else min(s for s in starts if s is not None),
            None if None in ends else max(e for e in ends if e is not None),
        )

    def to_json(self) -> dict[str, Any]:
        dates = self.dates
        return {
            "text": self.text,
            "date_from": dates.start.isoformat() if dates and dates.start else None,
            "date_to": dates.end.isoformat() if dates and dates.end else None,
            "places": list(self.places),
            "tags": list(self.tags),
            "cameras": list(self.cameras),
            "parts": [p.to_json() for p in self.parts],
        }

    def describe(self) -> str:
        """One line for people: `understood: text "snow", place Innsbruck, date 2019-01-01..2019-12-31`."""
        text = self.text if len(self.text) <= ECHO_LIMIT else self.text[: ECHO_LIMIT - 1] + "…"  # a pasted page: not echoed whole
        bits = [f'text "{text}"'] if self.text else []
        bits += [f"{p.kind} {p.value}" for p in self.parts]
        return "understood: " + ", ".join(bits) if self.parts else "understood: nothing but the text"


@dataclass(frozen=True)
class _Token:
    raw: str
    start: int
    end: int
    quoted: bool = False
    special: str | None = None  # "#", "camera:", "tag:", "place:" joined to a quoted value

    @property
    def word(self) -> str:
        return self.raw.strip(_OUTER_PUNCTUATION).lower()


def tokenize(text: str) -> list[_Token]:
    """Words and quoted phrases with their spans; an unclosed quote runs to the end."""
    tokens: list[_Token] = []
    pos = 0
    for n, segment in enumerate(text.split('"')):
        if n % 2:  # inside quotes
            tokens.append(_Token(segment, pos - 1, min(len(text), pos + len(segment) + 1), quoted=True))
        else:
            tokens += [_Token(m[0], pos + m.start(), pos + m.end()) for m in re.finditer(r"\S+", segment)]
        pos += len(segment) + 1
    joined: list[_Token] = []
    for token in tokens:
        prev = joined[-1] if joined else None
        if token.quoted and prev is not None and not prev.quoted and prev.end == token.start and _PREFIX_ONLY.match(prev.raw):
            joined[-1] = _Token(token.raw, prev.start, token.end, special=prev.raw.lower())
        else:
            joined.append(token)
    return joined


def _explicit(token: _Token) -> Part | None:
    """`#Dogs`, `tag:Dogs`, `camera:pixel`, `place:lisbon` (or with a quoted value)."""
    if token.special is not None:
        key, value = token.special.rstrip(":#") or "tag", token.raw.strip()
    elif token.quoted:
        return None
    elif token.raw.startswith("#"):
        key, value = "tag", token.raw[1:].rstrip(_OUTER_PUNCTUATION)
    elif match := _PREFIXED.match(token.raw):
        key, value = match["key"].lower(), match["value"].rstrip(_OUTER_PUNCTUATION)
    else:
        return None
    if not value.strip():
        return None
    return Part(key, value.strip(), token.raw if token.special is None else f'{token.special}"{token.raw}"', token.start, token.end)


def _plain_run(tokens: Sequence[_Token], i: int) -> list[_Token]:
    """The unquoted, ordinary tokens from i on, as many as a phrase can take: a date or place
    never crosses a quote or a #tag."""
    run: list[_Token] = []
    for token in tokens[i : i + _LONGEST_PHRASE]:
        if token.quoted or token.special or _explicit(token) is not None or not token.word:
            break
        run.append(token)
    return run


def _place(run: Sequence[_Token], places: Mapping[str, str]) -> tuple[int, str] | None:
    lead = 1 if run and run[0].word in PLACE_WORDS else 0
    for n in range(min(len(run), lead + MAX_PLACE_WORDS), lead, -1):
        name = places.get(" ".join(t.word for t in run[lead:n]))
        if name is not None and (lead or run[lead].raw.lstrip(_OUTER_PUNCTUATION)[:1].isupper()):
            return n, name
    return None


def place_index(names: Iterable[str]) -> dict[str, str]:
    """Known place names by their lower-case form, as `understand` wants them."""
    return {" ".join(name.lower().split()): name for name in names if name and name.strip()}


def understand(text: str, *, today: date, places: Mapping[str, str] | Iterable[str] = ()) -> Understanding:
    """Split `text` into the CLIP text that remains and the recognised parts.

    `places` are the place names the library knows (a `place_index`, or plain names);
    `today` anchors relative dates ("last summer").
    """
    known = places if isinstance(places, Mapping) else place_index(places)
    tokens = tokenize(text)
    parts: list[Part] = []
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        explicit = _explicit(token)
        if explicit is not None:
            parts.append(explicit)
            i += 1
            continue
        run = _plain_run(tokens, i)
        found = _recognise(run, text, today, known)
        if found is not None:
            used, part = found
            parts.append(part)
            i += used
            continue
        if token.raw.strip():
            rest.append(token.raw.strip() if token.quoted else token.raw)
        i += 1
    return Understanding(" ".join(rest), tuple(parts))


def _recognise(run: Sequence[_Token], text: str, today: date, places: Mapping[str, str]) -> tuple[int, Part] | None:
    if not run:
        return None
    date_match = match_date([t.word for t in run], today)
    if date_match is not None:
        used, dates = date_match
        span = text[run[0].start : run[used - 1].end]
        value = f"{dates.start.isoformat() if dates.start else ''}..{dates.end.isoformat() if dates.end else ''}"
        return used, Part("date", value, span, run[0].start, run[used - 1].end, dates)
    place_match = _place(run, places)
    if place_match is not None:
        used, name = place_match
        return used, Part("place", name, text[run[0].start : run[used - 1].end], run[0].start, run[used - 1].end)
    return None


def _protected(token: str) -> bool:
    """Tokens the query parser owns: signs, weights, image files."""
    return token in ("+", "-") or token[:1] in "+-" or bool(_WEIGHTED.match(token)) or looks_like_image_path(token)


def understand_terms(
    tokens: Sequence[str], *, today: date, places: Mapping[str, str] | Iterable[str] = ()
) -> tuple[list[str], Understanding]:
    """Understand the command line's query words; return the words left for `parse_query`.

    Signs, weights and image files are left alone, and so is everything after a `-`:
    "beach - 2019" avoids photos that look like "2019", it cannot be a date filter.
    The parts' spans are positions in `" ".join(tokens)`.
    """
    known = places if isinstance(places, Mapping) else place_index(places)
    out: list[str] = []
    texts: list[str] = []
    parts: list[Part] = []
    segment: list[str] = []
    avoiding = False
    position = 0  # where the next token starts in " ".join(tokens): the parts' spans are there
    segment_start = 0

    def close() -> None:
        if not segment:
            return
        if avoiding:
            out.extend(segment)
            texts.append(" ".join(segment))
        else:
            understood = understand(" ".join(segment), today=today, places=known)
            out.extend(understood.text.split())
            shift = segment_start
            parts.extend(dataclasses.replace(p, start=p.start + shift, end=p.end + shift) for p in understood.parts)
            if understood.text:
                texts.append(understood.text)
        segment.clear()

    for token in tokens:
        if token.strip() and _protected(token):
            close()
            out.append(token)
            if token in ("+", "-") or token[:1] in "+-":
                avoiding = token.startswith("-")
        else:
            if not segment:
                segment_start = position
            segment.append(token)
        position += len(token) + 1
    close()
    return out, Understanding(" ".join(texts), tuple(parts))
