"""Writers of a merged audit (:class:`~xaiscope.evaluation.aggregate.AuditSummary`).

* ``summary.csv``: per method and score column: n, not applicable, mean, median, bootstrap 95% CI, direction, cost;
* ``comparisons.csv``: each method against the ``random`` control: pairs, medians, Wilcoxon p (raw and Holm),
  rank-biserial effect, outcome;
* ``scores.csv``: one row per input, method and score (streamed from the records, never held in memory);
* ``audit.json``: settings, table, comparisons, verdicts, summary paragraph, not-applicable reasons, mean curves;
* ``audit.md``: the summary paragraph, the verdicts and the table (Markdown);
* ``curves_<curve>.png``: each method's mean curve;
* ``audit.html``: all of it in one self-contained page (images embedded), with the worst inputs per method and
  their overlays.

Plots use matplotlib's object API with an Agg canvas (no pyplot state, safe in threads).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xaiscope.evaluation.aggregate import AuditSummary
from xaiscope.evaluation.audit import AuditSource, AuditStore

if TYPE_CHECKING:
    from xaiscope.models.model import Model

_ARROW = {"higher": "↑", "lower": "↓"}
#: Worst case: (input key, deletion area, overlay PNG).
WorstCase = tuple[str, float, bytes]


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _column(metric: str, output: str) -> str:
    return metric if output in ("score", "auc") else f"{metric}.{output}"


def write_csv(summary: AuditSummary, store: AuditStore, folder: Path) -> list[Path]:
    """``summary.csv``, ``comparisons.csv`` and ``scores.csv`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "summary.csv", folder / "comparisons.csv", folder / "scores.csv"]
    with paths[0].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "metric", "output", "direction", "n", "not_applicable", "mean", "median", "ci_low",
                         "ci_high", "seconds", "model_calls"])
        for row in summary.rows:
            writer.writerow([row.method, row.metric, row.output, row.direction, row.n, row.not_applicable,
                             repr(row.mean), repr(row.median), repr(row.ci_low), repr(row.ci_high),
                             f"{row.seconds:.4f}", f"{row.model_calls:.1f}"])
    with paths[1].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "metric", "output", "direction", "pairs", "nonzero", "method_median",
                         "control_median", "p", "p_holm", "effect_rank_biserial", "outcome"])
        for c in summary.comparisons:
            writer.writerow([c.method, c.metric, c.output, c.direction, c.n, c.nonzero, repr(c.method_median),
                             repr(c.control_median), repr(c.p), repr(c.p_holm), repr(c.effect), c.outcome])
    with paths[2].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["input", "label", "method", "metric", "output", "value", "seconds", "model_calls"])
        for record in store.iter_records(summary.inputs):
            for method, metric, output, value, seconds, calls in record.get("scores", []):
                writer.writerow([record["input"], record.get("label") or "", method, metric, output, repr(value),
                                 f"{seconds:.4f}", calls])
    return paths


def _clean(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    return value


def audit_record(summary: AuditSummary) -> dict[str, Any]:
    """The merged audit as JSON-ready data (non-finite numbers become null)."""
    return _clean({
        "settings": summary.settings, "inputs": summary.inputs, "failed": summary.failed,
        "failures": summary.failures, "model_calls": summary.model_calls, "seconds_of_work": summary.seconds,
        "labels": dict(summary.labels), "explained_class_is_label": summary.correct,
        "summary": [row.record() for row in summary.rows],
        "comparisons": [c.record() for c in summary.comparisons],
        "verdicts": summary.verdicts, "paragraph": summary.paragraph, "equivalences": summary.equivalences(),
        "not_applicable": [{"method": method, "metric": metric, "reason": reason, "count": count}
                           for (method, metric), reasons in summary.reasons.items()
                           for reason, count in reasons.items()],
        "explanations": {method: {"seconds": summary.explanation_seconds.get(method),
                                  "model_calls": summary.explanation_calls.get(method)}
                         for method in summary.method_labels},
        "curves": [{"method": method, "curve": name, "x": x, "mean": y, "inputs": n}
                   for (method, name), (x, y, n) in summary.curves.items()],
        "worst": {method: [{"input": key, "deletion": value} for value, _, key in items]
                  for method, items in summary.worst.items()},
    })


def _cell(row: Any) -> str:
    if row is None:
        return "–"
    text = _number(row.mean)
    if row.n > 1:
        text += f" [{_number(row.ci_low)}, {_number(row.ci_high)}]"
    if row.not_applicable:
        text += f" (n/a {row.not_applicable})"
    return text


def _table(summary: AuditSummary) -> tuple[list[str], list[list[str]]]:
    columns = list(dict.fromkeys((row.metric, row.output) for row in summary.rows))
    cells = {(row.method, row.metric, row.output): row for row in summary.rows}
    header = ["method"] + [f"{_column(name, output)} {_ARROW[summary.metrics[name].direction]}"
                           for name, output in columns]
    body = [[label] + [_cell(cells.get((method, name, output))) for name, output in columns]
            for method, label in summary.method_labels.items()]
    return header, body


def _comparison_rows(summary: AuditSummary) -> tuple[list[str], list[list[str]]]:
    header = ["method", "score", "pairs", "median (method)", "median (random)", "p (Wilcoxon)", "p (Holm)",
              "effect r", "outcome"]
    labels = summary.method_labels
    body = [[labels[c.method], f"{_column(c.metric, c.output)} {_ARROW[c.direction]}", str(c.n),
             _number(c.method_median), _number(c.control_median), _p(c.p), _p(c.p_holm),
             "–" if not math.isfinite(c.effect) else f"{c.effect:+.2f}", c.outcome] for c in summary.comparisons]
    return header, body


def _reasons(summary: AuditSummary) -> list[str]:
    labels = summary.method_labels
    return [f"{labels.get(method, method)} / {metric}: {reason} ({count} input{'s' if count > 1 else ''})"
            for (method, metric), reasons in sorted(summary.reasons.items()) for reason, count in reasons.items()]


def _header_line(summary: AuditSummary) -> str:
    data = summary.settings["data"]
    where = data.get("path", "")
    if data.get("split"):
        where += f" ({data['kind']}, {data['split']} split)"
    return (f"Model `{summary.model}` ({summary.modality}), {summary.inputs - summary.failed} input(s) from {where}"
            f"{f', {summary.failed} unreadable' if summary.failed else ''}; seed {summary.settings['seed']}; "
            f"{summary.model_calls:,} model calls. Mean [bootstrap 95% CI] over the inputs where the score is "
            "defined; (n/a k): k inputs where it is not applicable; ↑ higher is better, ↓ lower is better.")


def markdown(summary: AuditSummary) -> str:
    """The summary paragraph, the verdicts, the table, the comparisons and the not-applicable reasons."""

    def table(header: list[str], body: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                *("| " + " | ".join(row) + " |" for row in body)]

    lines = [_header_line(summary), "", summary.paragraph, ""]
    lines += [f"- {line}" for line in summary.verdicts.values()]
    lines += ["", *table(*_table(summary)), "", "Each method against the random control (paired over inputs):", "",
              *table(*_comparison_rows(summary))]
    seconds = ", ".join(f"{summary.method_labels[m]} {s:.2f} s / {summary.explanation_calls.get(m, 0):.0f} calls"
                        for m, s in summary.explanation_seconds.items())
    lines += ["", f"Explanation cost per input: {seconds}."]
    equivalences = summary.equivalences()
    if equivalences:
        lines += ["", "Columns left out because they repeat others by construction: " + "; ".join(equivalences) + "."]
    reasons = _reasons(summary)
    if reasons:
        lines += ["", "Not applicable (not counted in n): " + "; ".join(reasons) + "."]
    if summary.failures:
        lines += ["", "Unreadable inputs: " + "; ".join(summary.failures) + "."]
    return "\n".join(lines) + "\n"


def _curve_png(summary: AuditSummary, name: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for method, label in summary.method_labels.items():
        if (method, name) not in summary.curves:
            continue
        x, y, n = summary.curves[(method, name)]
        axes.plot(x, y, marker="." if len(x) < 30 else None,
                  label=f"{label} (area {float(np.trapezoid(y, x)):.3f}, {n} inputs)")
    randomisation = name == "randomisation"
    axes.set_xlabel("fraction of layers randomised (output first)" if randomisation else
                    "fraction of the input changed")
    axes.set_ylabel("Spearman similarity to the original map" if randomisation else "mean P(explained class)")
    params = summary.settings["metrics"].get(name, {})
    stated = f" — replacement: {params['replacement']}, unit: {params['unit']}" if "replacement" in params else ""
    metric = summary.metrics.get(name)
    axes.set_title(f"{metric.label if metric else name}{stated}", fontsize=9)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def curve_pngs(summary: AuditSummary) -> dict[str, bytes]:
    """Curve name -> PNG of each method's mean curve."""
    return {name: _curve_png(summary, name) for name in dict.fromkeys(name for _, name in summary.curves)}


def worst_cases(model: Model, source: AuditSource, summary: AuditSummary) -> dict[str, list[WorstCase]]:
    """Each method's worst inputs (highest deletion area), explained again and drawn over the model input.

    Costs one explanation per case (:data:`~xaiscope.evaluation.aggregate.WORST_CASES` per method), with the
    audit's seed and parameters, so the maps are those that were scored.
    """
    from xaiscope.explainers.api import explain
    from xaiscope.inputs import load_input
    from xaiscope.views.overlay import overlay, png_bytes

    by_index = {item.index: item for item in source.inputs}
    settings = summary.settings
    found: dict[str, list[WorstCase]] = {}
    for method, items in summary.worst.items():
        for value, index, key in items:
            item = by_index[index]
            sample = load_input(item.path, name=item.key)
            window = (model.predict(sample).decisive_window or 0) if sample.modality == "audio" else 0
            explanation = explain(model, sample, method, settings["target"], window=window, seed=settings["seed"],
                                  **settings["methods"][method])
            if explanation.plane is not None:  # a recording: the map on the time-frequency plane
                from xaiscope.views.audio import AudioView

                view = AudioView.build(explanation)
                found.setdefault(method, []).append((key, value, view.figure_png(title=f"{method}: {key}")))
                continue
            if explanation.space != "input" or explanation.attribution.ndim != 2 or explanation.picture.ndim != 3:
                continue  # a map over samples or features of unknown layout has no picture to lay it on
            image = overlay(explanation.picture, np.asarray(explanation.attribution), opacity=0.6)
            found.setdefault(method, []).append((key, value, png_bytes(image)))
    return found


def _image(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _html_table(header: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def html_report(summary: AuditSummary, worst: dict[str, list[WorstCase]] | None = None) -> str:
    """The audit as one self-contained HTML page (no external resources)."""
    title = f"xaiscope audit: {summary.model}"
    parts = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(_header_line(summary))}</p>",
             "<h2>Verdict</h2>", f"<p class='summary'>{html.escape(summary.paragraph)}</p>",
             "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in summary.verdicts.values()) + "</ul>",
             "<h2>Scores</h2>", _html_table(*_table(summary)),
             "<h2>Against the random control</h2>",
             "<p>Paired over the inputs where both scores are defined: Wilcoxon signed-rank test (two-sided), "
             "Holm-adjusted over every test; effect r = matched-pairs rank-biserial correlation, &gt; 0 when the "
             "method is better.</p>", _html_table(*_comparison_rows(summary))]
    equivalences = summary.equivalences()
    if equivalences:
        parts += ["<h2>Columns left out</h2>",
                  "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in equivalences) + "</ul>"]
    reasons = _reasons(summary)
    if reasons:
        parts += ["<h2>Not applicable</h2>", "<p>Scores that are undefined for an input are left out of n and "
                  "listed here with the reason.</p>",
                  "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in reasons) + "</ul>"]
    pngs = curve_pngs(summary)
    if pngs:
        parts.append("<h2>Mean curves</h2>")
        parts += [_image(png, name) for name, png in pngs.items()]
    if worst:
        parts.append("<h2>Worst inputs per method (highest deletion area)</h2>")
        for method, cases in worst.items():
            figures = "".join(f"<figure>{_image(png, key)}<figcaption>{html.escape(key)}<br>deletion "
                              f"{value:.3f}</figcaption></figure>" for key, value, png in cases)
            parts.append(f"<h3>{html.escape(summary.method_labels.get(method, method))}</h3>"
                         f"<div class='cases'>{figures}</div>")
    parts += ["<h2>Settings</h2>", f"<pre>{html.escape(json.dumps(_clean(summary.settings), indent=2))}</pre>"]
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;"
             "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
             ".cases{display:flex;gap:1em;flex-wrap:wrap}figure{margin:0}figure img{width:224px}"
             "pre{font-size:11px;background:#f6f6f6;padding:1em;overflow:auto}.summary{font-size:15px}")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write_audit_report(summary: AuditSummary, store: AuditStore, folder: Path,
                       worst: dict[str, list[WorstCase]] | None = None) -> list[Path]:
    """Every file listed in this module's docstring, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = write_csv(summary, store, folder)
    (folder / "audit.json").write_text(json.dumps(audit_record(summary), indent=2, ensure_ascii=False))
    (folder / "audit.md").write_text(markdown(summary))
    written += [folder / "audit.json", folder / "audit.md"]
    for name, png in curve_pngs(summary).items():
        path = folder / f"curves_{name}.png"
        path.write_bytes(png)
        written.append(path)
    (folder / "audit.html").write_text(html_report(summary, worst), encoding="utf-8")
    written.append(folder / "audit.html")
    return written
