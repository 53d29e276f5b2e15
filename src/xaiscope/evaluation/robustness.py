"""Robustness: max-sensitivity (Yeh et al. 2019), computed by Quantus' ``MaxSensitivity``.

The input is perturbed ``samples`` times with uniform noise of half-width ``noise`` x (the model input's value
range); each perturbed input is explained again with the same method, and the score is the largest
``||map(x + e) - map(x)|| / ||map(x)||`` (Frobenius norms). Lower is better: a small, invisible change should not
redraw the map. Cost: ``samples`` explanations (and the noise is drawn from a seeded generator, so the score is
reproducible).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from xaiscope.evaluation.base import Case, Metric, MetricValue, Param
from xaiscope.explainers.base import Method
from xaiscope.explainers.libraries import seeded_global_numpy

if TYPE_CHECKING:
    from xaiscope.models.model import Model


class MaxSensitivityMetric(Metric):
    name = "max_sensitivity"
    label = "Max-sensitivity"
    summary = "Largest relative change of the map under small input noise; lower = more stable."
    category = "robustness"
    direction = "lower"
    library = "quantus"
    quantus = "MaxSensitivity"
    reference = "Yeh et al. 2019, On the (in)fidelity and sensitivity of explanations"
    params = (
        Param("samples", int, 5, "Noisy copies explained (cost = samples explanations).", 1, 200),
        Param("noise", float, 0.02, "Half-width of the uniform noise, as a fraction of the input's value range.",
              0.0, 1.0),
    )

    def model_calls(self, model: Model, method: Method, method_params: dict[str, Any], params: dict[str, Any]) -> int:
        return params["samples"] * method.model_calls(model, method_params)

    def compute(self, case: Case, params: dict[str, Any]) -> MetricValue:
        import quantus

        if not np.any(case.attribution):
            return MetricValue.undefined(self.outputs, "the map is empty: its relative change is undefined")
        spread = params["noise"] * float(case.inputs.max() - case.inputs.min())

        def explain_func(model: Any, inputs: np.ndarray, targets: np.ndarray, **_kwargs: Any) -> np.ndarray:
            maps = [case.reattribute(inputs=torch.from_numpy(np.asarray(row, np.float32))[None], target=int(t))
                    for row, t in zip(inputs, np.atleast_1d(targets), strict=True)]
            return np.stack(maps)[:, None]  # (N, 1, H, W)

        metric = quantus.MaxSensitivity(nr_samples=params["samples"], lower_bound=max(spread, 1e-12),
                                        disable_warnings=True, display_progressbar=False)
        with seeded_global_numpy(case.seed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = metric(model=case.model.class_view, x_batch=case.inputs.numpy(),
                            y_batch=np.array([case.target]), a_batch=case.attribution[None, None],
                            explain_func=explain_func, channel_first=True, softmax=False, device="cpu")
        return MetricValue({"score": float(np.asarray(scores, np.float64).ravel()[0])},
                           details={"noise_half_width": spread})


ROBUSTNESS_METRICS: tuple[type[Metric], ...] = (MaxSensitivityMetric,)
