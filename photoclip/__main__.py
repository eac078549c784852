"""Entry points: `photoclip` (the app, or with a subcommand the CLI) and `photoclip-gui`."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--install-desktop-entry" in argv:
        from photoclip.cli.desktop import install_desktop_entry

        return install_desktop_entry()
    from photoclip.cli import run

    code = run(argv)
    if code != -1:
        return code
    return gui_main(argv)


def gui_main(argv: list[str] | None = None) -> int:
    from photoclip.gui.app import run_app

    return run_app(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
