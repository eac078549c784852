"""Where photoclip keeps its files.

Every location is redirectable so that tests and portable installs never touch the
real home: `PHOTOCLIP_HOME` moves everything under one folder, `PHOTOCLIP_DB` moves
just the database, `PHOTOCLIP_CACHE` just the thumbnail cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "photoclip"


def _home() -> Path | None:
    home = os.environ.get("PHOTOCLIP_HOME")
    return Path(home) if home else None


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP, appauthor=False))


def cache_dir() -> Path:
    override = os.environ.get("PHOTOCLIP_CACHE")
    if override:
        return Path(override)
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP, appauthor=False))


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP, appauthor=False))


def log_dir() -> Path:
    home = _home()
    return home / "logs" if home else Path(platformdirs.user_log_dir(APP, appauthor=False))


def default_db_path() -> Path:
    override = os.environ.get("PHOTOCLIP_DB")
    if override:
        return Path(override)
    return data_dir() / "library.db"


def thumbnail_dir() -> Path:
    return cache_dir() / "thumbnails"
