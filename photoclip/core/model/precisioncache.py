"""The precision measured once per model and machine (precision.json in the config folder).

The file lives where anyone can put anything under its name, and a later run trusts
what it says: so it is read as a plain file only (a named pipe there hung every model
load), only the precisions a CPU run can measure are believed, and it is written
through a temp file and a rename (a link there used to be followed, and the file it
pointed to overwritten).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from photoclip.core import paths

log = logging.getLogger(__name__)

MEASURED = ("fp32", "bf16")  # what _measure_precision can answer
_MAX_BYTES = 1 << 20
_warned: set[str] = set()  # one warning per unusable file, not one per read


def cache_path() -> Path:
    return paths.config_dir() / "precision.json"


def cached_precisions() -> dict[str, str]:
    """key -> precision for every entry that could have been measured; {} when unusable."""
    path = cache_path()
    try:
        known = json.loads(paths.read_regular_file(path, _MAX_BYTES).decode("utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as exc:  # an unreadable folder (the settings say so): measuring again is all it costs
        log.info("cannot read the precision cache %s: %s", path, exc)
        return {}
    except (ValueError, paths.NotAPlainFile, RecursionError) as exc:
        if str(path) not in _warned:
            _warned.add(str(path))
            log.warning("Ignoring the precision cache %s (%s); measuring again", path, exc)
        return {}
    if not isinstance(known, dict):
        return {}
    return {str(k): v for k, v in known.items() if v in MEASURED}


def remember_precision(key: str, precision: str) -> None:
    """Add one measured entry; a folder that cannot be written only means measuring again."""
    known = cached_precisions()
    known[key] = precision
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        paths.write_atomically(path, json.dumps(known, indent=1).encode("utf-8"))
    except OSError as exc:
        log.info("cannot keep the measured precision in %s: %s", path, exc)
