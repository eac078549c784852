"""The per-user service that starts `photoclip watch` at login, at low CPU and IO priority.

A systemd user unit where systemd runs the session (Nice=19, IOSchedulingClass=idle),
an XDG autostart entry elsewhere (through `nice` and `ionice` when they exist). Only
files are written: starting, stopping and removing are the user's, and the command
prints how.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from photoclip.core import paths
from photoclip.worker import runtime

# Passed on to the service so it works on the same library and model as the shell that installed it.
ENVIRONMENT = ("PHOTOCLIP_HOME", "PHOTOCLIP_DB", "PHOTOCLIP_MODEL", "PHOTOCLIP_WEIGHTS", "PHOTOCLIP_DEVICE")


@dataclass(frozen=True)
class ServiceFile:
    path: Path
    kind: str  # "systemd" or "autostart"
    name: str  # the unit name, or the .desktop file name


def config_home() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"


def systemd_runs() -> bool:
    """Whether this machine was booted with systemd (its documented test: /run/systemd/system)."""
    return os.path.isdir("/run/systemd/system")


def service_name(db_path: Path | None) -> str:
    return "photoclip-watch" if db_path is None else f"photoclip-watch-{runtime.library_key(db_path)}"


def watch_command(db_path: Path | None, before: Sequence[str] = (), after: Sequence[str] = ()) -> list[str]:
    """The service's command line: `before` are photoclip's own options (--model...), `after`
    watch's (--debounce...), as they were given to `watch --install-service`."""
    command = [sys.executable, "-m", "photoclip", *before]
    if db_path is not None:
        command += ["--db", os.path.abspath(db_path)]
    return [*command, "watch", *after]


def _systemd_quote(word: str) -> str:
    # systemd's ExecStart: double quotes, backslash escapes; % is a specifier and $ a variable.
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def _desktop_quote(word: str) -> str:
    # The desktop entry spec: quote reserved characters, double every %.
    word = word.replace("%", "%%")
    if not any(c in word for c in " \t\n\"'\\><~|&;$*?#()`"):
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def systemd_unit(db_path: Path | None, command: Sequence[str] | None = None) -> str:
    lines = [
        "[Unit]",
        "Description=photoclip background worker: keeps the photo library indexed",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(_systemd_quote(w) for w in command or watch_command(db_path)),
        "Nice=19",
        "IOSchedulingClass=idle",
        "CPUSchedulingPolicy=batch",
        "Restart=on-failure",
        "RestartSec=30",
    ]
    for name in ENVIRONMENT:
        value = os.environ.get(name)
        if value:
            lines.append("Environment=" + _systemd_quote(f"{name}={value}"))
    lines += ["", "[Install]", "WantedBy=default.target", ""]
    return "\n".join(lines)


def autostart_entry(db_path: Path | None, command: Sequence[str] | None = None) -> str:
    command = command or watch_command(db_path)
    env = [f"{name}={os.environ[name]}" for name in ENVIRONMENT if os.environ.get(name)]
    prefix = ["env", *env] if env else []
    if shutil.which("nice"):
        prefix += ["nice", "-n", "19"]
    if shutil.which("ionice"):
        prefix += ["ionice", "-c", "3"]
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Name=photoclip background worker",
            "Comment=Keeps the photo library indexed",
            "Exec=" + " ".join(_desktop_quote(w) for w in [*prefix, *command]),
            "Terminal=false",
            "NoDisplay=true",
            "X-GNOME-Autostart-enabled=true",
            "",
        ]
    )


def service_file(db_path: Path | None, use_systemd: bool | None = None) -> ServiceFile:
    name = service_name(db_path)
    if use_systemd if use_systemd is not None else systemd_runs():
        unit = f"{name}.service"
        return ServiceFile(config_home() / "systemd" / "user" / unit, "systemd", unit)
    return ServiceFile(config_home() / "autostart" / f"{name}.desktop", "autostart", f"{name}.desktop")


def install(
    db_path: Path | None, use_systemd: bool | None = None, before: Sequence[str] = (), after: Sequence[str] = ()
) -> tuple[ServiceFile, list[str]]:
    """Write the service file; returns it and the sentences telling what to do next.
    `before` and `after`: options for its command line (see watch_command)."""
    target = service_file(db_path, use_systemd)
    command = watch_command(db_path, before, after)
    text = systemd_unit(db_path, command) if target.kind == "systemd" else autostart_entry(db_path, command)
    target.path.parent.mkdir(parents=True, exist_ok=True)
    paths.write_atomically(target.path, text.encode("utf-8"), 0o644)
    uninstall_hint = "photoclip" + (f" --db {db_path}" if db_path is not None else "") + " watch --uninstall-service"
    if target.kind == "systemd":
        advice = [
            f"Wrote the systemd user unit {target.path}.",
            f"Start it now and at every login: systemctl --user daemon-reload && systemctl --user enable --now {target.name}",
            f"Remove it: systemctl --user disable --now {target.name} && {uninstall_hint}",
        ]
    else:
        advice = [
            f"Wrote the autostart entry {target.path}: the worker starts at your next login.",
            f"Remove it: {uninstall_hint} (a running worker stops with Ctrl+C or `kill`)",
        ]
    return target, advice


def uninstall(db_path: Path | None) -> list[str]:
    """Remove the service files of this library (both kinds); sentences saying what was removed."""
    said: list[str] = []
    for kind in (True, False):
        target = service_file(db_path, use_systemd=kind)
        try:
            target.path.unlink()
        except FileNotFoundError:
            continue
        said.append(f"Removed {target.path}.")
        if target.kind == "systemd":
            said.append(f"A running one keeps running until: systemctl --user disable --now {target.name}")
    return said or ["No photoclip service was installed for this library."]
