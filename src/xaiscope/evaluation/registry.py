"""The one registry of metrics, and name look-up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xaiscope.evaluation.base import Metric
from xaiscope.evaluation.complexity import COMPLEXITY_METRICS
from xaiscope.evaluation.faithfulness import FAITHFULNESS_METRICS
from xaiscope.evaluation.localisation import LOCALISATION_METRICS
from xaiscope.evaluation.randomisation import RANDOMISATION_METRICS
from xaiscope.evaluation.robustness import ROBUSTNESS_METRICS
from xaiscope.evaluation.shortcut import SHORTCUT_METRICS
from xaiscope.plugins import Choice, Registry

if TYPE_CHECKING:
    from xaiscope.models.model import Model

#: Every metric by name, in the order tables show them.
METRICS: Registry[Metric] = Registry(
    "metric", [cls() for cls in (*FAITHFULNESS_METRICS, *RANDOMISATION_METRICS, *LOCALISATION_METRICS,
                                 *ROBUSTNESS_METRICS, *COMPLEXITY_METRICS, *SHORTCUT_METRICS)],
    listing="xaiscope metrics")

#: A metric and whether it can score a model's inputs, with the reason when it cannot.
MetricChoice = Choice[Metric]


def get_metric(name: str) -> Metric:
    """The registered metric called ``name`` (case-insensitive; ``-`` and ``_`` alike).

    Raises:
        EvaluationError: unknown name; the message lists the metrics.
    """
    return METRICS.get(name)


def default_metrics(modality: str | None = None, model: Model | None = None) -> list[str]:
    """Names of the metrics a default evaluation runs: every one available for ``modality`` and ``model``, less those
    that repeat another by construction (:attr:`Metric.same_as`)."""
    return [choice.plugin.name for choice in metrics(modality, model)
            if choice.available and not choice.plugin.same_as]


def metrics(modality: str | None = None, model: Model | None = None) -> list[MetricChoice]:
    """Every metric, marked available or not for ``modality`` and ``model`` (either may be None)."""
    return METRICS.choices(model, modality)
