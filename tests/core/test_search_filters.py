"""One meaning of a filter: search, browsing and XMP export pick the same photos."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from photoclip.core import tagging
from photoclip.core.model import FakeEmbedder, normalize
from photoclip.core.search import Filters, QueryError, QueryTerm, Searcher, check_filters, filter_photos, tag_matches
from photoclip.core.xmp import sidecar

DIM = 4
# Tag layout: the same photo ids carry these labels (names as the user created them).
LABELS = {
    "Animals": [0],
    "Animals/Dogs": [1, 2],
    "Animals/Dogs/Puppies": [3],
    "Animals2": [4],
    "Dog": [5],
    "Dogs": [6],
    "Trips/Beach": [7],
}


@pytest.fixture
def tagged(library, tmp_path):
    """Eight present photos in folders a/ and b/, dated 2020-01-01..08, tagged as LABELS says."""
    root = tmp_path / "lib"
    fid = library.add_folder(tmp_path)
    library.register_model("fake", DIM)
    ids = []
    for i in range(8):
        sub = root / ("a" if i < 4 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"p{i}.jpg"
        path.write_bytes(b"")
        pid = library.insert_photo(str(path), fid, 1, 1, f"h{i}")
        library.set_metadata(
            pid,
            width=1,
            height=1,
            taken_at=f"2020-01-{i + 1:02d}T12:00:00",
            taken_source="exif",
            camera=None,
            gps_lat=None,
            gps_lon=None,
        )
        ids.append(pid)
    rng = np.random.default_rng(0)
    library.put_vectors("fake", ids, normalize(rng.standard_normal((8, DIM)).astype(np.float32)))
    for name, members in LABELS.items():
        tagging.create_label(library, name)
        for m in members:
            tagging.add_tag(library, ids[m], name)
    return library, ids, root


def through_search(lib, filters):
    searcher = Searcher(lib, FakeEmbedder(dim=DIM))
    return {r.photo.id for r in searcher.search([QueryTerm("vector", np.ones(DIM))], 100, filters)}


def through_browse(lib, filters):
    return {p.id for p in filter_photos(lib, lib.all_photos(), filters)}


def through_export(lib, label):
    """The photos whose sidecars `xmp export --label` writes."""
    touched = sidecar.export_xmp(lib, label)
    by_sidecar = {sidecar.sidecar_path(p.path): p.id for p in lib.all_photos()}
    return {by_sidecar[path] for path in touched}


@pytest.mark.parametrize(
    ("wanted", "members"),
    [
        ("Animals", [0, 1, 2, 3]),
        ("animals", [0, 1, 2, 3]),  # any case; before: browse found nothing, search missed "Animals" itself
        ("ANIMALS/dogs", [1, 2, 3]),
        ("Animals/Dogs/Puppies", [3]),
        ("Dog", [5]),  # a whole level: "Dog" is not "Dogs"
        ("dogs", [6]),
        ("Trips", [7]),  # a level with no label of its own
        ("  trips / BEACH ", [7]),
    ],
)
def test_a_tag_filter_picks_the_same_photos_in_search_browse_and_export(tagged, wanted, members):
    lib, ids, _ = tagged
    expected = {ids[m] for m in members}
    filters = Filters(label=wanted)
    assert through_search(lib, filters) == expected
    assert through_browse(lib, filters) == expected
    assert through_export(lib, wanted) == expected


def test_the_app_browse_filter_is_the_core_filter(tagged):
    pytest.importorskip("PySide6")
    from photoclip.gui.windows.queries import filter_photos as gui_filter_photos

    lib, ids, _ = tagged
    filters = Filters(label="animals/DOGS")
    assert {p.id for p in gui_filter_photos(lib, lib.all_photos(), filters)} == {ids[1], ids[2], ids[3]}


def test_folder_and_dates_agree_between_search_and_browse(tagged):
    lib, ids, root = tagged
    for filters, members in [
        (Filters(folder=str(root / "a")), [0, 1, 2, 3]),
        (Filters(folder=str(root / "a") + "/"), [0, 1, 2, 3]),
        (Filters(date_from="2020-01-03", date_to="2020-01-05"), [2, 3, 4]),
        (Filters(folder=str(root / "b"), date_to="2020-01-06", label="dogs"), []),
        (Filters(folder=str(root / "b"), label="dogs"), [6]),
    ]:
        expected = {ids[m] for m in members}
        assert through_search(lib, filters) == expected, filters
        assert through_browse(lib, filters) == expected, filters


def test_a_folder_prefix_is_not_a_parent(tagged, tmp_path):
    lib, _, root = tagged
    (root / "a2").mkdir()
    assert through_browse(lib, Filters(folder=str(root / "a2"))) == set()
    assert through_browse(lib, Filters(folder=str(root)[:-1])) == set()  # ".../li" is not ".../lib"


def test_missing_photos_are_never_in_a_filtered_browse(tagged):
    lib, ids, _ = tagged
    lib.mark_missing([ids[1]])
    assert through_browse(lib, Filters(label="animals")) == {ids[0], ids[2], ids[3]}


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (Filters(date_from="2020-02-01", date_to="2020-01-01"), "date range is empty"),
        (Filters(date_from="notadate"), "Not a date"),
        (Filters(min_score=float("nan")), "between -1 and 1"),
        (Filters(min_score=1.5), "between -1 and 1"),
        (Filters(label=" / "), "blank"),
        (Filters(folder="/definitely/not/a/library/folder"), "not one of the library's folders"),
    ],
)
def test_impossible_filters_are_refused_with_a_sentence(tagged, filters, message):
    lib, _, _ = tagged
    with pytest.raises(QueryError, match=message):
        check_filters(lib, filters)


def test_a_subfolder_of_a_library_folder_is_a_valid_filter(tagged):
    lib, _, root = tagged
    check_filters(lib, Filters(folder=str(root / "a"), date_from="2020-01-01", date_to="2020-01-01", min_score=-1.0))


# -- tag matching, as properties --------------------------------------------------------

level = st.text(alphabet="abcXYZäß0 -_.", min_size=1, max_size=6).filter(lambda s: s.strip())
levels = st.lists(level, min_size=1, max_size=4)


def name_of(parts):
    return "/".join(parts)


@given(levels)
def test_a_tag_matches_itself_in_any_case(parts):
    name = name_of(parts)
    assert tag_matches(name, name)
    assert tag_matches(name, name.upper()) and tag_matches(name.lower(), name)


@given(levels, levels)
def test_a_tag_matches_its_descendants_and_not_its_parent(parent, child):
    assert tag_matches(name_of(parent + child), name_of(parent))
    assert not tag_matches(name_of(parent), name_of(parent + child))


@given(levels, level.filter(lambda s: s.strip().casefold() != ""))
def test_a_longer_level_is_a_different_tag(parts, extra):
    # "Dog" never selects "Dogs": the last level has to match whole.
    name, longer = name_of(parts), name_of(parts) + extra.strip()
    if longer.split("/")[-1].strip().casefold() != name.split("/")[-1].strip().casefold():
        assert not tag_matches(longer, name)


@given(st.text(max_size=30), st.text(max_size=30))
def test_tag_matching_never_fails_and_blank_selects_nothing(name, wanted):
    result = tag_matches(name, wanted)
    assert isinstance(result, bool)
    if not wanted.replace("/", "").strip():
        assert not result
