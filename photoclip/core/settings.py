"""User settings: a typed object saved as JSON in the config dir (QSettings keeps only window geometry).

The file is the user's to edit, so anything can be in it. What cannot be used (not a
JSON object, a value of the wrong type, a file that is not a readable regular UTF-8
file) is ignored with a logged warning and the defaults apply: a bad settings file
never stops the app or the command line from starting.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from photoclip.core import paths
from photoclip.core.model import DEFAULT_MODEL, DEFAULT_WEIGHTS, ModelChoice

log = logging.getLogger(__name__)

# A settings file is a few hundred bytes; anything this big is not one.
MAX_SETTINGS_BYTES = 1 << 20


@dataclass
class Settings:
    model: str = DEFAULT_MODEL
    weights: str = DEFAULT_WEIGHTS  # an open_clip pretrained tag, or a checkpoint file path
    device: str = "auto"
    precision: str = "auto"
    thumbnail_edge: int = 160  # grid cell size in the app
    write_xmp: bool = False  # write tags to XMP sidecars automatically
    model_idle_minutes: int = 10  # the background worker gives the model's memory back after this idle time
    # From this many vectors of a model on, search uses the approximate index beside the
    # library (core/search/approximate.py); 0 = always exact. The default is where the exact
    # scan passes ~50 ms on the project's 2-core CPU (bench_search.py: 10.7 ms at 100k,
    # 113 ms at 1M, linear in between).
    approximate_search_from: int = 450_000

    @classmethod
    def path(cls) -> Path:
        return paths.config_dir() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        """The saved settings; the defaults for anything missing or unusable (with a warning)."""
        path = cls.path()
        raw = _read_json(path)
        if raw is _NOTHING:
            return cls()
        if not isinstance(raw, dict):
            _warn_once("Ignoring the settings file %s: it holds a JSON %s, not an object; using the defaults", path, type(raw).__name__)
            return cls()
        defaults = cls()
        values: dict[str, Any] = {}
        for field in fields(cls):
            if field.name not in raw:
                continue
            value = raw[field.name]
            if _fits(value, type(getattr(defaults, field.name))) and _in_range(field.name, value):
                values[field.name] = value
            else:
                _warn_once("Ignoring %r in the settings file %s: %r is not a valid value; using the default", field.name, path, value)
        return cls(**values)

    def save(self) -> None:
        """Write the settings through a temp file and a rename: a crash keeps the old file whole.
        A settings file that is a link (kept in a dotfiles repository, say) stays a link:
        the file it points to is rewritten, where a rename over the link replaced it."""
        target = self.path()
        if target.is_symlink():
            target = Path(os.path.realpath(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        paths.remove_stale_temps(target.parent)
        data = json.dumps(asdict(self), indent=2).encode("utf-8")
        paths.write_atomically(target, data, 0o600)  # as before: only the user reads it

    def model_choice(self) -> ModelChoice:
        """The model to use: environment variables win over saved settings."""
        return ModelChoice(
            name=os.environ.get("PHOTOCLIP_MODEL") or self.model,
            weights=os.environ.get("PHOTOCLIP_WEIGHTS") or self.weights,
            device=os.environ.get("PHOTOCLIP_DEVICE") or self.device,
            precision=self.precision,
        )


def _fits(value: object, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not a size
    if kind is str:
        return isinstance(value, str) and bool(value.strip())  # a blank model or device name means nothing
    return isinstance(value, kind)


# Whole numbers the program can use only within bounds: a hand-edited
# "model_idle_minutes": 1e300-as-an-integer made the worker's idle timer overflow
# (a traceback in its thread, and the model was never given back).
_RANGES = {
    "thumbnail_edge": (16, 4096),
    "model_idle_minutes": (0, 366 * 24 * 60),
    "approximate_search_from": (0, 1 << 62),
}


# Names the program knows: "device": "tpu" stopped every model load, and "precision":
# "fp8" ran in fp32 while the app said fp8.
_CHOICES = {
    "device": ("auto", "cpu", "cuda", "mps"),
    "precision": ("auto", "fp32", "bf16", "fp16"),
}


def _in_range(name: str, value: object) -> bool:
    if name in _CHOICES:
        return value in _CHOICES[name]
    bounds = _RANGES.get(name)
    return bounds is None or (isinstance(value, int) and bounds[0] <= value <= bounds[1])


_warned: set[str] = set()


def _warn_once(message: str, *args: object) -> None:
    """One warning per problem per process: a command reads the settings several times."""
    text = message % args
    if text not in _warned:
        _warned.add(text)
        log.warning("%s", text)


_NOTHING = object()  # no usable file (JSON null is a value, and a wrong one)


def _read_json(path: Path) -> object:
    """The parsed file, or _NOTHING (with a warning unless the file is simply absent)."""
    try:
        data = paths.read_regular_file(path, MAX_SETTINGS_BYTES)
    except FileNotFoundError:
        return _NOTHING
    except paths.NotAPlainFile as exc:
        _warn_once("Ignoring the settings file %s: it %s; using the defaults", path, exc)
        return _NOTHING
    except OSError as exc:
        _warn_once("Ignoring the settings file %s: cannot read it (%s); using the defaults", path, exc.strerror or exc)
        return _NOTHING
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        _warn_once("Ignoring the settings file %s: it is not valid UTF-8 JSON (%s); using the defaults", path, exc)
        return _NOTHING
