"""``xaiscope evaluate`` (score explanations over a folder of inputs) and ``xaiscope metrics`` (the metric registry).

DATA is a folder of recordings or X-rays (searched recursively). Optional ground truth sits beside them in
``ground_truth.json``, keyed by file name (the path relative to DATA, or the base name)::

    {"chest1.png": {"mask": "masks/chest1.png"},   # lesion mask PNG, the X-ray's size, nonzero = lesion
     "clip7.wav": {"fake_interval": [0.8, 1.6]},        # fake stretch, seconds of the recording
     "clip8.wav": [0.8, 1.6]}                      # short form of the same
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from xaiscope.cli.console import err, out, parse_dotted, progress_bar
from xaiscope.errors import XaiscopeError

_SUFFIXES = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".png", ".jpg", ".jpeg", ".dcm", ".dicom"}


def register(commands: Any) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="score explanation methods (faithfulness, sanity, localisation...) over a folder",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("--model", required=True, help="model name or .safetensors path")
    evaluate.add_argument("--data", type=Path, required=True, help="folder of recordings or X-rays "
                                                                   "(+ optional ground_truth.json)")
    evaluate.add_argument("--methods", default="gradcam,guided_backprop,random",
                          help="comma-separated methods; 'random' adds the chance-level control "
                               "(default gradcam,guided_backprop,random)")
    evaluate.add_argument("--metrics", help="comma-separated metrics (default: all that apply; `xaiscope metrics`)")
    evaluate.add_argument("--param", action="append", default=[], metavar="NAME.KEY=VALUE",
                          help="a method or metric parameter, e.g. lime.samples=500 or deletion.steps=10")
    evaluate.add_argument("--target", help="class to explain (default: each input's predicted class)")
    evaluate.add_argument("--limit", type=int, help="evaluate at most this many files (sorted by name)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of every random source (default 0)")
    evaluate.add_argument("--out", type=Path, required=True, help="output folder for tables and plots")
    evaluate.add_argument("--json", action="store_true", help="print the summary as JSON")
    evaluate.set_defaults(handler=run_evaluate)

    listing = commands.add_parser("metrics", help="list the evaluation metrics and what each means")
    listing.add_argument("--modality", choices=("audio", "xray"))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_metrics)


def _split_params(pairs: list[str], methods: dict[str, dict[str, Any]], metrics: dict[str, dict[str, Any]]) -> None:
    from xaiscope.evaluation import METRICS
    from xaiscope.explainers import REGISTRY

    for name, key, value in parse_dotted(pairs):
        if name in METRICS:
            metrics.setdefault(METRICS.get(name).name, {})[key] = value
        else:
            methods.setdefault(REGISTRY.get(name).name, {})[key] = value


def data_files(folder: Path, limit: int | None = None) -> list[Path]:
    """Input files under ``folder`` (recursive, sorted), excluding masks named in ``ground_truth.json``."""
    if not folder.is_dir():
        raise XaiscopeError(f"The data folder {folder} does not exist.", "Give a folder of recordings or X-rays.")
    from xaiscope.evaluation.ground_truth import mask_paths

    masks = mask_paths(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES
                   and p.resolve() not in masks)
    return files[:limit] if limit else files


def run_evaluate(args: argparse.Namespace) -> int:
    from xaiscope.evaluation import evaluate, get_metric, load_ground_truth
    from xaiscope.evaluation import metrics as metric_choices
    from xaiscope.evaluation.report import markdown, write_report
    from xaiscope.explainers import get_method
    from xaiscope.inputs import load_input
    from xaiscope.models import load_model

    model = load_model(args.model)
    methods: dict[str, dict[str, Any]] = {get_method(n).name: {} for n in args.methods.split(",") if n.strip()}
    metrics: dict[str, dict[str, Any]] | None = None
    if args.metrics:
        metrics = {get_metric(n).name: {} for n in args.metrics.split(",") if n.strip()}
    metric_params: dict[str, dict[str, Any]] = {}
    _split_params(args.param, methods, metric_params)
    if metrics is None:
        metrics = {choice.plugin.name: {} for choice in metric_choices(model.card.modality) if choice.available}
    for name, values in metric_params.items():
        metrics.setdefault(name, {}).update(values)
    truths = load_ground_truth(args.data)
    samples, truth_by_name, other = [], {}, 0
    for path in data_files(args.data, args.limit):
        sample = load_input(path)
        if sample.modality != model.card.modality:
            other += 1
            continue
        relative = path.relative_to(args.data).as_posix()
        truth = truths.get(relative, truths.get(path.name))
        if truth is not None:
            truth_by_name[sample.name] = truth
        samples.append(sample)
    if not samples:
        raise XaiscopeError(f"No {model.card.modality} input in {args.data} ({other} of the other kind).",
                            "Point --data at a folder of inputs the model classifies.")
    if other:
        err.print(f"Skipped {other} file(s) of the other modality.")
    with progress_bar("model calls") as progress:
        task = progress.add_task("evaluating", total=None)
        result = evaluate(model, samples, methods, metrics, ground_truth=truth_by_name, seed=args.seed,
                          target=args.target,
                          progress=lambda done, total: progress.update(task, completed=done, total=total))
    written = write_report(result, args.out)
    if args.json:
        print(json.dumps([row.record() for row in result.summary()], indent=2))
        return 0
    out.print(markdown(result), markup=False)
    out.print(f"{len(samples)} input(s), {result.model_calls} model calls; wrote {len(written)} files to {args.out}")
    return 0


def run_metrics(args: argparse.Namespace) -> int:
    from xaiscope.evaluation import metrics as metric_choices

    chosen = [choice.plugin for choice in metric_choices(args.modality) if choice.available]
    if args.json:
        print(json.dumps([metric.describe() for metric in chosen], indent=2, ensure_ascii=False))
        return 0
    table = Table(title="Evaluation metrics", title_justify="left")
    for column in ("name", "category", "better", "applies to", "library", "meaning", "parameters (default)"):
        table.add_column(column, overflow="fold")
    for metric in chosen:
        applies = "/".join(metric.modalities) + (", with ground truth" if metric.needs_ground_truth else "")
        params = ", ".join(f"{p.name}={p.default}" for p in metric.params) or "-"
        table.add_row(metric.name, metric.category, metric.direction, applies, metric.library, metric.summary, params)
    out.print(table)
    return 0
