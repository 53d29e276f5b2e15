"""Complexity: how concentrated a map is (Chalasani et al. 2020's sparseness, the Gini index of |attribution|)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaiscope.evaluation.base import Case, Metric, MetricValue


def gini(attribution: np.ndarray) -> float:
    """Gini index of ``|attribution|`` flattened: 0 = all pixels equal, towards 1 = one pixel holds everything."""
    values = np.sort(np.abs(np.asarray(attribution, np.float64)).ravel())
    count = len(values)
    total = values.sum()
    if total <= 0:
        return float("nan")
    ranks = np.arange(1, count + 1)
    return float(((2 * ranks - count - 1) * values).sum() / (count * total))


class SparsenessMetric(Metric):
    name = "sparseness"
    label = "Sparseness (Gini)"
    summary = ("Gini index of |attribution|: high = a few concentrated regions, easy to read; a property of the map, "
               "not proof of faithfulness.")
    category = "complexity"
    input_kinds = ("picture", "xray-gray", "waveform", "features")
    spaces = ("input", "plane")
    direction = "higher"
    quantus = "Sparseness"
    reference = "Chalasani et al. 2020, Concise explanations of neural networks using adversarial training"

    def compute(self, case: Case, params: dict[str, Any]) -> MetricValue:
        return MetricValue({"score": gini(case.attribution)})


COMPLEXITY_METRICS: tuple[type[Metric], ...] = (SparsenessMetric,)
