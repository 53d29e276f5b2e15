"""Shared output helpers of the command line: consoles, error printing, progress bars, exit codes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from xaiscope.errors import XaiscopeError

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
