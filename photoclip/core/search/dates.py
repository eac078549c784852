"""Date phrases in a query: "2019", "June 2023", "last summer", "2018-2020", "3 weeks ago".

`match_date` looks at the words at one position of a query and says how many of them
form a date phrase and which days it means. The shapes are recognised here (so that
"sun" or "may" alone are never dates); natural dates ("14 June 2023", "last week",
"3 years ago") are interpreted by dateparser, relative to an injectable `today`.
Seasons are the meteorological ones of the northern hemisphere (summer = June to
August; winter 2019 = December 2019 to February 2020), which dateparser does not know.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

# The longest date phrase looked for, in words ("between 14 June 2023 and 2 July 2023").
MAX_WORDS = 9

MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): n for n, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # first month of each

_YEAR = r"(?:1[89]\d\d|20\d\d)"
_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_SEASON = "(?:" + "|".join(SEASONS) + ")"
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th)?"
_COUNT = r"(?:\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_UNIT = r"(?:days?|weeks?|months?|years?)"

# Shapes handed to dateparser: absolute dates with a month name, and relative dates.
_NATURAL = re.compile(
    rf"^(?:{_MONTH},? {_YEAR}|{_DAY}(?: of)? {_MONTH},? {_YEAR}|{_MONTH} {_DAY},? {_YEAR}"
    rf"|yesterday|today|(?:last|this|past) (?:week|month|year)|{_COUNT} {_UNIT} ago)$"
)
_ISO_DAY = re.compile(r"^(\d{4})-(\d\d)-(\d\d)$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d\d)$")
_YEAR_ONLY = re.compile(rf"^{_YEAR}$")
_DECADE = re.compile(r"^(1[89]\d0|20\d0)'?s$")
_SEASON_YEAR = re.compile(rf"^(?P<season>{_SEASON})(?: of)? (?P<year>{_YEAR})$")
_RELATIVE_SEASON = re.compile(rf"^(?P<which>last|this) (?P<season>{_SEASON})$")
_RELATIVE_MONTH = re.compile(rf"^(?P<which>last|this) (?P<month>{_MONTH})$")
_CONNECTOR = re.compile(r"\s+(?:to|until|till|through|and)\s+|\s*(?:\.\.|-|–|—)\s*")

# Words before a date phrase that belong to it: "in June 2023", "since 2019".
BOUND_WORDS = {"since": "from", "after": "after", "before": "before", "until": "to", "till": "to"}
LEAD_WORDS = {"in", "on", "from", "during", "between"}


@dataclass(frozen=True)
class DateRange:
    """Days from `start` to `end`, both inclusive; None is an open end."""

    start: date | None
    end: date | None

    def to_json(self) -> dict[str, str | None]:
        return {"from": self.start.isoformat() if self.start else None, "to": self.end.isoformat() if self.end else None}


def _month_range(year: int, month: int) -> DateRange:
    return DateRange(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def _year_range(year: int) -> DateRange:
    return DateRange(date(year, 1, 1), date(year, 12, 31))


def _season_range(season: str, year: int) -> DateRange:
    first = SEASONS[season]
    start = date(year, first, 1)
    end_year, end_month = (year + 1, 2) if first == 12 else (year, first + 2)
    return DateRange(start, _month_range(end_year, end_month).end)


def _relative_season(which: str, season: str, today: date) -> DateRange:
    """ "this summer": the one of this year; "last summer": the latest one already over."""
    if which == "this":
        # In January and February "this winter" is the one that began last December.
        year = today.year - 1 if season == "winter" and today.month < 3 else today.year
        return _season_range(season, year)
    year = today.year
    while True:
        candidate = _season_range(season, year)
        if candidate.end is not None and candidate.end < today:
            return candidate
        year -= 1


def _relative_month(which: str, month: int, today: date) -> DateRange:
    if which == "this":
        return _month_range(today.year, month)
    year = today.year if month < today.month else today.year - 1
    return _month_range(year, month)


@lru_cache(maxsize=4)
def _parser(today: date) -> Any:
    # Imported on first use: a query without a natural date never pays for dateparser.
    from dateparser.date import DateDataParser

    base = datetime(today.year, today.month, today.day, 12)
    return DateDataParser(languages=["en"], settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"})


def _natural(phrase: str, today: date) -> DateRange | None:
    """A phrase of the `_NATURAL` shapes, interpreted by dateparser with its granularity."""
    data = _parser(today).get_date_data(phrase)
    if data is None or data.date_obj is None:
        return None
    day = data.date_obj.date()
    period = data.period or "day"
    if period == "year":
        return _year_range(day.year)
    if period == "month":
        return _month_range(day.year, day.month)
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        return DateRange(monday, monday + timedelta(days=6))
    return DateRange(day, day)


def _iso(match: re.Match[str]) -> DateRange | None:
    try:
        if match.re is _ISO_DAY:
            day = date(int(match[1]), int(match[2]), int(match[3]))
            return DateRange(day, day)
        return _month_range(int(match[1]), int(match[2]))
    except (ValueError, calendar.IllegalMonthError):
        return None


def single_date(phrase: str, today: date) -> DateRange | None:
    """One date phrase (no range), lower-case words separated by single spaces; None if it is not one."""
    if _YEAR_ONLY.match(phrase):
        return _year_range(int(phrase))
    for pattern in (_ISO_DAY, _ISO_MONTH):
        match = pattern.match(phrase)
        if match:
            return _iso(match)
    if match := _DECADE.match(phrase):
        decade = int(match[1])
        return DateRange(date(decade, 1, 1), date(decade + 9, 12, 31))
    if match := _SEASON_YEAR.match(phrase):
        return _season_range(match["season"], int(match["year"]))
    if match := _RELATIVE_SEASON.match(phrase):
        return _relative_season(match["which"], match["season"], today)
    if match := _RELATIVE_MONTH.match(phrase):
        return _relative_month(match["which"], MONTHS[match["month"].rstrip(".")], today)
    if _NATURAL.match(phrase):
        return _natural(phrase, today)
    return None


def date_phrase(phrase: str, today: date) -> DateRange | None:
    """A date or a range of two dates ("2018-2020", "June 2023 to August 2023")."""
    found = single_date(phrase, today)
    if found is not None:
        return found
    for connector in _CONNECTOR.finditer(phrase):
        first = single_date(phrase[: connector.start()].strip(), today)
        last = single_date(phrase[connector.end() :].strip(), today) if first else None
        if first and last and first.start and last.end and first.start <= last.end:
            return DateRange(first.start, last.end)
    return None


def _bounded(bound: str, found: DateRange) -> DateRange:
    if bound == "from":
        return DateRange(found.start, None)
    if bound == "after":
        return DateRange(found.end + timedelta(days=1) if found.end else None, None)
    if bound == "before":
        return DateRange(None, found.start - timedelta(days=1) if found.start else None)
    return DateRange(None, found.end)


def match_date(words: Sequence[str], today: date) -> tuple[int, DateRange] | None:
    """How many of `words` (normalised: lower case, no outer punctuation) form a date phrase at their start.

    The longest phrase wins, with a leading "in"/"since"/"before"... taken along:
    "since 2019" is 2019-01-01 onwards, "before 2019" up to 2018-12-31.
    """
    lead = 1 if words and (words[0] in LEAD_WORDS or words[0] in BOUND_WORDS) else 0
    for n in range(min(len(words), MAX_WORDS), lead, -1):
        found = date_phrase(" ".join(words[lead:n]), today)
        if found is not None:
            if lead and words[0] in BOUND_WORDS:
                found = _bounded(BOUND_WORDS[words[0]], found)
            return n, found
    return None
