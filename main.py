"""Run photoclip from a source checkout: `python main.py` opens the app, `python main.py --help` lists commands."""

import sys

from photoclip.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
