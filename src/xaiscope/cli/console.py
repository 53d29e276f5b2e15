"""Shared output helpers of the command line: consoles, error printing, progress bars, exit codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from xaiscope.errors import XaiscopeError
from xaiscope.models.precision import PRECISION_CHOICES

if TYPE_CHECKING:
    import argparse

    from xaiscope.models.model import Model

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
if not out.is_terminal:  # piped output: do not squeeze tables into 80 columns
    out.width = 160


def print_error(error: XaiscopeError, prefix: str = "") -> None:
    """Print a user-facing error (what is wrong, what to do) on stderr, without a traceback."""
    # The problem and hint quote user-controlled text (file names): escaped so it is printed, never interpreted.
    err.print(f"[bold red]Error:[/bold red] {escape(prefix)}{escape(error.problem)}", markup=True)
    if error.hint:
        err.print(f"[bold]What to do:[/bold] {escape(error.hint)}")


def progress_bar(unit: str = "items") -> Progress:
    """A transient progress bar on stderr with counts, the unit's name and the time left."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                    TimeRemainingColumn(), console=err, transient=True)


def parse_dotted(pairs: list[str]) -> list[tuple[str, str, str]]:
    """``NAME.KEY=VALUE`` command-line items -> ``(name, key, value)``, stripped.

    Raises:
        XaiscopeError: an item not of that form.
    """
    parsed = []
    for item in pairs:
        left, equals, value = item.partition("=")
        name, dot, key = left.partition(".")
        if not equals or not dot or not name.strip() or not key.strip():
            raise XaiscopeError(f"'{item}' is not of the form NAME.KEY=VALUE.",
                                "For example: --param lime.samples=500")
        parsed.append((name.strip(), key.strip(), value.strip()))
    return parsed


def add_precision_option(parser: argparse.ArgumentParser | Any) -> None:
    """The ``--precision`` option of every command that runs a model (see :mod:`xaiscope.models.precision`)."""
    parser.add_argument("--precision", choices=PRECISION_CHOICES, default="auto",
                        help="number format of the forward passes: auto (bf16 on GPUs and on CPUs with AMX or "
                             "AVX-512 BF16, else fp32), fp32, bf16, or fp16 (CUDA only); methods not measured "
                             "faithful at a reduced precision run at fp32. Default auto")


#: The models whose precision a command changed, with the policy to restore when it ends (see :func:`precision_scope`).
_changed: list[tuple[Model, str]] = []


def with_precision(model: Model, requested: str) -> Model:
    """``model`` with its forward passes set to ``requested`` (``auto``, ``fp32``, ``bf16``, ``fp16``) until the
    command ends (:func:`precision_scope` restores it: the process-wide model cache may serve the model again).

    Raises:
        PrecisionError: fp16 on a CPU, or an unknown name.
    """
    previous = model.precision_policy.requested
    model.set_precision(requested)
    _changed.append((model, previous))
    return model


@contextlib.contextmanager
def precision_scope() -> Iterator[None]:
    """Restore, when the command ends, the precision of every model :func:`with_precision` changed."""
    mark = len(_changed)
    try:
        yield
    finally:
        while len(_changed) > mark:
            model, previous = _changed.pop()
            model.set_precision(previous)
