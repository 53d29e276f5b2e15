"""Writers for an :class:`~xaiscope.evaluation.results.EvaluationResult`: CSV, JSON, Markdown and curve plots.

* ``scores.csv``: one row per sample, method, metric and output (value, seconds, model calls);
* ``summary.csv``: one row per method, metric and output: n, mean, bootstrap 95% CI, better direction, seconds;
* ``evaluation.json``: all of it, plus parameters, explanations, per-metric details and skipped metrics;
* ``evaluation.md``: the summary as a table (methods as rows), then the seconds each method and metric took;
* ``curves_<metric>.png``: the mean curve of each method (deletion, insertion, randomisation cascade).

Plots use matplotlib's object API with an Agg canvas (no pyplot state, safe in threads).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from xaiscope.evaluation.results import EvaluationResult

_ARROW = {"higher": "↑", "lower": "↓"}


def _number(value: float, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def write_csv(result: EvaluationResult, folder: Path) -> list[Path]:
    """``scores.csv`` and ``summary.csv`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    scores, summary = folder / "scores.csv", folder / "summary.csv"
    with scores.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample", "method", "metric", "output", "value", "seconds", "model_calls", "familiarity",
                         "verdict_warnings"])
        for s in result.scores:
            verdict = result.verdicts.get(s.sample, {})
            writer.writerow([s.sample, s.method, s.metric, s.output, repr(s.value), f"{s.seconds:.4f}", s.model_calls,
                             verdict.get("familiarity", ""), " | ".join(verdict.get("warnings", []))])
    with summary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "metric", "output", "direction", "n", "mean", "ci_low", "ci_high", "seconds",
                         "model_calls"])
        for row in result.summary():
            writer.writerow([row.method, row.metric, row.output, row.direction, row.n, repr(row.mean),
                             repr(row.ci_low), repr(row.ci_high), f"{row.seconds:.4f}", f"{row.model_calls:.1f}"])
    return [scores, summary]


def result_record(result: EvaluationResult) -> dict[str, Any]:
    """The whole result as JSON-ready data (non-finite numbers become null)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float | np.floating):
            return float(value) if math.isfinite(value) else None
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [clean(item) for item in value]
        if isinstance(value, np.ndarray):
            return clean(value.tolist())
        if isinstance(value, np.integer):
            return int(value)
        return value

    return clean({
        "model": result.model, "modality": result.modality, "seed": result.seed, "model_calls": result.model_calls,
        "methods": {name: {"label": label, "params": result.method_params[name]}
                    for name, label in result.method_labels.items()},
        "metrics": {name: {**metric.describe(), "params_used": result.metric_params[name]}
                    for name, metric in result.metrics.items()},
        "summary": [row.record() for row in result.summary()],
        "scores": [s.__dict__ for s in result.scores], "verdicts": result.verdicts,
        "explanations": result.explanations, "details": result.details, "skipped": result.skipped,
        "not_applicable": result.not_applicable,
        "curves": [{"sample": c.sample, "method": c.method, "metric": c.metric, "x": c.x, "y": c.y}
                   for c in result.curves],
    })


def write_json(result: EvaluationResult, folder: Path) -> Path:
    """``evaluation.json`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "evaluation.json"
    path.write_text(json.dumps(result_record(result), indent=2, ensure_ascii=False))
    return path


def markdown(result: EvaluationResult) -> str:
    """The summary as Markdown: scores (mean [95% CI]) by method, then seconds by method and metric."""
    rows = result.summary()
    columns = list(dict.fromkeys((row.metric, row.output) for row in rows))
    cells = {(row.method, row.metric, row.output): row for row in rows}
    n_samples = len({s.sample for s in result.scores}) or len({e["sample"] for e in result.explanations})
    lines = [f"Model `{result.model}` ({result.modality}), {n_samples} input(s), seed {result.seed}; "
             "mean [bootstrap 95% CI]; ↑ higher is better, ↓ lower is better.", ""]
    header = ["method"] + [f"{name}{'' if output in ('score', 'auc') else '.' + output} "
                           f"{_ARROW[result.metrics[name].direction]}" for name, output in columns]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, label in result.method_labels.items():
        row_cells = [label]
        for name, output in columns:
            row = cells.get((method, name, output))
            row_cells.append("n/a" if row is None else
                             f"{_number(row.mean)} [{_number(row.ci_low)}, {_number(row.ci_high)}]"
                             if row.n > 1 else _number(row.mean if row else float("nan")))
        lines.append("| " + " | ".join(row_cells) + " |")
    metric_names = list(dict.fromkeys(name for name, _ in columns))
    lines += ["", "Seconds per input (explanation, then each metric's own work):", "",
              "| method | explanation | " + " | ".join(metric_names) + " |",
              "|" + "---|" * (len(metric_names) + 2)]
    explained = result.explanation_seconds()
    for method, label in result.method_labels.items():
        times = []
        for name in metric_names:
            row = next((r for r in rows if r.method == method and r.metric == name), None)
            times.append("n/a" if row is None else f"{row.seconds:.2f}")
        lines.append(f"| {label} | {explained[method]:.2f} | " + " | ".join(times) + " |")
    if result.skipped:
        reasons = sorted({f"{s['metric']}: {s['reason']}" for s in result.skipped})
        lines += ["", "Skipped: " + "; ".join(reasons) + "."]
    if result.not_applicable:
        counts: dict[str, int] = {}
        for entry in result.not_applicable:
            key = f"{result.method_labels.get(entry['method'], entry['method'])} / {entry['metric']}: {entry['reason']}"
            counts[key] = counts.get(key, 0) + 1
        lines += ["", "Not applicable (not counted in n): " +
                  "; ".join(f"{key} ({count} input{'s' if count > 1 else ''})" for key, count in sorted(counts.items()))
                  + "."]
    if result.verdicts:
        lines += ["", "Verdicts (scores of inputs with warnings describe a verdict that is itself in doubt):", "",
                  "| input | verdict | P | familiarity | warnings |", "|---|---|---|---|---|"]
        for name, verdict in result.verdicts.items():
            warnings = " / ".join(verdict["warnings"]).replace("|", "/") or "none"
            lines.append(f"| {name} | {verdict['label']} | {verdict['confidence']:.3f} | {verdict['familiarity']} | "
                         f"{warnings} |")
    return "\n".join(lines) + "\n"


def write_markdown(result: EvaluationResult, folder: Path) -> Path:
    """``evaluation.md`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "evaluation.md"
    path.write_text(markdown(result))
    return path


def plot_curves(result: EvaluationResult, folder: Path) -> list[Path]:
    """``curves_<metric>.png`` per curve kind: each method's mean curve over the samples."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in dict.fromkeys(curve.metric for curve in result.curves):
        figure = Figure(figsize=(6, 4), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        for method, label in result.method_labels.items():
            curves = [c for c in result.curves if c.metric == kind and c.method == method]
            if not curves:
                continue
            x = curves[0].x
            y = np.mean([np.interp(x, c.x, c.y) for c in curves], axis=0)
            area = float(np.trapezoid(y, x))
            axes.plot(x, y, marker="." if len(x) < 30 else None, label=f"{label} (area {area:.3f})")
        metric = result.metrics.get(kind)
        randomisation = kind == "randomisation"
        axes.set_xlabel("fraction of layers randomised (output first)" if randomisation else
                        "fraction of the input changed")
        axes.set_ylabel("Spearman similarity to the original map" if randomisation else
                        "P(explained class)")
        params = result.metric_params.get(kind, {})
        stated = f" — replacement: {params['replacement']}, unit: {params['unit']}" if "replacement" in params else ""
        axes.set_title(f"{metric.label if metric else kind}{stated}", fontsize=9)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
        path = folder / f"curves_{kind}.png"
        figure.savefig(path, format="png")
        written.append(path)
    return written


def write_report(result: EvaluationResult, folder: Path) -> list[Path]:
    """Every file above, in ``folder``."""
    return [*write_csv(result, folder), write_json(result, folder), write_markdown(result, folder),
            *plot_curves(result, folder)]
