"""``xaiscope app``: the Streamlit app (arrives with the app capability, issue 6)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from xaiscope.cli.console import EXIT_USER_ERROR, err


def register(commands: Any) -> None:
    app = commands.add_parser("app", help="start the Streamlit app")
    app.add_argument("--port", type=int, default=8501)
    app.add_argument("--models", type=Path, help="extra folder of models")
    app.set_defaults(handler=run_app)


def run_app(args: argparse.Namespace) -> int:
    err.print("The Streamlit app is not part of this version yet: it arrives with the 'app' capability "
              "(issue 6). Meanwhile every verdict is available through `xaiscope predict` and the Python API.")
    return EXIT_USER_ERROR
