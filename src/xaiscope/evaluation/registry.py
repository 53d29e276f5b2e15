"""One registry of metrics, generated lists for the CLI and the app, and name look-up."""

from __future__ import annotations

from xaiscope.evaluation.base import EvaluationError, Metric
from xaiscope.evaluation.complexity import COMPLEXITY_METRICS
from xaiscope.evaluation.faithfulness import FAITHFULNESS_METRICS
from xaiscope.evaluation.localisation import LOCALISATION_METRICS
from xaiscope.evaluation.randomisation import RANDOMISATION_METRICS
from xaiscope.evaluation.robustness import ROBUSTNESS_METRICS
from xaiscope.evaluation.shortcut import SHORTCUT_METRICS

#: Every metric by name, in the order tables show them.
METRICS: dict[str, Metric] = {cls.name: cls() for cls in (*FAITHFULNESS_METRICS, *RANDOMISATION_METRICS,
                                                          *LOCALISATION_METRICS, *ROBUSTNESS_METRICS,
                                                          *COMPLEXITY_METRICS, *SHORTCUT_METRICS)}


def get_metric(name: str) -> Metric:
    """The registered metric called ``name`` (case-insensitive; ``-`` and ``_`` alike).

    Raises:
        EvaluationError: unknown name; the message lists the metrics.
    """
    key = name.strip().lower().replace("-", "_")
    if key not in METRICS:
        raise EvaluationError(f"There is no metric called '{name}'.",
                              f"Metrics: {', '.join(METRICS)} (`xaiscope metrics` describes them).")
    return METRICS[key]


def list_metrics(modality: str | None = None) -> list[Metric]:
    """The registered metrics, optionally only those applying to ``modality``."""
    return [metric for metric in METRICS.values() if modality is None or modality in metric.modalities]
