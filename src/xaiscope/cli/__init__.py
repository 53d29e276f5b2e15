"""The ``xaiscope`` command line (:mod:`.main`): a thin shell over the public API, one module per command group."""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.cli.main import build_parser, main

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
