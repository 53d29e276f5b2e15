"""Trust: how faithful, sane and well placed each explanation is.

>>> result = evaluate(model, samples, ["gradcam", "lime", "random"], ["deletion", "randomisation"])
>>> result.summary()          # mean and bootstrap 95% CI per method and metric
>>> result.write("out/")      # scores.csv, summary.csv, evaluation.json, evaluation.md, curves_*.png

Every metric is a :class:`Metric` in :data:`METRICS`, declaring its category, better direction, the data it applies to,
its parameters and its cost in model calls (``xaiscope metrics`` lists them).

Importing this package is cheap (``import xaiscope`` exports :func:`evaluate`): the metrics, the explainers and
Quantus are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "METRICS", "Case", "EvaluationError", "EvaluationResult", "Metric", "MetricValue", "SummaryRow", "bootstrap_ci",
    "evaluate", "get_metric", "list_metrics", "load_ground_truth", "region_for",
]

_HOMES = {
    "Case": "base", "EvaluationError": "base", "Metric": "base", "MetricValue": "base",
    "load_ground_truth": "ground_truth", "region_for": "ground_truth",
    "METRICS": "registry", "get_metric": "registry", "list_metrics": "registry",
    "EvaluationResult": "results", "SummaryRow": "results", "bootstrap_ci": "results",
}


def evaluate(model: Any, samples: Any, methods: Any, metrics: Any = None, **options: Any) -> Any:
    """Score explanations of ``model`` on ``samples``; see :func:`xaiscope.evaluation.runner.evaluate`.

    ``evaluate(model, samples, methods, metrics, *, ground_truth=None, seed=0, progress=None, target=None)``
    returns an :class:`~xaiscope.evaluation.results.EvaluationResult`.
    """
    from xaiscope.evaluation.runner import evaluate as run

    return run(model, samples, methods, metrics, **options)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"xaiscope.evaluation.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'xaiscope.evaluation' has no attribute {name!r}")
