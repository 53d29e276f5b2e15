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


class CascadingRandomisationMetric(Metric):
    name = "randomisation"
    label = "Model randomisation (cascading)"
    summary = ("Similarity of the map to the map of the same model with every layer re-initialised, output first; "
               "a map that does not change is not explaining the model.")
    category = "randomisation"
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
    direction = "lower"
    outputs = ("spearman", "ssim")
    quantus = "RandomLogit"
    reference = "Sixt et al. 2020; Adebayo et al. 2018"
    params = (Param("absolute", bool, False, "Compare absolute maps (signed by default: a mirrored map differs)."),)

    def model_calls(self, model: Model, method: Method, method_params: dict[str, Any], params: dict[str, Any]) -> int:
        return method.model_calls(model, method_params)

    def compute(self, case: Case, params: dict[str, Any]) -> MetricValue:
        others = [k for k in range(len(case.model.classes)) if k != case.target]
        other = int(np.random.default_rng(case.seed).choice(others))
        absolute = params["absolute"]
        original = comparable(case.attribution, absolute)
        if is_constant(original):
            return MetricValue.undefined(self.outputs, CONSTANT_MAP)
        new = comparable(case.reattribute(target=other), absolute)
        return MetricValue({"spearman": rank_correlation(original, new), "ssim": ssim(original, new)},
                           details={"other_class": case.model.classes[other]})


RANDOMISATION_METRICS: tuple[type[Metric], ...] = (CascadingRandomisationMetric, RandomLogitMetric)
