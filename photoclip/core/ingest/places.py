"""Giving photos their place: the city, region and country of their GPS coordinates, offline.

Runs at the end of every indexing pass (see pipeline.py) over every photo that has
coordinates and no place for them yet: the photos of this pass, and those indexed by
a photoclip that did not know places yet (the backfill), in one code path.
"""

from __future__ import annotations

from photoclip.core.cancel import CancelToken
from photoclip.core.db import Library
from photoclip.core.db import places as sql
from photoclip.core.media.places import places_for

# Photos looked up and written per transaction: short writes, cancel checked in between.
_CHUNK = 2000


def assign_places(lib: Library, cancel: CancelToken | None = None) -> int:
    """Look up and store the place of every photo that needs one; returns how many were looked up."""
    done = 0
    while cancel is None or not cancel.cancelled:
        wanted = sql.photos_needing_place(lib, _CHUNK)
        if not wanted:
            break
        found = places_for([(lat, lon) for _, lat, lon in wanted])
        rows = [
            sql.PlaceRow(pid, lat, lon, p.city, p.region, p.country, p.country_code, p.distance_km)
            for (pid, lat, lon), p in zip(wanted, found)
        ]
        with lib.transaction():
            sql.put_places(lib, rows)
        done += len(rows)
    return done
