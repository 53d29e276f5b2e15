"""``xaiscope evaluate`` (audit explanations over a folder or a data-set split) and ``xaiscope metrics``.

DATA is a folder of recordings or X-rays (searched recursively), or with ``--split`` a FoR, CheXpert or
folder-per-class data set (the training loaders: ``--split testing`` audits the held-out split, with labels).
Optional ground truth sits in ``ground_truth.json`` at the top of DATA, keyed by the path relative to DATA (or the
base name)::

    {"chest1.png": {"mask": "masks/chest1.png"},   # lesion mask PNG, the X-ray's size, nonzero = lesion
     "clip7.wav": {"fake_interval": [0.8, 1.6]},        # fake stretch, seconds of the recording
     "clip8.wav": [0.8, 1.6]}                      # short form of the same

Inputs are streamed: each is loaded, explained and scored, and its scores are written to ``OUT/records/`` before the
next one starts. After a crash or Ctrl-C, the same command continues where it stopped; other settings are refused
(``--restart`` starts over). ``torchrun --nproc_per_node N -m xaiscope evaluate ...`` shares the inputs among N
processes (gloo; the same rendezvous flags as training); rank 0 merges the scores and writes the report:
``audit.html``, ``audit.md``, ``audit.json``, ``summary.csv``, ``comparisons.csv``, ``scores.csv``, ``curves_*.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from xaiscope.cli.console import add_precision_option, err, out, parse_dotted, progress_bar, with_precision
from xaiscope.errors import XaiscopeError


def register(commands: Any) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="audit explanation methods (faithfulness, sanity, localisation...) over a folder or split",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("--model", required=True, help="model name or .safetensors path")
    evaluate.add_argument("--data", type=Path, required=True, help="folder of recordings or X-rays, or a data set "
                                                                   "with --split (+ optional ground_truth.json)")
    evaluate.add_argument("--split", help="audit this split of a FoR / CheXpert / folder-per-class data set "
                                          "(training, validation, testing)")
    evaluate.add_argument("--data-kind", default="auto", choices=("auto", "for", "chexpert", "folders"),
                          help="data set layout with --split (default: detected)")
    evaluate.add_argument("--methods", default="gradcam,guided_backprop,random",
                          help="comma-separated methods; 'random' adds the chance-level control the verdict "
                               "compares with (default gradcam,guided_backprop,random)")
    evaluate.add_argument("--metrics", help="comma-separated metrics (default: all that apply, less those that "
                                            "repeat another by construction; `xaiscope metrics`)")
    evaluate.add_argument("--param", action="append", default=[], metavar="NAME.KEY=VALUE",
                          help="a method or metric parameter, e.g. lime.samples=500 or deletion.steps=10")
    evaluate.add_argument("--target", help="class to explain (default: each input's predicted class)")
    evaluate.add_argument("--limit", type=int, help="evaluate at most this many inputs (the first, in order)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of every random source (default 0)")
    evaluate.add_argument("--out", type=Path, required=True, help="output folder (scores, tables, report)")
    evaluate.add_argument("--restart", action="store_true", help="discard the scores already in --out")
    evaluate.add_argument("--worst-cases", type=int, default=3,
                          help="worst inputs per method drawn in audit.html (one explanation each; 0 = none)")
    evaluate.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_precision_option(evaluate)
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


def run_evaluate(args: argparse.Namespace) -> int:
    from xaiscope.data import DataOptions
    from xaiscope.evaluation import get_metric
    from xaiscope.evaluation.aggregate import merge_audit
    from xaiscope.evaluation.audit import AuditStore, audit_settings, folder_inputs, run_audit, split_inputs
    from xaiscope.evaluation.audit_report import markdown, worst_cases, write_audit_report
    from xaiscope.evaluation.registry import default_metrics
    from xaiscope.explainers import get_method
    from xaiscope.models import load_model
    from xaiscope.training import distributed

    context = distributed.setup("cpu")
    try:
        model = with_precision(load_model(args.model), args.precision)
        methods: dict[str, dict[str, Any]] = {get_method(n).name: {} for n in args.methods.split(",") if n.strip()}
        names = ([get_metric(n).name for n in args.metrics.split(",") if n.strip()] if args.metrics
                 else default_metrics(model.card.modality, model))
        metrics: dict[str, dict[str, Any]] = {name: {} for name in names}
        metric_params: dict[str, dict[str, Any]] = {}
        _split_params(args.param, methods, metric_params)
        for name, values in metric_params.items():
            metrics.setdefault(name, {}).update(values)
        if args.split:
            source = split_inputs(args.data, args.split, DataOptions(kind=args.data_kind), args.limit)
        else:
            source = folder_inputs(args.data, args.limit, model.card.modality)
        if not source.inputs:
            raise XaiscopeError(f"No {model.card.modality} input in {args.data}.",
                                "Point --data at a folder of inputs the model classifies.")
        settings = audit_settings(model, source, methods, metrics, seed=args.seed, target=args.target)
        store = AuditStore(args.out)
        problem = None
        if context.is_main:
            try:
                store.open(settings, restart=args.restart)
            except XaiscopeError as error:
                problem = error
        problem = distributed.broadcast_object(problem, context)
        if problem is not None:
            raise problem
        # One snapshot of the inputs already scored, taken before any process starts, so all deal the same list.
        done: set[int] = distributed.broadcast_object(store.done() if context.is_main else set(), context)
        with progress_bar("inputs") as progress:
            task = progress.add_task("auditing", total=None, visible=context.is_main)

            def report(done: int, total: int, calls: int) -> None:
                progress.update(task, completed=done, total=total,
                                description=f"auditing (rank {context.rank}/{context.world_size}, {calls:,} calls)"
                                if context.distributed else f"auditing ({calls:,} model calls)")

            run = run_audit(model, source, methods, metrics, store, seed=args.seed, target=args.target,
                            rank=context.rank, world_size=context.world_size, progress=report, done=done)
        distributed.barrier(context)
        if not context.is_main:
            return 0
        summary = merge_audit(store)
        summary.worst = {method: cases[:max(args.worst_cases, 0)] for method, cases in summary.worst.items()}
        worst = worst_cases(model, source, summary) if args.worst_cases > 0 else None
        written = write_audit_report(summary, store, args.out, worst)
        if args.json:
            print(json.dumps([row.record() for row in summary.rows], indent=2))
            return 0
        out.print(markdown(summary), markup=False)
        if run.failed:
            err.print(f"{run.failed} input(s) could not be loaded (listed in audit.md).")
        out.print(f"{len(source.inputs)} input(s): {run.scored} scored now ({run.model_calls:,} model calls, "
                  f"{run.seconds:.0f} s in this process), {run.already_done} already scored; "
                  f"{summary.model_calls:,} model calls in all; wrote {len(written)} files to {args.out}")
        return 0
    finally:
        distributed.teardown()


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
