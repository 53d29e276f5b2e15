"""What :func:`~xaiscope.evaluation.evaluate` returns: per-sample scores, curves, means with bootstrap 95% CIs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xaiscope.evaluation.base import Metric


@dataclass(frozen=True)
class ScoreRecord:
    """One score of one explanation: ``value`` of ``metric``'s ``output`` for ``method`` on ``sample``."""

    sample: str
    method: str
    metric: str
    output: str
    value: float
    seconds: float
    model_calls: int


@dataclass(frozen=True)
class CurveRecord:
    """One curve: ``x`` ``(n,)`` fraction of the input changed (or of layers randomised), ``y`` ``(n,)``."""

    sample: str
    method: str
    metric: str
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class SummaryRow:
    """Mean of one method's scores on one metric output over the samples, with its bootstrap 95% interval."""

    method: str
    metric: str
    output: str
    label: str
    category: str
    direction: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    seconds: float
    model_calls: float

    def record(self) -> dict[str, Any]:
        return {key: (None if isinstance(value, float) and not np.isfinite(value) else value)
                for key, value in self.__dict__.items()}


def bootstrap_ci(values: np.ndarray, seed: int = 0, resamples: int = 2000, level: float = 0.95,
                 ) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` ``(n,)`` (NaNs dropped; one value gives a point)."""
    finite = np.asarray(values, np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    if len(finite) == 1:
        return float(finite[0]), float(finite[0])
    rng = np.random.default_rng(seed)
    means = finite[rng.integers(0, len(finite), size=(resamples, len(finite)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class EvaluationResult:
    """Everything an evaluation produced.

    Attributes:
        scores: one :class:`ScoreRecord` per sample, method, metric and output.
        curves: deletion/insertion (and cascade) curves per sample and method.
        explanations: per sample and method: target class, window, seconds and model calls of the explanation.
        details: per-metric extras (chance levels, cascade layers, silence lengths...).
        skipped: metrics that did not apply to a sample, with the reason.
        not_applicable: scores found undefined for one explanation (NaN in ``scores``), with the reason.
        metrics: the metrics used (their metadata labels the tables); ``metric_params`` their parameters;
        method_params, method_labels: the methods' parameters and labels.
    """

    model: str
    modality: str
    seed: int
    expected_model_calls: int
    metrics: dict[str, Metric]
    metric_params: dict[str, dict[str, Any]]
    method_params: dict[str, dict[str, Any]]
    method_labels: dict[str, str]
    scores: list[ScoreRecord] = field(default_factory=list)
    curves: list[CurveRecord] = field(default_factory=list)
    explanations: list[dict[str, Any]] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    not_applicable: list[dict[str, Any]] = field(default_factory=list)
    model_calls: int = 0
    #: Per input name: its verdict (label, confidence), familiarity status and warnings (see ``xaiscope.trust``).
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def values(self, method: str, metric: str, output: str | None = None) -> np.ndarray:
        """``(n_samples,)`` per-sample values of one method on one metric output (the first output by default)."""
        output = output or self.metrics[metric].outputs[0]
        return np.array([s.value for s in self.scores if s.method == method and s.metric == metric
                         and s.output == output], np.float64)

    def mean(self, method: str, metric: str, output: str | None = None) -> float:
        """Mean over samples (NaNs ignored)."""
        values = self.values(method, metric, output)
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")

    def summary(self) -> list[SummaryRow]:
        """One row per method, metric and output, in the order methods and metrics were given."""
        rows = []
        for method in self.method_labels:
            for name, metric in self.metrics.items():
                for output in metric.outputs:
                    records = [s for s in self.scores if s.method == method and s.metric == name and s.output == output]
                    if not records:
                        continue
                    values = np.array([r.value for r in records])
                    finite = values[np.isfinite(values)]
                    low, high = bootstrap_ci(values, self.seed)
                    rows.append(SummaryRow(
                        method=method, metric=name, output=output, label=metric.label, category=metric.category,
                        direction=metric.direction, n=len(finite),
                        mean=float(finite.mean()) if len(finite) else float("nan"), ci_low=low, ci_high=high,
                        seconds=float(np.mean([r.seconds for r in records])),
                        model_calls=float(np.mean([r.model_calls for r in records]))))
        return rows

    def explanation_seconds(self) -> dict[str, float]:
        """Mean seconds per explanation, per method."""
        return {method: float(np.mean([e["seconds"] for e in self.explanations if e["method"] == method]))
                for method in self.method_labels}
