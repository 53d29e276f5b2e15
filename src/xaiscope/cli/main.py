"""The ``xaiscope`` command line: a thin shell over the public API.

Each module listed in :data:`COMMAND_MODULES` adds its sub-commands with ``register(commands)``, setting a
``handler`` default on each sub-parser. Every user-facing error is an :class:`~xaiscope.errors.XaiscopeError`;
it is printed without a traceback and the command exits with status 2. Ctrl-C stops long work and exits
with status 130.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from xaiscope.cli.console import EXIT_INTERRUPTED, EXIT_USER_ERROR, err, precision_scope, print_error
from xaiscope.errors import XaiscopeError

COMMAND_MODULES = (
    "xaiscope.cli.models",
    "xaiscope.cli.predict",
    "xaiscope.cli.explain",
    "xaiscope.cli.app",
    "xaiscope.cli.train",
    "xaiscope.cli.evaluate",
    "xaiscope.cli.calibrate",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="xaiscope",
        description="See why a neural network called a recording a deepfake or a chest X-ray abnormal.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        with precision_scope():
            return int(args.handler(args))
    except XaiscopeError as error:
        print_error(error)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        err.print("[yellow]Stopped.[/yellow]")
        return EXIT_INTERRUPTED
