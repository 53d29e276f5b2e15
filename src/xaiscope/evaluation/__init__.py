"""Trust: how faithful, sane and well placed each explanation is.

>>> result = evaluate(model, samples, ["gradcam", "lime", "random"], ["deletion", "randomisation"])
>>> result.summary()                  # mean and bootstrap 95% CI per method and metric
>>> write_report(result, "out/")      # scores.csv, summary.csv, evaluation.json, evaluation.md, curves_*.png

A whole data set, streamed and resumable (one record per input on disk), sharded under torchrun, then merged into
a verdict per method against the random control and an HTML audit report::

>>> source = split_inputs("/data/for-norm", "testing")
>>> store = AuditStore(Path("audit/")); store.open(audit_settings(model, source, methods, metrics, seed=0, target=None))
>>> run_audit(model, source, methods, metrics, store)
>>> summary = merge_audit(store); write_audit_report(summary, store, Path("audit/"))

Every metric is a :class:`Metric` in :data:`METRICS` (the plug-in framework of :mod:`xaiscope.plugins`, shared with
the explainers), declaring its category, better direction, the data it applies to, its parameters and its cost in
model calls (``xaiscope metrics`` lists them). Quantus is imported only by the metrics that use it, when they run.
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.errors import EvaluationError
    from xaiscope.evaluation.aggregate import AuditRow, AuditSummary, merge_audit
    from xaiscope.evaluation.audit import (
        AuditInput,
        AuditRun,
        AuditSource,
        AuditStore,
        audit_settings,
        folder_inputs,
        run_audit,
        split_inputs,
    )
    from xaiscope.evaluation.audit_report import write_audit_report
    from xaiscope.evaluation.base import Case, Metric, MetricValue
    from xaiscope.evaluation.ground_truth import load_ground_truth, region_for
    from xaiscope.evaluation.registry import METRICS, MetricChoice, default_metrics, get_metric, metrics
    from xaiscope.evaluation.report import write_report
    from xaiscope.evaluation.results import EvaluationResult, SummaryRow, bootstrap_ci
    from xaiscope.evaluation.runner import evaluate
    from xaiscope.evaluation.verdict import Comparison, compare_with_control, plain_summary

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
