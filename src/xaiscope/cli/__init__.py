"""The ``xaiscope`` command line (:mod:`.main`): a thin shell over the public API, one module per command group."""

from xaiscope.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
