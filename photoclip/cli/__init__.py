"""The headless command line: the same core and database as the app.

Results go to stdout (plain, or one JSON document with --json); progress and
messages go to stderr, with a progress bar only when stderr is a terminal.

    main.py      run(): parse, dispatch, errors to one line and an exit code
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

from photoclip.cli.context import Context
from photoclip.cli.main import run
from photoclip.cli.parser import build_parser, split_negations

__all__ = ["Context", "build_parser", "run", "split_negations"]
