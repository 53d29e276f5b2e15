"""The shape of the package: no import cycles, ``__init__`` files that only re-export, light packages kept light."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SOURCE / "xaiscope"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _runtime_imports(tree: ast.Module, module: str, is_package: bool) -> set[str]:
    """xaiscope modules imported when ``module`` is imported (module level, outside ``if TYPE_CHECKING:``)."""
    found: set[str] = set()
    package = module if is_package else module.rsplit(".", 1)[0]

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base
                                                                                                     else []))
                for alias in node.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for block in (getattr(node, "body", []), getattr(node, "orelse", []), getattr(node, "finalbody", [])):
                    visit(block)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    edges = set()
    own_ancestors = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    for name in found:
        if not name.startswith("xaiscope"):
            continue
        parts = name.split(".")
        # Importing a.b.c runs the packages a and a.b first; a module's own ancestors are already running.
        for i in range(1, len(parts) + 1):
            target = ".".join(parts[:i])
            if target in MODULES and target != module and target not in own_ancestors:
                edges.add(target)
    return edges


def _graph() -> dict[str, set[str]]:
    return {name: _runtime_imports(ast.parse(path.read_text()), name, path.name == "__init__.py")
            for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if colour.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in colour:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(graph):
        if node not in colour:
            found = visit(node)
            if found:
                return found
    return None


def test_the_module_level_import_graph_has_no_cycle():
    graph = _graph()
    assert sum(len(targets) for targets in graph.values()) > 100  # the parser sees the imports
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


PACKAGES = sorted(name for name, path in MODULES.items() if path.name == "__init__.py")


@pytest.mark.parametrize("package", PACKAGES)
def test_init_files_only_re_export(package):
    """Docstring, the typed import block under TYPE_CHECKING, and the one lazy_exports line: nothing else."""
    tree = ast.parse(MODULES[package].read_text())
    for position, node in enumerate(tree.body):
        if position == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module in ("typing", "xaiscope.lazy"):
            continue
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            assert all(isinstance(statement, ast.ImportFrom) for statement in node.body), package
            continue
        if isinstance(node, ast.Assign) and ast.unparse(node) in (
                "__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)", "__version__ = '0.1.0'"):
            continue
        raise AssertionError(f"{package}/__init__.py holds logic at line {node.lineno}: {ast.unparse(node)[:80]}")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_re_exported_name_exists(package):
    import importlib
    import types

    from xaiscope.lazy import exported_names

    module = importlib.import_module(package)
    for submodule in (name for name in MODULES if name.startswith(package + ".") and not name.endswith("__main__")):
        importlib.import_module(submodule)  # binds submodules on the package, as real use does
    homes = exported_names(MODULES[package])
    for name in getattr(module, "__all__", ()):
        home, original = homes[name]
        value = getattr(module, name)
        assert value is getattr(importlib.import_module(home), original), f"{package}.{name}"
        assert not isinstance(value, types.ModuleType) or home == f"{package}.{name}", f"{package}.{name} is a module"


HEAVY = ("captum", "pytorch_grad_cam", "shap", "lime", "quantus", "streamlit")


@pytest.mark.parametrize("package", ["xaiscope", "xaiscope.views", "xaiscope.preprocessing", "xaiscope.maps",
                                     "xaiscope.inputs", "xaiscope.models", "xaiscope.plugins", "xaiscope.data"])
def test_light_packages_do_not_import_explanation_libraries(package):
    code = (f"import sys, json; import {package}; "
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    assert loaded == [], f"importing {package} imports {loaded}"


def test_cli_help_imports_neither_torch_nor_an_explanation_library():
    code = ("import sys, json, contextlib, io\n"
            "from xaiscope.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            "        main(['--help'])\n"
            "    except SystemExit:\n"
            "        pass\n"
            f"print(json.dumps(sorted(m for m in ('torch', 'torchvision', *{HEAVY!r}) if m in sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    assert loaded == [], f"xaiscope --help imports {loaded}"


@pytest.mark.parametrize("argv", [["models"], ["models", "--json"], ["methods"], ["methods", "--modality", "xray"],
                                  ["methods", "--json"]])
def test_listing_commands_import_neither_torch_nor_an_explanation_library(argv, tmp_path):
    """`xaiscope models` reads cards and `xaiscope methods` reads class attributes: no torch, no library."""
    code = ("import sys, json, contextlib, io\n"
            "from xaiscope.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as listing:\n"
            f"    status = main({argv!r})\n"
            "assert status == 0 and listing.getvalue().strip(), (status, listing.getvalue())\n"
            f"print(json.dumps(sorted(m for m in ('torch', 'torchvision', *{HEAVY!r}) if m in sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                       cwd=tmp_path).stdout.strip().splitlines()[-1])
    assert loaded == [], f"xaiscope {' '.join(argv)} imports {loaded}"
