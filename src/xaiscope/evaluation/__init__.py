"""Trust: how faithful, sane and well placed each explanation is.

>>> result = evaluate(model, samples, ["gradcam", "lime", "random"], ["deletion", "randomisation"])
>>> result.summary()                  # mean and bootstrap 95% CI per method and metric
>>> write_report(result, "out/")      # scores.csv, summary.csv, evaluation.json, evaluation.md, curves_*.png

Every metric is a :class:`Metric` in :data:`METRICS` (the plug-in framework of :mod:`xaiscope.plugins`, shared with
the explainers), declaring its category, better direction, the data it applies to, its parameters and its cost in
model calls (``xaiscope metrics`` lists them). Quantus is imported only by the metrics that use it, when they run.
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.errors import EvaluationError
    from xaiscope.evaluation.base import Case, Metric, MetricValue
    from xaiscope.evaluation.ground_truth import load_ground_truth, region_for
    from xaiscope.evaluation.registry import METRICS, MetricChoice, get_metric, metrics
    from xaiscope.evaluation.report import write_report
    from xaiscope.evaluation.results import EvaluationResult, SummaryRow, bootstrap_ci
    from xaiscope.evaluation.runner import evaluate

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
