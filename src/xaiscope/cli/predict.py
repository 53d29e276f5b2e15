"""``xaiscope predict``: verdicts, class probabilities and the per-window timeline."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.progress import TaskID
from rich.table import Table

from xaiscope.cli.console import EXIT_USER_ERROR, add_precision_option, out, print_error, progress_bar, with_precision
from xaiscope.errors import XaiscopeError

if TYPE_CHECKING:
    from xaiscope.models.model import Model, Prediction


def register(commands: Any) -> None:
    predict = commands.add_parser("predict", help="classify recordings and X-rays")
    predict.add_argument("files", nargs="+", type=Path, metavar="FILE")
    predict.add_argument("--model", help="model name or .safetensors path (default: the first present model "
                                         "of the file's kind)")
    predict.add_argument("--json", action="store_true", help="print one JSON document with every result")
    predict.add_argument("--batch-size", type=int, default=16, help="windows per forward pass (default 16)")
    add_precision_option(predict)
    predict.set_defaults(handler=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    """Classify each file; a bad file is reported and the others still run (exit status 2 if any failed)."""
    from xaiscope.inputs import load_input
    from xaiscope.models import load_default_model, load_model

    fixed_model = with_precision(load_model(args.model), args.precision) if args.model else None
    results: list[dict[str, Any]] = []
    failures = 0
    for path in args.files:
        try:
            sample = load_input(path)
            model: Model = fixed_model or with_precision(load_default_model(sample.modality), args.precision)
            with progress_bar("windows") as progress:
                task = progress.add_task(sample.name, total=None)
                def report(done: int, total: int, task: TaskID = task) -> None:
                    progress.update(task, completed=done, total=total)

                prediction = model.predict(sample, batch_size=args.batch_size, progress=report)
        except XaiscopeError as error:
            failures += 1
            if args.json:
                results.append({"file": str(path), "error": error.problem, "hint": error.hint})
            else:
                print_error(error, prefix=f"{path}: ")
            continue
        if args.json:
            results.append({"file": str(path), **prediction.to_dict()})
        else:
            print_prediction(prediction, model)
    if args.json:
        print(json.dumps(results, indent=2))
    return EXIT_USER_ERROR if failures else 0


def print_prediction(prediction: Prediction, model: Model) -> None:
    """Verdict line, every class's probability, and the timeline of a multi-window recording."""
    from xaiscope.views.trust import calibration_line, check_lines, familiarity_line

    out.print(f"[bold]{escape(str(prediction.input.get('name', '')))}[/bold]  model: {escape(prediction.model)}")
    for warning in prediction.warnings:
        out.print(f"  [bold yellow]WARNING:[/bold yellow] {escape(warning)}", markup=True, highlight=False)
    style = "bold red" if prediction.label == model.card.alert_class else "bold green"
    out.print(f"  verdict: [{style}]{escape(prediction.label)}[/{style}] (P={prediction.confidence:.3f}); "
              f"combined by {prediction.combined_by}")
    out.print("  " + "  ".join(f"P({label})={value:.4f}" for label, value in prediction.probabilities.items()))
    out.print(f"  {calibration_line(prediction)}", markup=False, highlight=False)
    out.print(f"  {familiarity_line(prediction)}", markup=False, highlight=False)
    for line in check_lines(prediction):
        out.print(f"    {line}", markup=False, highlight=False)
    if prediction.output_kind == "multi-label":
        present = ", ".join(prediction.present_labels) or "none"
        out.print(f"  labels are independent (one sigmoid each, not summing to 1); at P >= 0.5: {present}")
    if len(prediction.windows) > 1:
        table = Table(title="  per-window timeline", title_justify="left", box=None, padding=(0, 1))
        for column in ("#", "start s", "end s", *(f"P({label})" for label in model.classes)):
            table.add_column(column, justify="right")
        for window in prediction.windows:
            marker = " *" if window.index == prediction.decisive_window else ""
            table.add_row(f"{window.index}{marker}", f"{window.start_s:.2f}", f"{window.end_s:.2f}",
                          *(f"{window.probabilities[label]:.4f}" for label in model.classes))
        out.print(table)
    out.print(f"  [dim]{prediction.seconds:.2f} s at {prediction.precision}. "
              f"{escape(model.card.intended_use)}[/dim]")
