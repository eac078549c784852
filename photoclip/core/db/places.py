"""The SQL of places: the city, region and country found for each photo's GPS coordinates.

A photo needs a lookup when it has coordinates and no row for exactly those
coordinates (never looked up, or its file changed and the new one has other GPS).
Like `db.tags`, the writes never open a transaction: the caller groups them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from photoclip.core.db import Library


class PlaceRow(NamedTuple):
    photo_id: int
    gps_lat: float
    gps_lon: float
    city: str | None
    region: str | None
    country: str | None
    country_code: str | None
    distance_km: float | None


_PRESENT = "p.status IN ('ok', 'new')"


def photos_needing_place(lib: Library, limit: int | None = None) -> list[tuple[int, float, float]]:
    """(photo id, lat, lon) of photos with GPS and no place found for these coordinates."""
    rows = lib.conn.execute(
        "SELECT p.id, p.gps_lat, p.gps_lon FROM photos p LEFT JOIN places pl ON pl.photo_id = p.id "
        "WHERE p.gps_lat IS NOT NULL AND p.gps_lon IS NOT NULL "
        "AND (pl.photo_id IS NULL OR pl.gps_lat <> p.gps_lat OR pl.gps_lon <> p.gps_lon) ORDER BY p.id"
        + (" LIMIT ?" if limit is not None else ""),
        (limit,) if limit is not None else (),
    )
    return [(int(r[0]), float(r[1]), float(r[2])) for r in rows]


def put_places(lib: Library, rows: Iterable[PlaceRow]) -> None:
    """Store what was found; a photo deleted since its coordinates were read is left out."""
    lib.conn.executemany(
        "INSERT INTO places (photo_id, gps_lat, gps_lon, city, region, country, country_code, distance_km) "
        "SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?) "
        "ON CONFLICT (photo_id) DO UPDATE SET gps_lat = excluded.gps_lat, "
        "gps_lon = excluded.gps_lon, city = excluded.city, region = excluded.region, country = excluded.country, "
        "country_code = excluded.country_code, distance_km = excluded.distance_km",
        [(*r, r.photo_id) for r in rows],
    )


def photo_place(lib: Library, photo_id: int) -> PlaceRow | None:
    row = lib.conn.execute(
        "SELECT photo_id, gps_lat, gps_lon, city, region, country, country_code, distance_km FROM places WHERE photo_id = ?",
        (photo_id,),
    ).fetchone()
    return PlaceRow(*row) if row else None


def place_names(lib: Library) -> list[str]:
    """Every city, region and country some present photo was taken in."""
    rows = lib.conn.execute(
        f"SELECT DISTINCT name FROM (SELECT pl.city AS name FROM places pl JOIN photos p ON p.id = pl.photo_id WHERE {_PRESENT} "
        f"UNION SELECT pl.region FROM places pl JOIN photos p ON p.id = pl.photo_id WHERE {_PRESENT} "
        f"UNION SELECT pl.country FROM places pl JOIN photos p ON p.id = pl.photo_id WHERE {_PRESENT}) WHERE name IS NOT NULL"
    )
    return [str(r[0]) for r in rows]


def place_counts(lib: Library) -> list[tuple[str, str, int]]:
    """(country, city, present photos) for the sidebar's Places list, by country then city."""
    rows = lib.conn.execute(
        f"SELECT pl.country, pl.city, COUNT(*) FROM places pl JOIN photos p ON p.id = pl.photo_id "
        f"WHERE {_PRESENT} AND pl.city IS NOT NULL GROUP BY pl.country, pl.city "
        "ORDER BY pl.country COLLATE NOCASE, pl.city COLLATE NOCASE"
    )
    return [(str(r[0] or ""), str(r[1]), int(r[2])) for r in rows]
