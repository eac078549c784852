"""User settings: a typed object saved as JSON in the config dir (QSettings keeps only window geometry)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from photoclip.core import paths
from photoclip.core.model import DEFAULT_MODEL, DEFAULT_WEIGHTS, ModelChoice


@dataclass
class Settings:
    model: str = DEFAULT_MODEL
    weights: str = DEFAULT_WEIGHTS  # an open_clip pretrained tag, or a checkpoint file path
    device: str = "auto"
    precision: str = "auto"
    thumbnail_edge: int = 160  # grid cell size in the app
    write_xmp: bool = False  # write tags to XMP sidecars automatically

    @classmethod
    def path(cls) -> Path:
        return paths.config_dir() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        try:
            raw = json.loads(cls.path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    def save(self) -> None:
        target = self.path()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".settings-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, indent=2)
        os.replace(tmp, target)

    def model_choice(self) -> ModelChoice:
        """The model to use: environment variables win over saved settings."""
        return ModelChoice(
            name=os.environ.get("PHOTOCLIP_MODEL") or self.model,
            weights=os.environ.get("PHOTOCLIP_WEIGHTS") or self.weights,
            device=os.environ.get("PHOTOCLIP_DEVICE") or self.device,
            precision=self.precision,
        )
