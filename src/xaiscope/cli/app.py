"""``xaiscope app``: start the Streamlit app on a local port."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from xaiscope.cli.console import EXIT_USER_ERROR, err


def register(commands: Any) -> None:
    app = commands.add_parser("app", help="start the Streamlit app (http://localhost:8501 by default)")
    app.add_argument("--port", type=int, default=8501)
    app.add_argument("--models", type=Path, help="extra folder of models, searched first")
    app.add_argument("--address", default="localhost", help="address to listen on (default localhost only)")
    app.set_defaults(handler=run_app)


def streamlit_command(port: int, address: str = "localhost") -> list[str]:
    """The server command: headless, no usage statistics, the upload limit stated in the page."""
    from xaiscope.app.main import MAX_UPLOAD_MB

    script = Path(__file__).resolve().parents[1] / "app" / "main.py"
    return [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
            "--server.address", address, "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.maxUploadSize", str(MAX_UPLOAD_MB), "--server.fileWatcherType", "none",
            "--theme.base", "light", "--client.toolbarMode", "minimal",
            # Defence in depth: the page catches every error itself (xaiscope.app.errors); should one escape,
            # Streamlit shows no traceback or server path either.
            "--client.showErrorDetails", "none"]


def run_app(args: argparse.Namespace) -> int:
    environment = dict(os.environ)
    if args.models is not None:
        if not args.models.is_dir():
            err.print(f"[red]Error:[/red] the models folder '{args.models}' does not exist.")
            return EXIT_USER_ERROR
        parts = [str(args.models.resolve()), environment.get("XAISCOPE_MODELS", "")]
        environment["XAISCOPE_MODELS"] = os.pathsep.join(part for part in parts if part)
    err.print(f"xaiscope app on http://{args.address}:{args.port} (Ctrl-C stops it)")
    command = streamlit_command(args.port, args.address)
    # The server replaces this process, so stopping `xaiscope app` (Ctrl-C, SIGTERM) stops the server itself.
    os.execve(command[0], command, environment)
    return 0  # not reached
