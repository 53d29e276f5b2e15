"""Localisation against known ground truth: pointing game, relevance mass accuracy, relevance rank accuracy.

Ground truth is turned into a bool *region* by :mod:`xaiscope.evaluation.ground_truth`: for an X-ray in model-input
space (a lesion mask stretched to the square like the X-ray); for a recording on the time-frequency plane (every band
of the frames whose centre lies inside the fake interval), where every audio map lies, whatever the model's input
kind and whether the method computed it there or it was carried there (:mod:`xaiscope.plane`).
Every score uses the positive part of the map (the evidence *for* the explained class). Chance level, the score of
a map that knows nothing, is the region's share of the picture for all three; the tables report it beside them.

Not applicable (with the reason, never a number): an input without ground truth (the metric is skipped for it and
counted), a ground-truth region that falls outside the explained window or is empty, and a map with no positive
attribution (nothing points anywhere).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaiscope.evaluation.base import Case, Metric, MetricValue, positive_part


def pointing_game(attribution: np.ndarray, region: np.ndarray) -> float:
    """1.0 when a pixel of highest attribution lies in ``region`` (Zhang et al. 2018), else 0.0; NaN if empty."""
    if not region.any():
        return float("nan")
    values = np.asarray(attribution, np.float64)
    return float(np.any(region & (values == values.max())))


def relevance_mass(attribution: np.ndarray, region: np.ndarray) -> float:
    """Share of the positive attribution that falls inside ``region`` (Arras et al. 2022); NaN if undefined."""
    positive = positive_part(attribution)
    total = positive.sum()
    if not region.any() or total <= 0:
        return float("nan")
    return float(positive[region].sum() / total)


def relevance_rank(attribution: np.ndarray, region: np.ndarray) -> float:
    """Share of the ``K`` highest-attribution pixels inside ``region``, ``K`` = the region's size (Arras et al. 2022).

    Ties are broken by pixel index (a stable sort), as Quantus' ``RelevanceRankAccuracy`` does for distinct values.
    """
    size = int(region.sum())
    if size == 0:
        return float("nan")
    order = np.argsort(-np.asarray(attribution, np.float64).ravel(), kind="stable")[:size]
    return float(region.ravel()[order].mean())


#: Why localisation says nothing for an input whose ground-truth region is empty in the explained window.
EMPTY_REGION = "the ground-truth region is empty in the explained input (no lesion / no fake stretch in this window)"
#: Why localisation says nothing for a map with no positive attribution.
NO_POSITIVE = "the map has no positive attribution: it points nowhere"


#: Why localisation says nothing for a recording whose map has no time-frequency layout.
NO_PLANE = ("the map is over the model's own features, whose time-frequency layout is not known, so the fake interval "
            "cannot be placed on it (the tile methods map any audio model on the plane)")


class _LocalisationMetric(Metric):
    category = "localisation"
    direction = "higher"
    needs_ground_truth = True
    reference = "Arras et al. 2022, CLEVR-XAI"
    input_kinds = ("picture", "xray-gray", "waveform", "features")
    spaces = ("input", "plane")

    def score(self, attribution: np.ndarray, region: np.ndarray) -> float:
        raise NotImplementedError

    def compute(self, case: Case, params: dict[str, Any]) -> MetricValue:
        if case.region is None:
            return MetricValue.undefined(self.outputs, NO_PLANE)
        region = np.asarray(case.region, dtype=bool)
        if not region.any():
            return MetricValue.undefined(self.outputs, EMPTY_REGION)
        positive = case.plane.positive() if case.plane is not None else positive_part(case.attribution)
        if not positive.any():
            return MetricValue.undefined(self.outputs, NO_POSITIVE)
        value = self.score(positive, region)
        return MetricValue({"score": value}, details={"chance": float(region.mean())})


class PointingGameMetric(_LocalisationMetric):
    name = "pointing_game"
    label = "Pointing game"
    summary = "1 when the map's strongest point lies in the lesion / fake interval, 0 otherwise (hit rate)."
    quantus = "PointingGame"
    reference = "Zhang et al. 2018, Top-down neural attention by excitation backprop"

    def score(self, attribution: np.ndarray, region: np.ndarray) -> float:
        return pointing_game(attribution, region)


class RelevanceMassMetric(_LocalisationMetric):
    name = "relevance_mass"
    label = "Relevance mass accuracy"
    summary = "Share of the positive attribution inside the lesion / fake interval (chance = its area share)."
    quantus = "RelevanceMassAccuracy"

    def score(self, attribution: np.ndarray, region: np.ndarray) -> float:
        return relevance_mass(attribution, region)


class RelevanceRankMetric(_LocalisationMetric):
    name = "relevance_rank"
    label = "Relevance rank accuracy"
    summary = "Share of the K most relevant pixels inside the region of K pixels (chance = its area share)."
    quantus = "RelevanceRankAccuracy"

    def score(self, attribution: np.ndarray, region: np.ndarray) -> float:
        return relevance_rank(attribution, region)


LOCALISATION_METRICS: tuple[type[Metric], ...] = (PointingGameMetric, RelevanceMassMetric, RelevanceRankMetric)
