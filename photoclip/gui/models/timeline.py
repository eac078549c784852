"""The timeline's sections: months of the grid's date-sorted rows, computed once per result.

Nothing here makes a widget or a row per photo: the grid stays one lazy list, and the
sections are a few hundred (row, label) pairs found in one pass over the dates. The
delegate asks `label_at(row)` to draw a month header over the first photo of a month,
the sticky header asks `section_at(row)` (a bisection), the scrubber places the years.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
NO_DATE = "No date"
# While the first pass reads the photos, the grid keeps their rows (it never reorders under
# the user) and every photo not read yet has no date: "No date" would be a wrong answer.
DATES_BEING_READ = "Dates still being read…"
READING_MARK = "…"  # the same on the narrow year scrubber (its bubble, on a drag, says it in full)


@dataclass(frozen=True)
class Section:
    """A run of rows taken in one month (or the photos with no date), as the grid shows them."""

    key: str  # "2023-06", or "" for no date
    first_row: int
    count: int
    no_date: str = NO_DATE  # what the undated photos' header says (DATES_BEING_READ while indexing)

    @property
    def year(self) -> int | None:
        return int(self.key[:4]) if self.key else None

    @property
    def label(self) -> str:
        """ "June 2023", or "No date"."""
        if not self.key:
            return self.no_date
        return f"{MONTHS[int(self.key[5:7]) - 1]} {self.key[:4]}"


def month_key(taken_at: str | None) -> str:
    """ "2023-06" from an ISO date-time ("2023-06-14T09:00:00"); "" when there is none or it is not ISO."""
    if not taken_at or len(taken_at) < 7 or taken_at[4] != "-" or not (taken_at[:4] + taken_at[5:7]).isdigit():
        return ""
    month = int(taken_at[5:7])
    return taken_at[:7] if 1 <= month <= 12 else ""


def month_sections(dates: Iterable[str | None], no_date: str = NO_DATE) -> list[Section]:
    """Consecutive rows of the same month, in row order (the rows are sorted by date already).

    A month that comes back later (rows not sorted by date) starts a new section: the
    headers describe what is on screen, never a regrouping of it.
    """
    sections: list[Section] = []
    key: str | None = None
    first = count = 0
    for row, taken in enumerate(dates):
        this = month_key(taken)
        if this != key:
            if key is not None:
                sections.append(Section(key, first, count, no_date))
            key, first, count = this, row, 0
        count += 1
    if key is not None:
        sections.append(Section(key, first, count, no_date))
    return sections


@dataclass(frozen=True)
class YearMark:
    """Where a year starts in the grid, for the scrubber."""

    year: int | None  # None: the photos with no date
    first_row: int
    no_date: str = NO_DATE

    @property
    def label(self) -> str:
        return str(self.year) if self.year is not None else self.no_date


class Timeline:
    """The month sections of one list of rows, with the look-ups the views need."""

    def __init__(self, dates: Sequence[str | None], no_date: str = NO_DATE) -> None:
        """`no_date`: the undated photos' header, DATES_BEING_READ while their dates are on their way."""
        self.rows = len(dates)
        self.sections = month_sections(dates, no_date)
        self._starts = [s.first_row for s in self.sections]
        self._labels = {s.first_row: s.label for s in self.sections}

    def label_at(self, row: int) -> str | None:
        """The month's name when `row` is the first photo of its month, else None."""
        return self._labels.get(row)

    def section_at(self, row: int) -> Section | None:
        """The section that holds `row` (None for an empty timeline or a row outside it)."""
        if not self.sections or not 0 <= row < self.rows:
            return None
        return self.sections[bisect.bisect_right(self._starts, row) - 1]

    def years(self) -> list[YearMark]:
        """The first row of each year (and of the undated photos), in row order."""
        marks: list[YearMark] = []
        for section in self.sections:
            if not marks or marks[-1].year != section.year:
                short = NO_DATE if section.no_date == NO_DATE else READING_MARK
                marks.append(YearMark(section.year, section.first_row, short))
        return marks
