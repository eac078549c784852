"""`photoclip PATH...`: files and folders given on the command line open in the app.

A file manager runs the desktop entry's `Exec=photoclip %U` with the photos or folders
the user chose, as paths or file:// URLs. The first argument that is not an option
decides: a command name (`search`, `index`, ...) runs the command line, even if a
file of that name exists (write ./search for the file); an existing file or folder, or
a file:// URL, opens the app with it. A typo of a command is left to the parser's
"invalid choice" message, and a path that does not exist is one line and exit 2.

The app gets the global options first and then the absolute paths:
`run_app(["--db", "lib.db", "/home/me/a.jpg", "/home/me/Trips"])`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from photoclip.core.errors import PhotoclipError

# Global options that take a value (parser.build_parser): their value is never a path to open.
_VALUE_OPTIONS = frozenset({"--db", "--model", "--weights", "--device"})
_COMMAND_LINE_ONLY = frozenset({"-h", "--help", "--version"})


@dataclass
class AppLaunch:
    """What the app is started with: the global options, then the paths to open."""

    options: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        return [*self.options, *self.paths]


def _split(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Leading options (with their values) and the rest, from the first positional argument on."""
    options: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return options, list(argv[i + 1 :])
        if token in _VALUE_OPTIONS:
            options += argv[i : i + 2]
            i += 2
        elif token.startswith("-") and token != "-":
            options.append(token)
            i += 1
        else:
            return options, list(argv[i:])
    return options, []


def _looks_like_a_path(token: str) -> bool:
    return os.sep in token or token.startswith(("~", "file:")) or bool(Path(token).suffix) or os.path.lexists(token)


def local_path(token: str) -> str:
    """An absolute local path for a path or a file:// URL; PhotoclipError for anything else."""
    parts = urlsplit(token)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise PhotoclipError(f"photoclip opens files on this computer only, not {token}")
        token = unquote(parts.path, errors="surrogateescape")
    elif len(parts.scheme) > 1 and "://" in token:  # one letter is a Windows drive, not a scheme
        raise PhotoclipError(f"photoclip opens files on this computer only, not {token}")
    path = os.path.abspath(os.path.expanduser(token))
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise PhotoclipError(f"no such file or folder: {token}") from None
    except OSError as exc:
        raise PhotoclipError(f"cannot open {token}: {exc.strerror or exc}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        # A FIFO or a device named like a photo: the app would only show it as missing.
        raise PhotoclipError(f"{token} is not a regular file or a folder, so photoclip cannot open it")
    return path


def app_launch(argv: Sequence[str], commands: Collection[str]) -> AppLaunch | None:
    """The app launch `argv` asks for when it names files or folders; None when it is for the command line.

    Raises PhotoclipError (one line for the user) when it names paths that cannot be opened.
    """
    options, rest = _split(argv)
    if not rest or rest[0] in commands or _COMMAND_LINE_ONLY.intersection(options):
        return None
    if not _looks_like_a_path(rest[0]):
        return None  # most likely a mistyped command: the parser says so, with the commands it knows
    return AppLaunch(options, [local_path(token) for token in rest])
