"""Faithfulness: deletion and insertion curves (Petsiuk et al. 2018; Samek et al. 2017's region perturbation).

The model input is cut into *features*: square pixel blocks (``unit=blocks``) or SLIC superpixels
(``unit=superpixels``), ranked by their mean attribution. *Deletion* replaces features with a reference, most
relevant first (MoRF) or least relevant first (LeRF), and records the explained class's probability; *insertion*
starts from the reference and puts features back. The x axis is the fraction of features changed, in ``steps``
equal steps, so a curve costs ``steps + 1`` model calls (batched) whatever the image size.

The reference (``replacement``) is stated with every score: ``blur`` a Gaussian-blurred copy of the input
(sigma ``blur_sigma`` pixels), ``mean`` the input's own mean colour, ``zero`` a black picture (0 before
normalisation; for a spectrogram, the colour of the quietest cells).

**Equivalences.** With the same replacement, unit and steps, LeRF deletion after changing a fraction x of the
features shows the very picture MoRF insertion shows after 1 - x (the least relevant removed = the most relevant put
back), so ``deletion_lerf`` repeats ``insertion`` and ``insertion_lerf`` repeats ``deletion`` (the curves are
mirror images in x, the areas equal up to ties in the ranking and the rounding of the steps). Default metric lists
keep only the independent ``deletion`` and ``insertion``; the other two are computed when named.

Areas under the curves use the trapezoidal rule on x in [0, 1]. Better: a low MoRF-deletion area (the score falls
fast when the pixels the map calls important go), a high LeRF-deletion area, a high MoRF-insertion area, a low
LeRF-insertion area.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from xaiscope.evaluation.base import Case, Metric, MetricValue, Param
from xaiscope.explainers.base import Method
from xaiscope.maps import grid_labels, slic_labels
from xaiscope.preprocessing.codec import codec_for
from xaiscope.preprocessing.picture import Reference

if TYPE_CHECKING:
    from xaiscope.models.model import Model

#: The ``replacement`` parameter's choices as reference inputs (:func:`~xaiscope.preprocessing.reference_input`).
REPLACEMENTS: dict[str, Reference] = {"blur": "blur", "mean": "input_mean", "zero": "black"}

_PARAMS = (
    Param("steps", int, 20, "Steps along the curve (model calls = steps + 1).", 2, 1000),
    Param("unit", str, "blocks", "Features removed together: square pixel blocks or SLIC superpixels.",
          choices=("blocks", "superpixels")),
    Param("block", int, 16, "blocks: side of a block in model-input pixels.", 1, 224),
    Param("segments", int, 100, "superpixels: approximate number of SLIC superpixels.", 4, 2000),
    Param("replacement", str, "blur", "What a removed feature shows.", choices=("blur", "mean", "zero")),
    Param("blur_sigma", float, 10.0, "blur: Gaussian sigma in model-input pixels.", 0.5, 100.0),
    Param("batch_size", int, 32, "Perturbed inputs per forward pass.", 1, 512),
)


def feature_map(picture: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Feature labels of a ``(H, W, 3)`` picture in [0, 1]: ``(H, W)`` int64, numbered from 0 without gaps."""
    if params["unit"] == "superpixels":
        return slic_labels(picture, params["segments"])
    return grid_labels(picture.shape[0], picture.shape[1], params["block"])


def feature_order(attribution: np.ndarray, labels: np.ndarray, most_relevant_first: bool) -> np.ndarray:
    """Feature ids sorted by mean attribution (ties broken by id, so the order is deterministic)."""
    count = int(labels.max()) + 1
    sums = np.bincount(labels.ravel(), weights=np.asarray(attribution, np.float64).ravel(), minlength=count)
    means = sums / np.maximum(np.bincount(labels.ravel(), minlength=count), 1)
    return np.lexsort((np.arange(count), -means if most_relevant_first else means))


def perturbation_curve(case: Case, params: dict[str, Any], *, insertion: bool, most_relevant_first: bool,
                       ) -> np.ndarray:
    """One deletion or insertion curve of ``case``.

    Returns:
        ``(2, steps + 1)``: fraction of features changed (0..1) and the explained class's probability.
    """
    codec = codec_for(case.model.card.preprocessing)
    inputs = case.inputs
    labels = feature_map(codec.to_picture(inputs), params)
    order = feature_order(case.attribution, labels, most_relevant_first)
    steps = params["steps"]
    counts = np.round(np.linspace(0, len(order), steps + 1)).astype(int)
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    pixel_rank = torch.from_numpy(rank[labels])  # (H, W): when each pixel's feature is changed
    changed = torch.stack([pixel_rank < count for count in counts])[:, None].float()  # (steps + 1, 1, H, W)
    reference = codec.reference(inputs, REPLACEMENTS[params["replacement"]], blur_sigma=params["blur_sigma"])
    start, end = (reference, inputs) if insertion else (inputs, reference)
    batch = start * (1 - changed) + end * changed  # (steps + 1, 3, H, W)
    probability = case.probabilities(batch, params["batch_size"])[:, case.target]
    return np.stack([counts / len(order), probability])


def curve_area(curve: np.ndarray) -> float:
    """Trapezoidal area under a ``(2, n)`` curve."""
    return float(np.trapezoid(curve[1], curve[0]))


class _CurveMetric(Metric):
    category = "faithfulness"
    outputs = ("auc",)
    params = _PARAMS
    insertion: ClassVar[bool]
    most_relevant_first: ClassVar[bool]
    reference = "Petsiuk et al. 2018 (RISE); Samek et al. 2017"

    def model_calls(self, model: Model, method: Method, method_params: dict[str, Any], params: dict[str, Any]) -> int:
        return params["steps"] + 1

    def compute(self, case: Case, params: dict[str, Any]) -> MetricValue:
        curve = perturbation_curve(case, params, insertion=self.insertion,
                                   most_relevant_first=self.most_relevant_first)
        return MetricValue({"auc": curve_area(curve)}, curves={self.name: curve},
                           details={"replacement": params["replacement"], "unit": params["unit"]})


class DeletionMetric(_CurveMetric):
    name = "deletion"
    label = "Deletion AUC (MoRF)"
    summary = "Area under P(class) as the most relevant parts are removed first; a faithful map makes it fall fast."
    direction = "lower"
    insertion = False
    most_relevant_first = True
    quantus = "PixelFlipping"


class DeletionLerfMetric(_CurveMetric):
    name = "deletion_lerf"
    label = "Deletion AUC (LeRF)"
    summary = "Area under P(class) as the least relevant parts are removed first; a faithful map keeps it high."
    direction = "higher"
    insertion = False
    most_relevant_first = False
    same_as = "insertion"
    same_as_why = ("removing the least relevant fraction x leaves the picture that putting back the most relevant "
                   "1 - x gives: the same curve mirrored, the same area")


class InsertionMetric(_CurveMetric):
    name = "insertion"
    label = "Insertion AUC (MoRF)"
    summary = "Area under P(class) as the most relevant parts are put back first into the reference; higher is better."
    direction = "higher"
    insertion = True
    most_relevant_first = True


class InsertionLerfMetric(_CurveMetric):
    name = "insertion_lerf"
    label = "Insertion AUC (LeRF)"
    summary = "Area under P(class) as the least relevant parts are put back first; a faithful map keeps it low."
    direction = "lower"
    insertion = True
    most_relevant_first = False
    same_as = "deletion"
    same_as_why = ("putting back the least relevant fraction x gives the picture that removing the most relevant "
                   "1 - x gives: the same curve mirrored, the same area")


FAITHFULNESS_METRICS: tuple[type[Metric], ...] = (DeletionMetric, DeletionLerfMetric, InsertionMetric,
                                                  InsertionLerfMetric)
