"""Calibration: temperature scaling (Guo et al. 2017), expected calibration error and reliability diagrams.

The temperature ``T`` acts on a verdict's class probabilities ``p`` as ``softmax(log(p) / T)``. For a single
logit ``z`` this is ``sigmoid(z / T)``, for class logits ``softmax(z / T)``: exactly temperature scaling of the
logits, because ``log softmax(z) = z - logsumexp(z)`` and the constant cancels. Applied to the *combined* verdict
(after the card's window aggregation), so what is fitted is what ``predict`` prints. Dividing log-probabilities
by ``T > 0`` keeps their order: calibration never changes which class is predicted, only how sure the verdict
says it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Bins of the expected calibration error and the reliability diagram (equal width on the confidence).
ECE_BINS = 15
#: Smallest probability used in logarithms (float32 softmax resolves tail probabilities far below this).
_TINY = 1e-30


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``(N, C)`` probabilities -> ``(N, C)`` probabilities at ``temperature`` (rows sum to 1)."""
    logs = np.log(np.clip(np.asarray(probabilities, np.float64), _TINY, 1.0)) / float(temperature)
    logs -= logs.max(axis=1, keepdims=True)
    scaled = np.exp(logs)
    return scaled / scaled.sum(axis=1, keepdims=True)


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean ``-log p(true class)`` of ``(N, C)`` probabilities and ``(N,)`` integer labels."""
    chosen = np.asarray(probabilities)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.log(np.clip(chosen, _TINY, 1.0)).mean())


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the NLL of ``(N, C)`` probabilities against ``(N,)`` labels.

    Searched on ``log T`` in [log 0.05, log 100] (bounded Brent). ``T > 1`` softens an over-confident model.

    Raises:
        ValueError: fewer than two samples.
    """
    from scipy.optimize import minimize_scalar

    if len(labels) < 2:
        raise ValueError("temperature scaling needs at least two labelled samples")
    result = minimize_scalar(lambda log_t: negative_log_likelihood(apply_temperature(probabilities, np.exp(log_t)),
                                                                   labels),
                             bounds=(np.log(0.05), np.log(100.0)), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


@dataclass(frozen=True)
class Reliability:
    """Per-bin confidence and accuracy of ``(N, C)`` probabilities (bins of equal width on the confidence).

    Attributes:
        ece: expected calibration error: sum over bins of ``count / N * |accuracy - confidence|``.
        edges: ``(bins + 1,)`` bin edges in [0, 1] (the confidence of a C-class verdict is at least 1/C).
        counts, confidence, accuracy: ``(bins,)`` each; empty bins have count 0 and NaN means.
    """

    ece: float
    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> Reliability:
    """Expected calibration error and its per-bin table (Guo et al. 2017, equal-width bins of max probability)."""
    probabilities = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, weights=confidence, minlength=bins) / counts
        mean_accuracy = np.bincount(index, weights=correct.astype(np.float64), minlength=bins) / counts
    gaps = np.where(counts > 0, np.abs(mean_accuracy - mean_confidence), 0.0)
    ece = float((counts / max(len(labels), 1) * gaps).sum())
    return Reliability(ece, edges, counts, mean_confidence, mean_accuracy)


def reliability_diagram(before: Reliability, after: Reliability | None, path: Path, title: str,
                        temperature: float | None = None) -> Path:
    """Draw the reliability diagram(s) side by side (before and after calibration) and save a PNG.

    Each panel: accuracy per confidence bin (bars), the diagonal of perfect calibration, and the ECE.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [("uncalibrated", before)] + ([(f"temperature {temperature:.3g}", after)] if after is not None else [])
    figure = Figure(figsize=(4.2 * len(panels), 4.4), dpi=100)
    FigureCanvasAgg(figure)
    for position, (name, table) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), position)
        centres = (table.edges[:-1] + table.edges[1:]) / 2
        width = table.edges[1] - table.edges[0]
        filled = table.counts > 0
        axes.bar(centres[filled], table.accuracy[filled], width=width * 0.9, color="#4c72b0", label="accuracy")
        low = np.minimum(table.confidence, table.accuracy)[filled]
        axes.bar(centres[filled], np.abs(table.confidence - table.accuracy)[filled], bottom=low,
                 width=width * 0.9, color="#dd8452", alpha=0.5, label="gap to confidence")
        axes.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=1)
        for centre, count in zip(centres[filled], table.counts[filled], strict=True):
            axes.text(centre, 0.02, str(int(count)), ha="center", fontsize=6, rotation=90, color="white")
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.set_xlabel("confidence (probability of the predicted class)")
        axes.set_ylabel("accuracy")
        axes.set_title(f"{name}: ECE {table.ece:.3f}", fontsize=9)
        axes.legend(loc="upper left", fontsize=7)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def calibration_report(probabilities: np.ndarray, labels: np.ndarray, card: object, directory: Path,
                       split: str) -> dict[str, Any]:
    """ECE and NLL of a split's verdicts before and after the card's temperature, and the reliability diagram.

    Args:
        probabilities: ``(N, C)`` uncalibrated verdict probabilities (windows already combined).
        labels: ``(N,)`` class indices.
        card: the model card (its ``calibration`` may be None: then only "before" is reported).
        directory: where ``<name>.<split>.reliability.png`` is written.

    Returns:
        ``{"temperature", "ece": {"before", "after"}, "nll": {...}, "bins", "diagram"}``.
    """
    calibration = getattr(card, "calibration", None) or {}
    temperature = calibration.get("temperature")
    before = reliability(probabilities, labels)
    report: dict[str, Any] = {"temperature": temperature, "bins": len(before.counts),
                                 "ece": {"before": round(before.ece, 4)},
                                 "nll": {"before": round(negative_log_likelihood(probabilities, labels), 4)}}
    after = None
    if temperature:
        calibrated = apply_temperature(probabilities, float(temperature))
        after = reliability(calibrated, labels)
        report["ece"]["after"] = round(after.ece, 4)
        report["nll"]["after"] = round(negative_log_likelihood(calibrated, labels), 4)
    name = getattr(card, "name", "model")
    path = reliability_diagram(before, after, directory / f"{name}.{split}.reliability.png",
                               f"{name} on {split} ({len(labels)} files)", float(temperature) if temperature else None)
    report["diagram"] = str(path)
    return report
