"""Sanity checks: the paper's finding on a trained model, the shared model untouched, Quantus agreement."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from xaiscope.evaluation import evaluate
from xaiscope.evaluation.base import Case
from xaiscope.explainers import get_method
from xaiscope.maps import rank_correlation as spearman
from xaiscope.maps import ssim
from xaiscope.models import Model
from xaiscope.preprocessing import window_input


@pytest.fixture(scope="module")
def sanity(trained_blob_model, blob_samples):
    """Cascading randomisation after every layer, for Grad-CAM and Guided Backpropagation."""
    return evaluate(trained_blob_model, blob_samples, ["gradcam", "guided_backprop"],
                    {"randomisation": {"steps": 0}, "random_logit": {}})


def _cascade(result, method: str) -> np.ndarray:
    """``(samples, layers)`` Spearman similarities along the cascade (output layer first)."""
    rows = [d["cascade"] for d in result.details if d["metric"] == "randomisation" and d["method"] == method]
    return np.array([[step["spearman"] for step in row] for row in rows])


def test_gradcam_changes_under_cascading_randomisation_while_guided_backprop_barely_does(sanity):
    gradcam, guided = _cascade(sanity, "gradcam"), _cascade(sanity, "guided_backprop")
    # A Grad-CAM map that randomisation emptied has no ranking: its similarity is undefined (NaN), not a score.
    # The means are over the defined similarities.
    # after the head alone, and after the head and the last convolution
    assert np.nanmean(gradcam[:, 0]) < 0.1 and guided[:, 0].mean() > 0.5
    assert np.nanmean(gradcam[:, 1]) < 0.1 and guided[:, 1].mean() > 0.35
    # over the whole cascade, Guided Backpropagation stays the more similar by a wide margin
    assert guided.mean() - np.nanmean(gradcam) > 0.3
    assert sanity.mean("guided_backprop", "randomisation") > sanity.mean("gradcam", "randomisation")


def test_randomisation_never_touches_the_shared_model_or_the_global_random_state(trained_blob_model, blob_samples):
    before = {key: value.clone() for key, value in trained_blob_model.network.state_dict().items()}
    torch.manual_seed(5)
    np.random.seed(5)
    expected = (torch.rand(1).item(), np.random.random())
    torch.manual_seed(5)
    np.random.seed(5)
    evaluate(trained_blob_model, blob_samples[:1], ["gradcam"], {"randomisation": {"steps": 2}, "max_sensitivity": {}})
    assert (torch.rand(1).item(), np.random.random()) == expected
    after = trained_blob_model.network.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)
    assert not trained_blob_model.network._forward_pre_hooks and not trained_blob_model.network._forward_hooks


def _case(model: Model, sample, method: str) -> Case:
    chosen = get_method(method)
    params = chosen.resolve_params({})
    inputs = window_input(sample, model.card.preprocessing).tensor
    target = int(model.probabilities(inputs).argmax())
    attribution = chosen.attribute(model, inputs, target, params, 0).attribution
    return Case(model=model, sample=sample, method=chosen, method_params=params, inputs=inputs,
                attribution=attribution, target=target, seed=0)


def _explain_func(method: str, card):
    chosen = get_method(method)
    params = chosen.resolve_params({})

    def explain(model, inputs, targets, **_kwargs):
        wrapped = Model(card, model)
        return np.stack([chosen.attribute(wrapped, torch.from_numpy(np.asarray(x, np.float32))[None], int(t), params, 0)
                         .attribution for x, t in zip(inputs, targets, strict=True)])[:, None]

    return explain


# Quantus refuses all-zero maps, which Grad-CAM gives for some randomised layers; gradient methods never do here.
@pytest.mark.parametrize("method", ["guided_backprop", "integrated_gradients"])
def test_cascading_randomisation_matches_quantus_mprt(method, trained_blob_model, blob_samples):
    import quantus

    from xaiscope.evaluation import get_metric

    case = _case(trained_blob_model, blob_samples[0], method)
    ours = get_metric("randomisation").compute(case, {"steps": 0, "absolute": True}).details["cascade"]
    metric = quantus.MPRT(similarity_func=quantus.similarity_func.correlation_spearman, layer_order="top_down",
                          seed=0, disable_warnings=True, abs=True, normalise=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = metric(model=trained_blob_model.network, x_batch=case.inputs.numpy(), y_batch=np.array([case.target]),
                        a_batch=case.attribution[None, None], channel_first=True, device="cpu",
                        explain_func=_explain_func(method, trained_blob_model.card))
    for step in ours:
        value = np.asarray(theirs[step["layer"]], np.float64).ravel()[0]
        if np.isfinite(value):  # Quantus gives NaN where a map is constant; xaiscope scores that 0 (documented)
            assert step["spearman"] == pytest.approx(value, abs=1e-6), step["layer"]


def test_random_logit_matches_quantus(trained_blob_model, blob_samples):
    import quantus

    from xaiscope.evaluation import get_metric

    case = _case(trained_blob_model, blob_samples[1], "guided_backprop")
    ours = get_metric("random_logit").compute(case, {"absolute": False}).values["spearman"]
    metric = quantus.RandomLogit(num_classes=2, similarity_func=quantus.similarity_func.correlation_spearman,
                                 disable_warnings=True, abs=False, normalise=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = metric(model=trained_blob_model.network, x_batch=case.inputs.numpy(), y_batch=np.array([case.target]),
                        a_batch=case.attribution[None, None], channel_first=True, device="cpu",
                        explain_func=_explain_func("guided_backprop", trained_blob_model.card))
    assert ours == pytest.approx(float(np.asarray(theirs).ravel()[0]), abs=1e-6)


def test_similarities_match_quantus():
    from quantus.functions.similarity_func import correlation_spearman
    from quantus.functions.similarity_func import ssim as quantus_ssim

    rng = np.random.default_rng(0)
    a = rng.standard_normal((32, 32))
    b = a + 0.5 * rng.standard_normal((32, 32))
    assert spearman(a, b) == pytest.approx(correlation_spearman(a.ravel(), b.ravel()), abs=1e-9)
    assert ssim(a, b) == pytest.approx(quantus_ssim(a, b), abs=1e-9)
    # A constant map ranks nothing: its rank correlation is undefined (NaN), never a perfect sanity score.
    assert np.isnan(spearman(a, np.zeros_like(a))) and spearman(a, a) == pytest.approx(1.0)
