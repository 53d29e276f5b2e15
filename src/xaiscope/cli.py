"""The ``xaiscope`` command line: a thin shell over the public API.

Every user-facing error is an :class:`~xaiscope.errors.XaiscopeError`; it is printed without a traceback and the
command exits with status 2. Ctrl-C stops long work and exits with status 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from xaiscope.errors import XaiscopeError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
if not out.is_terminal:  # piped output: do not squeeze tables into 80 columns
    out.width = 160


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xaiscope", description=__import__("xaiscope").__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = commands.add_parser("models", help="list the models xaiscope can use and where their weights are")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")

    archs = commands.add_parser("archs", help="list the torchvision architectures a checkpoint may use")
    archs.add_argument("--json", action="store_true", help="print JSON instead of a list")

    predict = commands.add_parser("predict", help="classify recordings and X-rays")
    predict.add_argument("files", nargs="+", type=Path, metavar="FILE")
    predict.add_argument("--model", help="model name or .safetensors path (default: the first present model "
                                         "of the file's kind)")
    predict.add_argument("--json", action="store_true", help="print one JSON document with every result")
    predict.add_argument("--batch-size", type=int, default=16, help="windows per forward pass (default 16)")

    importer = commands.add_parser("import", help="convert a torchvision state_dict into a safetensors checkpoint")
    importer.add_argument("file", type=Path, metavar="FILE.pt")
    importer.add_argument("--arch", required=True, help="torchvision architecture, e.g. vgg16, densenet121")
    importer.add_argument("--modality", required=True, choices=("audio", "xray"))
    importer.add_argument("--classes", required=True, help="class names in output order, comma-separated")
    importer.add_argument("--name", help="model name (default: the file name without extension)")
    importer.add_argument("--out", type=Path, default=Path("weights"), help="output folder (default ./weights)")
    importer.add_argument("--alert-class", help="the class to warn about (default: guessed from the names)")
    importer.add_argument("--cam-layer", help="Grad-CAM target layer (default: per architecture)")
    importer.add_argument("--renderer", choices=("direct", "seed-notebook"),
                          help="audio only: how the training spectrograms were drawn (default direct)")

    app = commands.add_parser("app", help="start the Streamlit app")
    app.add_argument("--port", type=int, default=8501)
    app.add_argument("--models", type=Path, help="extra folder of models")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit status."""
    args = _parser().parse_args(argv)
    handler = {"models": _models, "archs": _archs, "predict": _predict, "import": _import, "app": _app}
    try:
        return handler[args.command](args)
    except XaiscopeError as error:
        _print_error(error)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        err.print("[yellow]Stopped.[/yellow]")
        return EXIT_INTERRUPTED


def _print_error(error: XaiscopeError, prefix: str = "") -> None:
    err.print(f"[bold red]Error:[/bold red] {prefix}{error.problem}", markup=True)
    if error.hint:
        err.print(f"[bold]What to do:[/bold] {error.hint}")


def _models(args: argparse.Namespace) -> int:
    from xaiscope.models import discover

    entries, problems = discover()
    if args.json:
        print(json.dumps({"models": [entry.to_dict() for entry in entries], "problems": problems}, indent=2))
        return 0
    table = Table(title="Models", title_justify="left")
    for column in ("name", "modality", "architecture", "classes (output order)", "origin", "weights"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        weights = str(entry.weights_path) if entry.present else "[red]missing[/red]"
        table.add_row(entry.card.name, entry.card.modality, entry.card.architecture, ", ".join(entry.card.classes),
                      entry.origin, weights)
    out.print(table)
    out.print("Searched, in order: " + ", ".join(str(folder) for folder in entries[0].searched))
    out.print("Put the earlier tool's weights/<key>.pt files in ./weights or a folder named by XAISCOPE_MODELS.")
    for problem in problems:
        err.print(f"[yellow]Skipped:[/yellow] {problem}")
    return 0


def _archs(args: argparse.Namespace) -> int:
    from xaiscope.models import classification_architectures

    names = classification_architectures()
    if args.json:
        print(json.dumps(list(names)))
    else:
        out.print(", ".join(names))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from xaiscope.inputs import load_input
    from xaiscope.models import Model, load_default_model, load_model

    fixed_model = load_model(args.model) if args.model else None
    results: list[dict[str, Any]] = []
    failures = 0
    for path in args.files:
        try:
            sample = load_input(path)
            model: Model = fixed_model or load_default_model(sample.modality)
            with _progress() as progress:
                task = progress.add_task(f"{sample.name}", total=None)
                prediction = model.predict(
                    sample, batch_size=args.batch_size,
                    progress=lambda done, total, task=task: progress.update(task, completed=done, total=total))
        except XaiscopeError as error:
            failures += 1
            if args.json:
                results.append({"file": str(path), "error": error.problem, "hint": error.hint})
            else:
                _print_error(error, prefix=f"{path}: ")
            continue
        if args.json:
            results.append({"file": str(path), **prediction.to_dict()})
        else:
            _print_prediction(prediction, model)
    if args.json:
        print(json.dumps(results, indent=2))
    return EXIT_USER_ERROR if failures else 0


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("windows"),
                    TimeRemainingColumn(), console=err, transient=True)


def _print_prediction(prediction: Any, model: Any) -> None:
    name = prediction.input.get("name", "")
    out.print(f"[bold]{name}[/bold]  model: {prediction.model}")
    verdict_style = "bold red" if prediction.label == model.card.alert_class else "bold green"
    out.print(f"  verdict: [{verdict_style}]{prediction.label}[/{verdict_style}] "
              f"(P={prediction.confidence:.3f}); combined by {prediction.combined_by}")
    out.print("  " + "  ".join(f"P({label})={value:.4f}" for label, value in prediction.probabilities.items()))
    if len(prediction.windows) > 1:
        table = Table(title="  per-window timeline", title_justify="left", box=None, padding=(0, 1))
        table.add_column("#", justify="right")
        table.add_column("start s", justify="right")
        table.add_column("end s", justify="right")
        for label in model.classes:
            table.add_column(f"P({label})", justify="right")
        for window in prediction.windows:
            marker = " *" if window.index == prediction.decisive_window else ""
            table.add_row(f"{window.index}{marker}", f"{window.start_s:.2f}", f"{window.end_s:.2f}",
                          *(f"{window.probabilities[label]:.4f}" for label in model.classes))
        out.print(table)
    out.print(f"  [dim]{prediction.seconds:.2f} s. {model.card.intended_use}[/dim]")


def _import(args: argparse.Namespace) -> int:
    from xaiscope.models import import_state_dict
    from xaiscope.preprocessing.spec import AudioSpec

    classes = [part.strip() for part in args.classes.split(",") if part.strip()]
    if len(classes) < 2:
        raise XaiscopeError("--classes needs at least two class names, in output order.",
                            "For the earlier tool's audio models: --classes fake,real")
    preprocessing = AudioSpec(renderer=args.renderer) if args.renderer and args.modality == "audio" else None
    weights = import_state_dict(args.file, architecture=args.arch, modality=args.modality, classes=classes,
                                output_dir=args.out, name=args.name, alert_class=args.alert_class,
                                cam_target_layer=args.cam_layer, preprocessing=preprocessing)
    out.print(f"Wrote {weights} and {weights.with_suffix('.json')}")
    return 0


def _app(args: argparse.Namespace) -> int:
    err.print("The Streamlit app is not part of this version yet: it arrives with the 'app' capability "
              "(issue 6). Meanwhile every verdict is available through `xaiscope predict` and the Python API.")
    return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
