"""Query understanding: real phrases and their filters, and properties that hold for any typed text."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from photoclip.core.search.dates import DateRange
from photoclip.core.search.understand import tokenize, understand, understand_terms

TODAY = date(2026, 11, 30)  # a Monday
PLACES = ["Innsbruck", "Austria", "Lisbon", "Portugal", "New York City", "New York", "United States", "Łódź"]


def d(text: str) -> date:
    return date.fromisoformat(text)


# (typed, remaining CLIP text, (from, to) or None, places, tags, cameras)
PHRASES = [
    ("beach 2019", "beach", ("2019-01-01", "2019-12-31"), [], [], []),
    ("snow in Innsbruck", "snow", None, ["Innsbruck"], [], []),
    ("snow in innsbruck", "snow", None, ["Innsbruck"], [], []),
    ("kids last summer", "kids", ("2026-06-01", "2026-08-31"), [], [], []),
    ("Lisbon June 2023", "", ("2023-06-01", "2023-06-30"), ["Lisbon"], [], []),
    ("sunset 2018-2020", "sunset", ("2018-01-01", "2020-12-31"), [], [], []),
    ("#Dogs", "", None, [], ["Dogs"], []),
    ("camera:pixel", "", None, [], [], ["pixel"]),
    ("dogs on a beach #Animals/Dogs camera:Pixel in Portugal", "dogs on a beach", None, ["Portugal"], ["Animals/Dogs"], ["Pixel"]),
    ('"June 2023" beach', "June 2023 beach", None, [], [], []),
    ('party "Lisbon" 2020', "party Lisbon", ("2020-01-01", "2020-12-31"), [], [], []),
    ("cats since 2019", "cats", ("2019-01-01", None), [], [], []),
    ("cats before 2019", "cats", (None, "2018-12-31"), [], [], []),
    ("cats after 2019", "cats", ("2020-01-01", None), [], [], []),
    ("between 2018 and 2020 harbour", "harbour", ("2018-01-01", "2020-12-31"), [], [], []),
    ("from 2018 to 2020 harbour", "harbour", ("2018-01-01", "2020-12-31"), [], [], []),
    ("birthday 14 June 2023", "birthday", ("2023-06-14", "2023-06-14"), [], [], []),
    ("birthday June 14, 2023", "birthday", ("2023-06-14", "2023-06-14"), [], [], []),
    ("party 2023-06-14", "party", ("2023-06-14", "2023-06-14"), [], [], []),
    ("party 2023-06", "party", ("2023-06-01", "2023-06-30"), [], [], []),
    ("trip 2023-06-01..2023-07-15", "trip", ("2023-06-01", "2023-07-15"), [], [], []),
    ("skiing winter 2019", "skiing", ("2019-12-01", "2020-02-29"), [], [], []),
    ("leaves autumn of 2021", "leaves", ("2021-09-01", "2021-11-30"), [], [], []),
    ("garden this spring", "garden", ("2026-03-01", "2026-05-31"), [], [], []),
    ("snow last winter", "snow", ("2025-12-01", "2026-02-28"), [], [], []),
    ("cake yesterday", "cake", ("2026-11-29", "2026-11-29"), [], [], []),
    ("hike last week", "hike", ("2026-11-23", "2026-11-29"), [], [], []),
    ("concert last month", "concert", ("2026-10-01", "2026-10-31"), [], [], []),
    ("wedding 3 years ago", "wedding", ("2023-01-01", "2023-12-31"), [], [], []),
    ("christmas last December", "christmas", ("2025-12-01", "2025-12-31"), [], [], []),
    ("old car 1990s", "old car", ("1990-01-01", "1999-12-31"), [], [], []),
    ("Times Square New York City 2019", "Times Square", ("2019-01-01", "2019-12-31"), ["New York City"], [], []),
    ("street in łódź", "street", None, ["Łódź"], [], []),
    # Not interpreted: a month or season alone, "may"/"march" as words, small numbers, lower-case places without "in".
    ("march of the penguins", "march of the penguins", None, [], [], []),
    ("summer dress", "summer dress", None, [], [], []),
    ("sun on the sea in June", "sun on the sea in June", None, [], [], []),
    ("123 balloons", "123 balloons", None, [], [], []),
    ("lisbon tram", "lisbon tram", None, [], [], []),
    ("Paris at night", "Paris at night", None, [], [], []),  # no photo was taken in Paris
    ("# hash alone", "# hash alone", None, [], [], []),
]


@pytest.mark.parametrize(("typed", "text", "dates", "places", "tags", "cameras"), PHRASES)
def test_real_phrases(typed, text, dates, places, tags, cameras):
    u = understand(typed, today=TODAY, places=PLACES)
    assert u.text == text
    expected = None if dates is None else DateRange(*(d(x) if x else None for x in dates))
    assert u.dates == expected
    assert list(u.places) == places
    assert list(u.tags) == tags
    assert list(u.cameras) == cameras
    js = u.to_json()
    assert js["text"] == text and js["date_from"] == (dates[0] if dates else None) and js["date_to"] == (dates[1] if dates else None)


def test_seasons_and_months_relative_to_today():
    # In July, "last summer" is the one of the year before; in January "this winter" began in December.
    assert understand("last summer", today=date(2026, 7, 10)).dates == DateRange(d("2025-06-01"), d("2025-08-31"))
    assert understand("this winter", today=date(2026, 1, 10)).dates == DateRange(d("2025-12-01"), d("2026-02-28"))
    assert understand("last June", today=date(2026, 6, 10)).dates == DateRange(d("2025-06-01"), d("2025-06-30"))


def test_impossible_dates_stay_text():
    u = understand("cake 31 February 2023", today=TODAY)
    assert u.dates == DateRange(d("2023-02-01"), d("2023-02-28"))  # "February 2023" still is one
    assert u.text == "cake 31"
    assert understand("party 2023-13-40", today=TODAY).text == "party 2023-13-40"
    assert understand("2020-2018", today=TODAY).dates != DateRange(d("2020-01-01"), d("2018-12-31"))


def test_parts_name_where_they_were_typed():
    typed = "snow in Innsbruck last summer #Ski"
    u = understand(typed, today=TODAY, places=PLACES)
    assert [typed[p.start : p.end] for p in u.parts] == ["in Innsbruck", "last summer", "#Ski"]
    assert [p.kind for p in u.parts] == ["place", "date", "tag"]


def test_command_line_terms_keep_signs_weights_and_avoided_words():
    tokens, u = understand_terms(["beach", "2019", "-", "2020", "+", "2*sunset", "Lisbon"], today=TODAY, places=PLACES)
    assert tokens == ["beach", "-", "2020", "+", "2*sunset"]
    assert u.dates == DateRange(d("2019-01-01"), d("2019-12-31")) and u.places == ("Lisbon",)
    typed = ["2*sea", "snow in Innsbruck", "#Ski"]  # one shell-quoted argument among others
    tokens, u = understand_terms(typed, today=TODAY, places=PLACES)
    assert tokens == ["2*sea", "snow"] and u.places == ("Innsbruck",) and u.tags == ("Ski",)
    assert [" ".join(typed)[p.start : p.end] for p in u.parts] == ["in Innsbruck", "#Ski"]


# -- properties ------------------------------------------------------------------------

query_words = st.sampled_from(
    ["beach", "in", "Innsbruck", "innsbruck", "2019", "2018-2020", "last", "summer", "June", "2023", "#Dogs", "camera:pixel",
     "since", "new", "york", "New", "York", "City", "3", "years", "ago", "May", "-", "..", "to", "and", "yesterday", "'s", "#"]
)  # fmt: skip
typed_text = st.one_of(st.text(max_size=60), st.lists(query_words, max_size=10).map(" ".join))


@given(typed_text)
def test_any_text_is_understood_without_crashing(text):
    u = understand(text, today=TODAY, places=PLACES)
    assert isinstance(u.text, str)
    for part in u.parts:
        assert part.kind in ("date", "place", "tag", "camera") and part.value.strip()
        assert 0 <= part.start < part.end <= len(text)
        if part.dates is not None and part.dates.start and part.dates.end:
            assert part.dates.start <= part.dates.end
    u.to_json()
    u.describe()


@given(typed_text, st.lists(st.sampled_from(["June 2023", "Innsbruck", "#Dogs", "2019", "camera:x", "last summer"]), min_size=1))
def test_quoted_text_is_never_interpreted(text, quoted):
    typed = text.replace('"', "") + " " + " ".join(f'"{q}"' for q in quoted)
    u = understand(typed, today=TODAY, places=PLACES)
    start = len(text.replace('"', "")) + 1
    assert all(p.end <= start for p in u.parts)  # no part comes from the quoted phrases
    assert u.text.endswith(" ".join(quoted))


@given(st.lists(query_words, max_size=12).map(" ".join))
def test_removing_the_recognised_parts_leaves_the_text(text):
    u = understand(text, today=TODAY, places=PLACES)
    rest = list(text)
    for part in u.parts:
        rest[part.start : part.end] = [" "] * (part.end - part.start)
    assert "".join(rest).split() == u.text.split()
    # The parts do not overlap and come in typed order.
    spans = [(p.start, p.end) for p in u.parts]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


@given(st.text(max_size=40))
def test_tokens_cover_the_text_in_order(text):
    tokens = tokenize(text)
    assert all(a.end <= b.start for a, b in itertools.pairwise(tokens))
    outside = "".join(c for i, c in enumerate(text) if not any(t.start <= i < t.end for t in tokens))
    assert not outside.strip()  # only spaces are between tokens


def test_a_pasted_page_is_not_echoed_whole_on_the_understood_line():
    """An 84 KB query was repeated in full on stderr's "understood:" line."""
    u = understand("sunset 2019 " + "very " * 20_000 + "long", today=TODAY, places=PLACES)
    line = u.describe()
    assert line.startswith('understood: text "sunset') and "date" in line and len(line) < 400
    assert len(u.text) > 100_000  # the search itself still gets every word


def test_a_pasted_page_is_understood_with_work_linear_in_its_length(monkeypatch):
    """Each word collected the rest of the query as its run: a 120 KB query took minutes
    (and `search` hung) before the CLIP text was ever embedded. Counted, not timed: the
    date reader is handed at most a phrase's length of words from each position."""
    from photoclip.core.search import understand as module

    handed: list[int] = []
    real = module.match_date

    def counting(words, today):
        handed.append(len(words))
        return real(words, today)

    monkeypatch.setattr(module, "match_date", counting)
    words = 20_000
    u = understand("beach in Lisbon 2019 " + "cat dog " * (words // 2), today=TODAY, places=PLACES)
    assert max(handed) <= module._LONGEST_PHRASE and sum(handed) <= module._LONGEST_PHRASE * (words + 4)
    assert [p.kind for p in u.parts] == ["place", "date"] and u.text.startswith("beach cat dog")
