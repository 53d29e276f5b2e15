"""Progress bars for training and evaluation: samples done, samples per second, time left (rich, on stderr)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True, highlight=False, soft_wrap=True)


class RateColumn(ProgressColumn):
    """``123.4 samples/s`` from the task's measured speed."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- samples/s" if speed is None else f"{speed:,.1f} samples/s")


class NullProgress:
    """Stands in for a progress bar where none is shown (other ranks, ``progress = false``)."""

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None

    def advance(self, *args: Any, **kwargs: Any) -> None:
        return None


def progress_bar(enabled: bool) -> AbstractContextManager[Any]:
    """A context manager giving a rich ``Progress`` (or a :class:`NullProgress` when disabled)."""
    if not enabled:
        return nullcontext(NullProgress())
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                    TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), console=console,
                    transient=True)
