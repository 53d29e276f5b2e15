"""One self-contained HTML report of an input: verdict, timeline, every explanation with its summary."""

from __future__ import annotations

import base64
import html
import json
from typing import Any


def _image_tag(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _warnings_block(prediction: Any) -> str:
    """Every warning of the verdict in a visible box (empty string when there is none)."""
    warnings = getattr(prediction, "warnings", None) or []
    if not warnings:
        return ""
    items = "".join(f"<li>{html.escape(warning)}</li>" for warning in warnings)
    return f"<div class='warning'><b>Warning: read before trusting this verdict.</b><ul>{items}</ul></div>"


def _trust_facts(prediction: Any) -> str:
    """Calibration, familiarity and the input checks, one line each."""
    from xaiscope.views.trust import calibration_line, check_lines, familiarity_line

    lines = [calibration_line(prediction), familiarity_line(prediction), *check_lines(prediction)]
    return "<ul class='trust'>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


def html_report(prediction: Any, card: Any, explanations: list[tuple[Any, dict[str, bytes]]],
                agreement: dict[tuple[str, str], float] | None = None) -> str:
    """Build the report.

    Args:
        prediction: the :class:`~xaiscope.models.Prediction` of the input.
        card: the model's card.
        explanations: each explanation with its files from :func:`xaiscope.views.export.explanation_files`.
        agreement: Spearman rank correlation of each pair of methods' maps.

    Returns:
        An HTML document with every image embedded (no external resources).
    """
    name = html.escape(str(prediction.input.get("name", "input")))
    rows = "".join(f"<tr><td>{html.escape(label)}</td><td>{value:.4f}</td></tr>"
                   for label, value in prediction.probabilities.items())
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>xaiscope report: {name}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "img{max-width:100%;border:1px solid #ccc}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px}.note{background:#fff3cd;padding:.6em}"
        ".warning{background:#f8d7da;border:2px solid #b02a37;padding:.6em;margin:1em 0}</style></head><body>",
        f"<h1>xaiscope report: {name}</h1>",
        f"<p class='note'>{html.escape(card.intended_use)}</p>",
        _warnings_block(prediction),
        f"<h2>Verdict: {html.escape(prediction.label)} (P={prediction.confidence:.3f})</h2>",
        f"<p>Model <b>{html.escape(card.name)}</b> ({html.escape(card.architecture)}), classes in output order "
        f"{html.escape(', '.join(card.classes))}; combined by {html.escape(prediction.combined_by)}.</p>",
        f"<table><tr><th>class</th><th>probability</th></tr>{rows}</table>",
        _trust_facts(prediction),
    ]
    if len(prediction.windows) > 1:
        header = "".join(f"<th>P({html.escape(c)})</th>" for c in card.classes)
        body = "".join(
            f"<tr><td>{w.index}</td><td>{w.start_s:.2f}</td><td>{w.end_s:.2f}</td>"
            + "".join(f"<td>{w.probabilities[c]:.4f}</td>" for c in card.classes) + "</tr>" for w in prediction.windows)
        parts.append(f"<h3>Per-window timeline</h3><table><tr><th>#</th><th>start s</th><th>end s</th>{header}</tr>"
                     f"{body}</table>")
    for explanation, files in explanations:
        record = json.loads(files["record.json"])
        parts.append(f"<h2>{html.escape(explanation.label)}</h2>")
        parts.append(_warnings_block(prediction))
        parts.append(f"<p>{html.escape(record['summary'])}</p>")
        parts.append(f"<p>{explanation.seconds:.2f} s, {explanation.model_calls} model calls; parameters "
                     f"<code>{html.escape(json.dumps(explanation.params))}</code>, seed {explanation.seed}.</p>")
        for key in ("overlay.png", "timefreq.png", "lime.png", "shap.png"):
            if key in files:
                parts.append(_image_tag(files[key], f"{explanation.label} {key}"))
    if agreement:
        parts.append("<h2>Agreement between methods (Spearman rank correlation of the maps)</h2><table>")
        parts.extend(f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td>"
                     f"<td>{'undefined (flat map)' if value != value else f'{value:.2f}'}</td></tr>"
                     for (a, b), value in agreement.items())
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
