"""Merge an audit's per-input records into tables, curves, not-applicable counts, worst cases and the verdict.

:func:`merge_audit` reads the records once, in input order, keeping only running sums (curves, seconds, model
calls), counts (not applicable, skipped, failed inputs) and one float per input and score column (the paired tests
need them). It never holds a sample, a map or a curve per input.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xaiscope.evaluation.audit import AuditStore
from xaiscope.evaluation.base import Metric
from xaiscope.evaluation.registry import get_metric
from xaiscope.evaluation.results import SummaryRow, bootstrap_ci
from xaiscope.evaluation.verdict import Comparison, compare_with_control, method_verdicts, plain_summary
from xaiscope.explainers.registry import get_method

#: Worst inputs kept per method (by its deletion area, the highest = the least faithful), for the HTML report.
WORST_CASES = 3


@dataclass(frozen=True)
class AuditRow(SummaryRow):
    """One method on one score column over the audit's inputs: a :class:`SummaryRow` with two more columns.

    Attributes:
        n: inputs with a defined score; ``not_applicable``: inputs where the score is undefined (the reasons are in
            :attr:`AuditSummary.reasons`), skipped (no ground truth) included.
        mean, ci_low, ci_high: mean of the defined scores and its bootstrap 95% interval; ``median``.
        seconds, model_calls: mean per input of this metric's own work.
    """

    not_applicable: int
    median: float


@dataclass
class AuditSummary:
    """An audit, merged.

    Attributes:
        settings: the audit's settings (model, methods, metrics, seed, data).
        inputs: inputs listed; ``failed``: inputs that could not be loaded (with their reasons in ``failures``).
        columns: ``(method, metric, output)`` -> ``(inputs,)`` scores in input order (NaN = undefined / failed).
        reasons: ``(method, metric)`` -> Counter of not-applicable (and skipped) reasons.
        rows: the table; ``comparisons``: each method against the control; ``verdicts``: one line per method;
            ``paragraph``: the plain-language summary.
        curves: ``(method, curve)`` -> ``(x, mean y, count)``.
        explanation_seconds, explanation_calls: per method, mean per input.
        worst: method -> ``[(deletion area, input index, input key)]``, worst first.
        model_calls, seconds: totals over the records (work of every process).
        labels: class label -> count, and ``correct``: inputs whose explained class equals their label.
    """

    settings: dict[str, Any]
    inputs: int
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    columns: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)
    reasons: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    rows: list[AuditRow] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)
    paragraph: str = ""
    curves: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, int]] = field(default_factory=dict)
    explanation_seconds: dict[str, float] = field(default_factory=dict)
    explanation_calls: dict[str, float] = field(default_factory=dict)
    worst: dict[str, list[tuple[float, int, str]]] = field(default_factory=dict)
    model_calls: int = 0
    seconds: float = 0.0
    labels: Counter[str] = field(default_factory=Counter)
    correct: int = 0

    @property
    def model(self) -> str:
        return str(self.settings["model"]["name"])

    @property
    def modality(self) -> str:
        return str(self.settings["model"]["card"].get("modality", ""))

    @property
    def method_labels(self) -> dict[str, str]:
        return {name: get_method(name).label for name in self.settings["methods"]}

    @property
    def metrics(self) -> dict[str, Metric]:
        return {name: get_metric(name) for name in self.settings["metrics"]}

    def not_applicable_by_metric(self) -> dict[str, int]:
        """Metric -> number of (input, method) scores not applicable (skipped for want of ground truth excluded)."""
        counts: Counter[str] = Counter()
        for (_, metric), reasons in self.reasons.items():
            counts[metric] += sum(count for reason, count in reasons.items() if not reason.startswith("needs "))
        return dict(counts)

    def equivalences(self) -> list[str]:
        """The stated equivalences between metrics (why some columns are not shown by default)."""
        lines = []
        for name in dict.fromkeys([*self.settings["metrics"], "deletion_lerf", "insertion_lerf"]):
            metric = get_metric(name)
            if metric.same_as:
                lines.append(f"{metric.name} repeats {metric.same_as} (same replacement, unit and steps): "
                             f"{metric.same_as_why}")
        return lines


def _index_slot(array_of: dict[tuple[str, str, str], np.ndarray], key: tuple[str, str, str], size: int,
                ) -> np.ndarray:
    if key not in array_of:
        array_of[key] = np.full(size, np.nan)
    return array_of[key]


def merge_audit(store: AuditStore, *, bootstrap_seed: int | None = None) -> AuditSummary:
    """Read every record of the audit in ``store`` (in input order) and build its :class:`AuditSummary`.

    Raises:
        EvaluationError: the folder holds no audit, or some inputs have no record yet.
    """
    from xaiscope.errors import EvaluationError

    settings = store.settings()
    if settings is None:
        raise EvaluationError(f"{store.folder} holds no audit (no settings.json).", "Run xaiscope evaluate first.")
    count = int(settings["inputs"]["count"])
    summary = AuditSummary(settings=settings, inputs=count)
    metric_seconds: dict[tuple[str, str, str], list[float]] = {}
    curve_sums: dict[tuple[str, str], list[Any]] = {}
    explanation: dict[str, list[float]] = {}
    worst: dict[str, list[tuple[float, int, str]]] = {}
    for record in store.iter_records(count):
        index = int(record["index"])
        if record.get("error"):
            summary.failed += 1
            if len(summary.failures) < 20:
                summary.failures.append(f"{record['input']}: {record['error']}")
            continue
        summary.model_calls += int(record["model_calls"])
        summary.seconds += float(record["seconds"])
        if record.get("label") is not None:
            summary.labels[str(record["label"])] += 1
            targets = {entry["target"] for entry in record["explanations"]}
            summary.correct += int(targets == {record["label"]})
        for method, metric, output, value, seconds, calls in record["scores"]:
            key = (method, metric, output)
            _index_slot(summary.columns, key, count)[index] = np.nan if value is None else float(value)
            sums = metric_seconds.setdefault(key, [0.0, 0.0, 0])
            sums[0] += float(seconds)
            sums[1] += float(calls)
            sums[2] += 1
        for method, metric, reason in [*record["not_applicable"], *record["skipped"]]:
            summary.reasons.setdefault((method, metric), Counter())[reason] += 1
        for method, metric, _ in record["skipped"]:
            for output in get_metric(metric).outputs:
                _index_slot(summary.columns, (method, metric, output), count)
        for method, name, x, y in record["curves"]:
            entry = curve_sums.setdefault((method, name), [np.asarray(x, np.float64), np.zeros(len(y)), 0])
            entry[1] += np.interp(entry[0], np.asarray(x, np.float64), np.asarray(y, np.float64))
            entry[2] += 1
        for item in record["explanations"]:
            sums = explanation.setdefault(item["method"], [0.0, 0.0, 0])
            sums[0] += float(item["seconds"])
            sums[1] += float(item["model_calls"])
            sums[2] += 1
        for method, metric, output, value, _, _ in record["scores"]:
            if metric == "deletion" and output == "auc" and value is not None and np.isfinite(value):
                heap = worst.setdefault(method, [])
                item = (float(value), index, str(record["input"]))
                if len(heap) < WORST_CASES:
                    heapq.heappush(heap, item)
                else:
                    heapq.heappushpop(heap, item)
    summary.curves = {key: (x, total / max(n, 1), n) for key, (x, total, n) in curve_sums.items()}
    summary.explanation_seconds = {m: s / max(n, 1) for m, (s, _, n) in explanation.items()}
    summary.explanation_calls = {m: c / max(n, 1) for m, (_, c, n) in explanation.items()}
    summary.worst = {method: sorted(heap, reverse=True) for method, heap in worst.items()}
    seed = int(settings.get("seed", 0)) if bootstrap_seed is None else bootstrap_seed
    metrics = summary.metrics
    for method in settings["methods"]:
        for name, metric in metrics.items():
            for output in metric.outputs:
                key = (method, name, output)
                if key not in summary.columns:
                    continue
                values = summary.columns[key]
                defined = values[np.isfinite(values)]
                low, high = bootstrap_ci(defined, seed)
                sums = metric_seconds.get(key, [0.0, 0.0, 0])
                summary.rows.append(AuditRow(
                    method=method, metric=name, output=output, label=metric.label, category=metric.category,
                    direction=metric.direction, n=len(defined), not_applicable=count - summary.failed - len(defined),
                    mean=float(defined.mean()) if len(defined) else float("nan"),
                    median=float(np.median(defined)) if len(defined) else float("nan"), ci_low=low, ci_high=high,
                    seconds=sums[0] / max(sums[2], 1), model_calls=sums[1] / max(sums[2], 1)))
    directions = {name: metric.direction for name, metric in metrics.items()}
    summary.comparisons = compare_with_control(summary.columns, list(settings["methods"]), directions)
    summary.verdicts = method_verdicts(summary.comparisons, summary.method_labels)
    summary.paragraph = plain_summary(summary.comparisons, summary.method_labels, summary.model,
                                      count - summary.failed, summary.not_applicable_by_metric())
    return summary
