"""``xaiscope explain`` and ``xaiscope methods``: explanations on disk, and which methods suit what."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.progress import TaskID
from rich.table import Table

from xaiscope.cli.console import add_precision_option, out, parse_dotted, progress_bar, with_precision
from xaiscope.errors import XaiscopeError


def register(commands: Any) -> None:
    explain = commands.add_parser("explain", help="explain a verdict with one or several methods")
    explain.add_argument("file", type=Path, metavar="FILE")
    explain.add_argument("--model", help="model name or .safetensors path (default: the first present model "
                                         "of the file's kind); several, comma-separated, compare models: each "
                                         "explains the file, and recordings get compare.png, every map on one "
                                         "time-frequency plane")
    explain.add_argument("--method", default="gradcam", help="comma-separated methods (see `xaiscope methods`)")
    explain.add_argument("--target", help="class name or index to explain (default: the predicted class)")
    explain.add_argument("--window", type=int, help="audio window to explain (default: the decisive one)")
    explain.add_argument("--seed", type=int, default=0, help="seed of every random source (default 0)")
    explain.add_argument("--param", action="append", default=[], metavar="METHOD.KEY=VALUE",
                         help="a method parameter, e.g. lime.samples=500 (repeatable)")
    explain.add_argument("--preset", action="append", default=[], metavar="METHOD=NAME",
                         help="a method's parameter preset, e.g. lime=earlier-tool (repeatable)")
    explain.add_argument("--opacity", type=float, default=0.5, help="overlay opacity 0..1 (default 0.5)")
    explain.add_argument("--keep", type=float, default=0.2,
                         help="audio: fraction of the picture kept in listen.wav (default 0.2)")
    explain.add_argument("--out", type=Path, required=True,
                         help="output folder (one sub-folder per method; with several models, per model and method)")
    explain.add_argument("--json", action="store_true", help="print the records as JSON")
    add_precision_option(explain)
    explain.set_defaults(handler=run_explain)

    listing = commands.add_parser("methods", help="list explanation methods and whether they suit an input/model")
    listing.add_argument("--modality", choices=("audio", "xray"))
    listing.add_argument("--model", help="model name: also check what the model allows (e.g. a CAM layer)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_methods)


def _presets(pairs: list[str]) -> dict[str, str]:
    """``METHOD=NAME`` items -> ``{method: preset}``."""
    from xaiscope.explainers import get_method

    presets = {}
    for item in pairs:
        method, equals, name = item.partition("=")
        if not equals or not method.strip() or not name.strip():
            raise XaiscopeError(f"'{item}' is not of the form METHOD=NAME.", "For example: --preset lime=earlier-tool")
        presets[get_method(method).name] = name.strip()
    return presets


def run_explain(args: argparse.Namespace) -> int:
    from xaiscope.explainers import get_method
    from xaiscope.inputs import load_input
    from xaiscope.models import load_default_model, load_model

    names = [get_method(name).name for name in args.method.split(",") if name.strip()]
    params: dict[str, dict[str, str]] = {}
    for method, key, value in parse_dotted(args.param):
        params.setdefault(get_method(method).name, {})[key] = value
    presets = _presets(args.preset)
    sample = load_input(args.file)
    model_names = [name.strip() for name in (args.model or "").split(",") if name.strip()]
    models = [with_precision(model, args.precision) for model in
              ([load_model(name) for name in model_names] or [load_default_model(sample.modality)])]
    if len({model.name for model in models}) < len(models):
        raise XaiscopeError("The same model is named twice in --model.", "Name each model once.")
    for model in models if len(models) > 1 else ():
        reasons = {get_method(name).label: get_method(name).suits(model, sample.modality) for name in names}
        unsuited = "; ".join(f"{label} {reason}" for label, reason in reasons.items() if reason)
        if unsuited:
            raise XaiscopeError(f"Cannot compare on {model.name}: {unsuited}.",
                                "Compare models with methods that suit every one of them, e.g. the tile methods "
                                "(tile_lime, tile_kernel_shap, tile_occlusion) for any audio model "
                                "(`xaiscope methods --model NAME`).")
    records, explained = [], []
    for model in models:
        folder = args.out / model.name if len(models) > 1 else args.out
        for explanation, record in _explain_model(model, sample, names, params, presets, args, folder):
            records.append(record)
            explained.append(explanation)
    if len(models) > 1 and sample.modality == "audio":
        _write_comparison(explained, args.out / "compare.png", records, quiet=args.json)
    if args.json:
        print(json.dumps(records, indent=2))
    return 0


def _explain_model(model: Any, sample: Any, names: list[str], params: dict[str, dict[str, str]],
                   presets: dict[str, str], args: argparse.Namespace, root: Path) -> list[tuple[Any, dict[str, Any]]]:
    """Every method on one model, written to ``root/<method>/``; the explanations with their records."""
    from xaiscope.explainers import explain
    from xaiscope.views.export import write_explanation

    window = args.window
    if window is None and sample.modality == "audio":  # decide once, not once per method
        window = model.predict(sample).decisive_window or 0
    results = []
    for name in names:
        with progress_bar("model calls") as progress:
            task = progress.add_task(f"{model.name} · {name}", total=None)

            def report(done: int, total: int, task: TaskID = task) -> None:
                progress.update(task, completed=done, total=total)

            explanation = explain(model, sample, name, args.target, window=window, seed=args.seed,
                                  preset=presets.get(name), progress=report, **params.get(name, {}))
        folder = root / name
        written = write_explanation(explanation, sample, model.card.preprocessing, folder, opacity=args.opacity,
                                    keep=args.keep)
        record = json.loads((folder / "record.json").read_text())
        record["files"] = [str(path) for path in written]
        results.append((explanation, record))
        if not args.json:
            out.print(f"[bold]{model.name} · {explanation.label}[/bold]: {record['summary']}")
            out.print(f"  {explanation.seconds:.2f} s, {explanation.model_calls} model calls at "
                      f"{record.get('precision', 'fp32')} -> {folder}")
    return results


def _write_comparison(explained: list[Any], path: Path, records: list[dict[str, Any]], quiet: bool = False) -> None:
    """Every model's maps of the recording on one plane figure (see :func:`~xaiscope.views.audio.models_figure_png`)."""
    from xaiscope.views.audio import models_figure_png

    if not quiet:
        for explanation in explained:
            if explanation.plane is None:
                out.print(f"[yellow]{explanation.model} · {explanation.label} has no time-frequency map: not in "
                          f"{path}[/yellow]")
    figure = models_figure_png(explained)
    if figure is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(figure)
    for record in records:
        record.setdefault("comparison", str(path))
    if not quiet:
        out.print(f"comparison of {', '.join(dict.fromkeys(e.model for e in explained))} on one time-frequency "
                  f"plane -> {path}")


def run_methods(args: argparse.Namespace) -> int:
    from xaiscope.explainers import methods
    from xaiscope.models import load_model

    model = load_model(args.model) if args.model else None
    choices = methods(args.modality, model)  # the random control included: `evaluate` accepts it
    if args.json:
        print(json.dumps([choice.describe() for choice in choices], indent=2))
        return 0
    table = Table(title="Explanation methods", title_justify="left")
    for column in ("name", "family", "library", "available", "parameters (default)"):
        table.add_column(column, overflow="fold")
    for choice in choices:
        method = choice.plugin
        parameters = ", ".join(f"{p.name}={p.default}" for p in method.params) or "-"
        presets = f"; presets: {', '.join(method.presets)}" if method.presets else ""
        table.add_row(method.name, method.family, method.library,
                      "yes" if choice.available else f"[red]no[/red]: {choice.reason}", parameters + presets)
    out.print(table)
    return 0
