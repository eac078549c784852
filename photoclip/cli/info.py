"""`photoclip info PATH`: what the library knows about one photo."""

from __future__ import annotations

import argparse
import os
from typing import Any

from photoclip.cli.context import Context
from photoclip.cli.values import add_json
from photoclip.core.db import display_path
from photoclip.core.db import places as places_sql
from photoclip.core.db import tags as tags_sql
from photoclip.core.errors import PhotoclipError, one_line


def photo_info(ctx: Context, path: str) -> dict[str, Any]:
    lib = ctx.library()
    photo = lib.photo_by_path(os.path.abspath(os.path.expanduser(path)))
    if photo is None:
        raise PhotoclipError(f"{display_path(path)} is not in the library (add its folder and run `photoclip index`).")
    place = places_sql.photo_place(lib, photo.id)
    has_place = place is not None and place.city is not None
    return {
        "path": display_path(photo.path),
        "status": photo.status,
        "taken_at": photo.taken_at,
        "taken_source": photo.taken_source,
        "camera": photo.camera,
        "size_bytes": photo.size,
        "width": photo.width,
        "height": photo.height,
        "gps": None if photo.gps_lat is None or photo.gps_lon is None else {"lat": photo.gps_lat, "lon": photo.gps_lon},
        "place": None
        if not has_place or place is None
        else {
            "city": place.city,
            "region": place.region,
            "country": place.country,
            "country_code": place.country_code,
            "distance_km": place.distance_km,
        },
        "tags": [{"name": name, "source": source, "score": score} for name, source, score in tags_sql.photo_tags(lib, photo.id)],
        "skip_reason": photo.skip_reason,
    }


def cmd_info(args: argparse.Namespace, ctx: Context) -> int:
    info = photo_info(ctx, args.path)
    if args.json:
        ctx.json(info)
        return 0
    sources = {"exif": "EXIF", "xmp": "XMP", "filename": "file name", "mtime": "file time"}

    def out(line: str) -> None:
        ctx.out(one_line(line))  # a file name or a camera's EXIF text may hold control characters

    out(f"path:    {info['path']}")
    if info["status"] != "ok":
        out(f"status:  {info['status']}" + (f" ({info['skip_reason']})" if info["skip_reason"] else ""))
    taken = info["taken_at"] or "unknown"
    out(f"taken:   {taken}" + (f" (from {sources.get(info['taken_source'], info['taken_source'])})" if info["taken_at"] else ""))
    out(f"camera:  {info['camera'] or 'unknown'}")
    dims = f", {info['width']} x {info['height']} pixels" if info["width"] else ""
    out(f"size:    {info['size_bytes']} bytes{dims}")
    gps = info["gps"]
    out(f"gps:     {gps['lat']:.6f}, {gps['lon']:.6f}" if gps else "gps:     none")
    place = info["place"]
    if place:
        out("place:   " + ", ".join(p for p in (place["city"], place["region"], place["country"]) if p))
    elif gps:
        out("place:   none found near (or not looked up yet: run `photoclip index`)")
    out("tags:    " + (", ".join(t["name"] for t in info["tags"]) or "none"))
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("info", help="a photo's metadata: date taken, camera, size, GPS, place, tags")
    p.add_argument("path", metavar="PATH", help="a photo in the library")
    add_json(p)
    p.set_defaults(handler=cmd_info)
