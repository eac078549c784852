"""Entry points: `photoclip` (the app, or with a subcommand the CLI) and `photoclip-gui`.

`photoclip PATH...` (what a file manager runs) opens the app with those files or folders:
see cli/launch.py.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--install-desktop-entry" in argv:
        from photoclip.cli.desktop import install_desktop_entry

        return install_desktop_entry()
    from photoclip.cli.quick import answer_by_worker

    code = answer_by_worker(argv)  # before the engine is imported: a running worker answers in milliseconds
    if code is not None:
        return code
    from photoclip.cli.launch import app_launch
    from photoclip.cli.parser import command_names
    from photoclip.core.errors import PhotoclipError, one_line

    try:
        launch = app_launch(argv, command_names())
    except PhotoclipError as exc:
        print(f"photoclip: {one_line(str(exc))}", file=sys.stderr)
        return 2
    if launch is not None:
        return gui_main(launch.argv)
    from photoclip.cli import run

    code = run(argv)
    if code != -1:
        return code
    return gui_main(argv)


def gui_main(argv: list[str] | None = None) -> int:
    from photoclip.platform_check import explain_missing_platform_libraries, explain_no_display

    problem = explain_missing_platform_libraries() or explain_no_display()
    if problem is not None:
        print(f"photoclip: {problem}", file=sys.stderr)
        return 2
    from photoclip.cli.served import serve_command
    from photoclip.gui.app import run_app
    from photoclip.gui.services.serving import serve_commands_with

    serve_commands_with(serve_command)  # the open app answers `photoclip search` too (gui/services/serving.py)

    return run_app(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
