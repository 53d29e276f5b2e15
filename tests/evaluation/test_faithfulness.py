"""Deletion and insertion: a good map beats a random one; bounded cost; the same curve as Quantus' PixelFlipping."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from xaiscope.evaluation import evaluate, get_metric
from xaiscope.evaluation.base import Case
from xaiscope.evaluation.faithfulness import perturbation_curve
from xaiscope.explainers import get_method
from xaiscope.models import Model, ModelCard
from xaiscope.preprocessing import XraySpec

CONTROL = get_method("random")
ZERO = {"replacement": "zero", "steps": 10, "block": 28}


def test_a_good_map_deletes_faster_and_inserts_faster_than_a_random_map(xray_region_model, xray_sample):
    metrics = {"deletion": ZERO, "insertion": ZERO, "deletion_lerf": ZERO}
    result = evaluate(xray_region_model, [xray_sample], {"integrated_gradients": {"steps": 8}, "random": {}},
                      metrics, target=1)
    good, random = "integrated_gradients", "random"
    assert result.mean(good, "deletion") < result.mean(random, "deletion") - 0.05
    assert result.mean(good, "insertion") > result.mean(random, "insertion") + 0.05
    assert result.mean(good, "deletion_lerf") > result.mean(good, "deletion")
    curve = next(c for c in result.curves if c.method == good and c.metric == "deletion")
    assert curve.x[0] == 0 and curve.x[-1] == 1 and len(curve.x) == 11
    assert curve.y[-1] < curve.y[0]
    # cost: steps + 1 model calls per curve, as declared
    calls = {s.metric: s.model_calls for s in result.scores if s.method == good}
    assert calls == {"deletion": 11, "insertion": 11, "deletion_lerf": 11}
    assert get_metric("deletion").model_calls(xray_region_model, CONTROL, {}, get_metric("deletion").resolve_params(
        {"steps": 10})) == 11


class TinyNet(nn.Module):
    """``(N, 3, 6, 6)`` -> ``(N, 2)``: a fixed random linear map through a tanh."""

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.weight = nn.Parameter(torch.randn(2, 3 * 36, generator=generator))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(inputs.flatten(1) @ self.weight.T / 4)


def test_deletion_curve_matches_quantus_pixel_flipping():
    import quantus

    spec = XraySpec(image_size=6, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))  # "zero" replacement = 0 in the input
    card = ModelCard(name="tiny", modality="xray", architecture="tiny", classes=("a", "b"), num_outputs=2,
                     preprocessing=spec, alert_class="b")
    model = Model(card, TinyNet())
    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(rng.random((1, 3, 6, 6)).astype(np.float32))
    attribution = rng.standard_normal((6, 6)).astype(np.float32)  # distinct values: one pixel per step
    case = Case(model=model, sample=None, method=CONTROL, method_params={}, inputs=inputs, attribution=attribution,
                target=1, seed=0)
    params = get_metric("deletion").resolve_params({"block": 1, "steps": 36, "replacement": "zero"})
    ours = perturbation_curve(case, params, insertion=False, most_relevant_first=True)
    metric = quantus.PixelFlipping(features_in_step=3, perturb_baseline=0.0, disable_warnings=True, abs=False,
                                   normalise=False, return_auc_per_sample=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = metric(model=model.class_view, x_batch=inputs.numpy(), y_batch=np.array([1]),
                        a_batch=attribution[None, None], channel_first=True, softmax=True, device="cpu")
    np.testing.assert_allclose(ours[1][1:], np.asarray(theirs[0], np.float64), rtol=1e-5, atol=1e-6)
