"""The optional `photoclip[cluster]` extra: a clear sentence when it is not installed."""

from __future__ import annotations

import importlib

from photoclip.core.errors import PhotoclipError

INSTALL_HINT = "pip install 'photoclip[cluster]'"


def require_cluster_extra(command: str, modules: tuple[str, ...] = ("pyarrow", "ray.data")) -> None:
    """Raise a PhotoclipError naming the extra when one of `modules` cannot be imported."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            missing = exc.name or name
            raise PhotoclipError(
                f"`photoclip {command}` needs the optional cluster extra (Ray Data and pyarrow); "
                f"{missing} is not installed here: {INSTALL_HINT}"
            ) from None
