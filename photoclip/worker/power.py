"""Whether the machine runs on battery, where the platform says (Linux: /sys/class/power_supply)."""

from __future__ import annotations

import os

POWER_SUPPLY = "/sys/class/power_supply"


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read(64).strip()
    except OSError:
        return ""


def on_battery(root: str = POWER_SUPPLY) -> bool:
    """True only when a battery is present and no mains adapter is online; False when unknown."""
    try:
        names = os.listdir(root)
    except OSError:
        return False
    kinds = {name: _read(os.path.join(root, name, "type")) for name in names}
    batteries = [n for n, k in kinds.items() if k == "Battery"]
    mains = [n for n, k in kinds.items() if k in ("Mains", "USB", "USB_C")]
    if not batteries or not mains:
        return False  # a desktop, or nothing we can read: never pause for a guess
    return not any(_read(os.path.join(root, n, "online")) == "1" for n in mains)
