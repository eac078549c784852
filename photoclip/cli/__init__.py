"""The headless command line: the same core and database as the app.

Results go to stdout (plain, or one JSON document with --json); progress and
messages go to stderr, with a progress bar only when stderr is a terminal.

    main.py      run(): parse, dispatch, errors to one line and an exit code
    quick.py     search/similar/tags/duplicates handed to a running worker, light imports only
    served.py    the worker's side of that: the same handlers, output sent back
    parser.py    the parser, checked value types, `search -word` handling
    context.py   Context: the library and model, opened lazily
    library.py   add-folder, remove-folder, index, status, problems, purge-missing
    search.py    search, similar, duplicates
    tags.py      labels, tag, tags, feedback, xmp
    labels.py    labels suggest
    models.py    models
    desktop.py   --install-desktop-entry
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from photoclip.cli.context import Context
    from photoclip.cli.main import run
    from photoclip.cli.parser import build_parser, split_negations

__all__ = ["Context", "build_parser", "run", "split_negations"]

_HOMES = {"Context": "context", "run": "main", "build_parser": "parser", "split_negations": "parser"}


def __getattr__(name: str) -> Any:
    # Imported on first use: the quick path (quick.py) must not pay for the engine's imports.
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"photoclip.cli.{_HOMES[name]}"), name)
