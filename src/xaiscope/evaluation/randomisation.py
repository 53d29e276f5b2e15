"""Sanity checks (Adebayo et al. 2018): does the map change when the model's weights or the explained class do?

*Cascading model-parameter randomisation* re-initialises the layers of a **deep copy** of the network from the
output towards the input (the shared model is never touched; the copy is dropped afterwards) and explains the
same input with each progressively randomised copy. The layers are the modules that define
``reset_parameters`` (the same list, order and re-initialisation as Quantus' ``MPRT``: ``torch.manual_seed(seed
+ 1)`` before each layer, drawn in a forked generator so the caller's random state is untouched). To bound the
cost on deep networks, the map is recomputed at ``steps`` evenly spaced points of the cascade (the last one
with every layer randomised); ``steps=0`` recomputes after every layer.

*Random logit* (Sixt et al. 2020, Quantus ``RandomLogit``) explains another class, drawn with the seed, instead of
the explained one.

When a score cannot say anything it is **not applicable**, with the reason, never a number:

* the original map is constant (nothing is ranked);
* the map of the randomised model, or of the other class, is constant (a rank similarity is undefined: the map did
  change, but no rank score can say by how much);
* ``random_logit`` on a model with one class (there is no other class);
* ``random_logit`` when the other class's map is the exact mirror (negative) of the explained one. On a two-class
  model seen through the two-logit view ``[-z/2, z/2]`` (or any two-class softmax, where ``p_other = 1 - p``), every
  method linear in the explained output (gradients, Integrated Gradients, LIME, SHAP, occlusion) gives the other
  class the negated map *by construction*: the similarity is -1 (signed) or +1 (absolute) whatever the method does,
  so it measures nothing. The mirror is detected on the maps themselves (``max |a + b| <= 1e-4 max |a|``), not
  assumed from the method's family, so Grad-CAM, whose ReLU breaks the symmetry, is still scored. We chose this
  over comparing with a map from a randomly re-initialised head: that is the first step of the cascading
  randomisation above, already reported, and it asks whether the map depends on the weights, not on the class.

Both report the similarity between the original and the new map as Spearman rank correlation and SSIM; for the
cascade, the value after the full cascade. **Lower is better**: a map that survives the randomisation of the
weights it is supposed to explain (Guided Backpropagation is the textbook case) is not explaining the model.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from xaiscope.evaluation.base import Case, Metric, MetricValue, Param
from xaiscope.explainers.base import Method
from xaiscope.maps.similarity import comparable, is_constant, rank_correlation, ssim
from xaiscope.models.model import Model


def randomisable_layers(network: nn.Module) -> list[tuple[str, nn.Module]]:
    """The network's layers in cascade order (output first): named modules with ``reset_parameters``."""
    return [(name, module) for name, module in network.named_modules() if hasattr(module, "reset_parameters")][::-1]


def randomise_layer(module: nn.Module, seed: int) -> None:
    """Re-initialise ``module``'s parameters (and running statistics) with ``seed``, leaving global RNG state alone."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed + 1)
        reset: Any = module.reset_parameters  # every module listed by randomisable_layers has one
        reset()


def checkpoints(layer_count: int, steps: int) -> list[int]:
    """How many layers are randomised at each recomputation: ``steps`` evenly spaced counts ending at all."""
    if steps <= 0 or steps >= layer_count:
        return list(range(1, layer_count + 1))
    return sorted({round(layer_count * (k + 1) / steps) for k in range(steps)})


def model_copy(model: Model) -> Model:
    """An independent :class:`~xaiscope.models.Model` on a deep copy of ``model``'s network (same card).

    Copied under the model's lock, so no other thread's hooks or switched flags are copied along.
    """
    with model.lock:
        return Model(model.card, copy.deepcopy(model.network))


#: Why a sanity check says nothing about a constant (empty) original map: there is no ranking to compare.
CONSTANT_MAP = "the original map is constant (empty): there is no ranking to compare"
#: Why the cascade says nothing when the randomised model's map is flat.
RANDOMISED_CONSTANT = ("the randomised model's map is constant (empty): rank similarity is undefined (the map "
                       "changed, but no rank score can say by how much)")
#: Why random_logit says nothing on a model with a single class.
ONE_CLASS = "the model has one class: there is no other class to explain"
#: Why random_logit says nothing when the other class's map is the explained one negated.
TWO_CLASS_MIRROR = ("two-class mirror: the other class's map is the exact negative of this one (both classes share one "
                    "logit), so the similarity is fixed by construction and measures nothing")
#: Why random_logit says nothing when the other class's map is flat.
OTHER_CONSTANT = "the other class's map is constant (empty): rank similarity is undefined"


def is_mirror(original: np.ndarray, other: np.ndarray, tolerance: float = 1e-4) -> bool:
    """Whether ``other`` is ``-original`` up to ``tolerance`` times the largest magnitude (two ``(H, W)`` maps)."""
    a, b = np.asarray(original, np.float64), np.asarray(other, np.float64)
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)))
    return scale > 0 and float(np.abs(a + b).max()) <= tolerance * scale


class CascadingRandomisationMetric(Metric):
    name = "randomisation"
    label = "Model randomisation (cascading)"
    summary = ("Similarity of the map to the map of the same model with every layer re-initialised, output first; "
               "a map that does not change is not explaining the model.")
    category = "randomisation"
    spaces = ("input", "plane")
    direction = "lower"
    outputs = ("spearman", "ssim")
    quantus = "MPRT"
    reference = "Adebayo et al. 2018, Sanity checks for saliency maps"
    params = (
        Param("steps", int, 5, "Points of the cascade where the map is recomputed (0 = after every layer).", 0, 1000),
        Param("absolute", bool, True, "Compare absolute maps (as the paper's main figures do)."),
    )

    def model_calls(self, model: Model, method: Method, method_params: dict[str, Any], params: dict[str, Any]) -> int:
        layers = len(randomisable_layers(model.network))
        return len(checkpoints(layers, params["steps"])) * method.model_calls(model, method_params)

    def compute(self, case: Case, params: dict[str, Any]) -> MetricValue:
        absolute = params["absolute"]
        original = comparable(case.attribution, absolute)
        if is_constant(original):
            return MetricValue.undefined(self.outputs, CONSTANT_MAP)
        randomised = model_copy(case.model)
        layers = randomisable_layers(randomised.network)
        marks = set(checkpoints(len(layers), params["steps"]))
        cascade: list[dict[str, Any]] = []
        for done, (name, module) in enumerate(layers, start=1):
            randomise_layer(module, case.seed)
            if done not in marks:
                continue
            new = comparable(case.reattribute(model=randomised), absolute)
            if done == len(layers) and is_constant(new):
                return MetricValue.undefined(self.outputs, RANDOMISED_CONSTANT)
            cascade.append({"layer": name, "layers_randomised": done, "spearman": rank_correlation(original, new),
                            "ssim": ssim(original, new)})
        last = cascade[-1]
        curve = np.array([[row["layers_randomised"] / len(layers) for row in cascade],
                          [row["spearman"] for row in cascade]])
        return MetricValue({"spearman": last["spearman"], "ssim": last["ssim"]}, curves={"randomisation": curve},
                           details={"cascade": cascade})


class RandomLogitMetric(Metric):
    name = "random_logit"
    label = "Random logit"
    summary = "Similarity of the map to the map of another class; a class-sensitive map differs (lower is better)."
    category = "randomisation"
    spaces = ("input", "plane")
    direction = "lower"
    outputs = ("spearman", "ssim")
    quantus = "RandomLogit"
    reference = "Sixt et al. 2020; Adebayo et al. 2018"
    params = (Param("absolute", bool, False, "Compare absolute maps (signed by default: a mirrored map differs)."),)

    def model_calls(self, model: Model, method: Method, method_params: dict[str, Any], params: dict[str, Any]) -> int:
        return method.model_calls(model, method_params)

    def compute(self, case: Case, params: dict[str, Any]) -> MetricValue:
        others = [k for k in range(len(case.model.classes)) if k != case.target]
        if not others:
            return MetricValue.undefined(self.outputs, ONE_CLASS)
        other = int(np.random.default_rng(case.seed).choice(others))
        absolute = params["absolute"]
        original = comparable(case.attribution, absolute)
        if is_constant(original):
            return MetricValue.undefined(self.outputs, CONSTANT_MAP)
        raw = case.reattribute(target=other)
        if len(case.model.classes) == 2 and is_mirror(case.attribution, raw):
            return MetricValue.undefined(self.outputs, TWO_CLASS_MIRROR)
        new = comparable(raw, absolute)
        if is_constant(new):
            return MetricValue.undefined(self.outputs, OTHER_CONSTANT)
        return MetricValue({"spearman": rank_correlation(original, new), "ssim": ssim(original, new)},
                           details={"other_class": case.model.classes[other]})


RANDOMISATION_METRICS: tuple[type[Metric], ...] = (CascadingRandomisationMetric, RandomLogitMetric)
