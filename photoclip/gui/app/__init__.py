"""Starting the app: options, the crash handler, one instance per library."""

from photoclip.gui.app.errors import install_excepthook, log_file, report_exception, setup_logging
from photoclip.gui.app.single_instance import InstanceServer, ask_running_instance, server_name
from photoclip.gui.app.startup import create_app, run_app

__all__ = [
    "InstanceServer",
    "ask_running_instance",
    "create_app",
    "install_excepthook",
    "log_file",
    "report_exception",
    "run_app",
    "server_name",
    "setup_logging",
]
