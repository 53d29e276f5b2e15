"""How every xaiscope package re-exports its public names: lazily, from one typed import block.

A package ``__init__.py`` lists its public names as imports under ``if TYPE_CHECKING:`` (so type checkers and
readers see exactly where each comes from) and ends with::

    __getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)

The first access to a name imports its home module (PEP 562), so ``import xaiscope`` or ``xaiscope --help`` does not
pay for torch, the explanation libraries or Streamlit until something needs them.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def exported_names(init_file: str | Path) -> dict[str, tuple[str, str]]:
    """Public name -> (home module, name there), read from the ``if TYPE_CHECKING:`` imports of ``init_file``."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    homes: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
                    for alias in statement.names:
                        homes[alias.asname or alias.name] = (statement.module, alias.name)
    return homes


def lazy_exports(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package`` whose ``__init__`` is ``init_file``.

    A name that is also one of the package's submodules (``xaiscope.views.overlay``, the function, beside
    ``xaiscope/views/overlay.py``) is bound at once: importing the submodule would otherwise bind the module object
    to that name on the package, and ``__getattr__`` would never be asked.
    """
    homes = exported_names(init_file)
    folder = Path(init_file).parent
    for name, (module, original) in homes.items():
        if (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file():
            sys.modules[package].__dict__[name] = getattr(importlib.import_module(module), original)

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, original = homes[name]
        value = getattr(importlib.import_module(module), original)
        sys.modules[package].__dict__[name] = value  # later look-ups find it directly
        return value

    def __dir__() -> list[str]:
        return sorted(homes)

    return __getattr__, __dir__, sorted(homes)
