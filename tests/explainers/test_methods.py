"""Every method on tiny models of both kinds of input: known answers, determinism, costs, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.region_model import REGION
from xaiscope.explainers import REGISTRY, ExplanationError, ExplanationStopped, explain, get_method, methods

#: Small but meaningful settings so the whole matrix runs in seconds.
FAST = {
    "lime": {"samples": 300, "segmentation": "grid", "segments": 64, "hide": "mean"},
    "shap": {"max_evals": 300, "masker": "blur(16,16)"},
    "kernel_shap": {"samples": 200, "segmentation": "grid", "segments": 64, "hide": "black"},
    "integrated_gradients": {"steps": 16},
    "smoothgrad": {"samples": 8},
    "occlusion": {"patch": 28, "stride": 28},
    "scorecam": {"batch_size": 8},
    "tile_lime": {"samples": 300, "time_tiles": 8, "band_tiles": 4},
    "tile_kernel_shap": {"samples": 300, "time_tiles": 8, "band_tiles": 4},
}


def inside_share(attribution: np.ndarray) -> float:
    magnitude = np.abs(attribution)
    return float(magnitude[REGION].sum() / max(magnitude.sum(), 1e-12))


@pytest.mark.parametrize("name", [name for name, method in REGISTRY.items() if method.family != "control"])
@pytest.mark.parametrize("modality", ["audio", "xray"])
def test_every_method_finds_the_only_region_the_model_looks_at(name, modality, request):
    model = request.getfixturevalue(f"{modality}_region_model")
    sample = request.getfixturevalue("speech_sample" if modality == "audio" else "xray_sample")
    if get_method(name).takes == "recording":
        if modality == "xray":
            assert "only audio" in get_method(name).suits(model)
            return
        return _finds_the_region_on_the_plane(model, sample, name)
    explanation = explain(model, sample, name, target=1, **FAST.get(name, {}))
    assert explanation.attribution.shape == (224, 224) and explanation.attribution.dtype == np.float32
    assert np.isfinite(explanation.attribution).all()
    assert np.abs(explanation.attribution).max() > 0, f"{name} gave an empty map"
    # The region is 9% of the picture; every method must put most of its attribution there.
    assert inside_share(explanation.attribution) > 0.8, f"{name}: {inside_share(explanation.attribution):.2f}"
    assert explanation.model_calls == explanation.expected_model_calls
    assert explanation.target_class == model.classes[1]


def _finds_the_region_on_the_plane(model, sample, name):
    """A tile method on the mel-picture region model: the region carried onto the plane (1.0 to 1.75 s, about
    2 to 4.3 kHz), widened to the tiles it touches, holds most of the positive attribution.

    The bound is lower than in model-input space (0.7): the picture is scaled to its own quietest and loudest cells, so
    hiding a tile elsewhere (the loud 500 Hz tone) still shifts the region's pixels a little."""
    from xaiscope.plane.project import picture_to_plane

    explanation = explain(model, sample, name, target=1, **FAST.get(name, {}))
    plane = explanation.plane
    assert explanation.space == "plane" and plane.values.shape == explanation.attribution.shape == (64, 201)
    mask = np.zeros((224, 224), np.float32)
    mask[REGION] = 1.0
    region = picture_to_plane(mask, model.card.preprocessing, plane.grid, plane.n_samples, plane.start_s) > 0.5
    tiles = explanation.extras["segments"]
    touched = np.isin(tiles, np.unique(tiles[region]))
    positive = plane.positive()
    assert positive[touched].sum() / positive.sum() > 0.7, name
    assert touched.mean() < 0.25  # the widened region is still a small part of the plane
    assert explanation.model_calls == explanation.expected_model_calls


@pytest.mark.parametrize("name", ["lime", "shap", "kernel_shap", "smoothgrad"])
def test_same_input_and_seed_give_the_same_map(name, xray_region_model, xray_sample):
    first = explain(xray_region_model, xray_sample, name, seed=7, **FAST[name])
    again = explain(xray_region_model, xray_sample, name, seed=7, **FAST[name])
    np.testing.assert_array_equal(first.attribution, again.attribution)


def test_seed_changes_random_methods_and_global_state_is_untouched(xray_region_model, xray_sample):
    np.random.seed(123)
    torch.manual_seed(123)
    before = (np.random.random(), torch.rand(1).item())
    np.random.seed(123)
    torch.manual_seed(123)
    first = explain(xray_region_model, xray_sample, "lime", seed=1, **FAST["lime"])
    other = explain(xray_region_model, xray_sample, "lime", seed=2, **FAST["lime"])
    assert not np.array_equal(first.attribution, other.attribution)
    assert (np.random.random(), torch.rand(1).item()) == before


def test_default_target_is_the_predicted_class(xray_region_model, xray_sample):
    explanation = explain(xray_region_model, xray_sample, "gradcam")
    predicted = max(explanation.probabilities, key=explanation.probabilities.get)
    assert explanation.target_class == predicted
    by_name = explain(xray_region_model, xray_sample, "integrated_gradients", target="no_opacity", steps=8)
    assert by_name.target == 0


def test_explaining_the_other_class_of_a_single_logit_model_mirrors_the_map(xray_region_model, xray_sample):
    towards = explain(xray_region_model, xray_sample, "integrated_gradients", target=1, steps=8).attribution
    against = explain(xray_region_model, xray_sample, "integrated_gradients", target=0, steps=8).attribution
    np.testing.assert_allclose(against, -towards, rtol=1e-4, atol=1e-6 * np.abs(towards).max())


def test_cost_is_declared_before_running(xray_region_model):
    assert get_method("scorecam").model_calls(xray_region_model, {"layer": ""}) == 1 + 8
    lime = get_method("lime")
    assert lime.model_calls(xray_region_model, lime.resolve_params({"samples": "250"})) == 250
    occlusion = get_method("occlusion")
    assert occlusion.model_calls(xray_region_model, occlusion.resolve_params({})) == 1 + 13 * 13


def test_progress_reports_and_stop(xray_region_model, xray_sample):
    seen: list[tuple[int, int]] = []
    explain(xray_region_model, xray_sample, "occlusion", progress=lambda d, t: seen.append((d, t)), **FAST["occlusion"])
    assert seen[-1][0] == seen[-1][1] == 1 + 8 * 8

    def stop(done: int, total: int) -> None:
        if done > 20:
            raise ExplanationStopped("Stopped by the user.")

    with pytest.raises(ExplanationStopped):
        explain(xray_region_model, xray_sample, "lime", progress=stop, **FAST["lime"])
    # hooks were removed: a later call counts from zero and matches its declared cost
    again = explain(xray_region_model, xray_sample, "gradcam")
    assert again.model_calls == 1
    assert not xray_region_model.class_view._forward_pre_hooks


def test_frozen_weights_and_inplace_relu_still_give_cam_maps(xray_region_model, xray_sample):
    for parameter in xray_region_model.network.parameters():
        parameter.requires_grad_(False)
    try:
        for name in ("gradcam", "gradcampp", "xgradcam", "layercam"):
            assert explain(xray_region_model, xray_sample, name, target=1).attribution.max() > 0, name
    finally:
        for parameter in xray_region_model.network.parameters():
            parameter.requires_grad_(True)
    assert all(m.inplace for m in xray_region_model.network.features if isinstance(m, torch.nn.ReLU))


def test_parameter_errors(xray_region_model, xray_sample):
    with pytest.raises(ExplanationError, match="no parameter 'colour'"):
        explain(xray_region_model, xray_sample, "lime", colour=1)
    with pytest.raises(ExplanationError, match="outside"):
        explain(xray_region_model, xray_sample, "lime", samples=1)
    with pytest.raises(ExplanationError, match="not one of"):
        explain(xray_region_model, xray_sample, "lime", segmentation="watershed")
    with pytest.raises(ExplanationError, match="no explanation method"):
        explain(xray_region_model, xray_sample, "magic")
    with pytest.raises(ExplanationError, match="not a class"):
        explain(xray_region_model, xray_sample, "gradcam", target="pneumonia")
    with pytest.raises(ExplanationError, match=r"larger than occlusion\.patch"):
        explain(xray_region_model, xray_sample, "occlusion", patch=16, stride=32)
    with pytest.raises(ExplanationError, match="no layer"):
        explain(xray_region_model, xray_sample, "gradcam", layer="features.99")


def test_presets_and_method_listing(xray_region_model):
    assert get_method("lime").resolve_params({}, "earlier-tool")["samples"] == 1000
    assert get_method("shap").resolve_params({}, "earlier-tool")["masker"] == "blur(64,64)"
    with pytest.raises(ExplanationError, match="no preset"):
        get_method("lime").resolve_params({}, "fastest")
    listing = {choice.plugin.name: choice for choice in methods("xray", xray_region_model)}
    assert all(choice.available for choice in listing.values() if choice.plugin.takes == "model input")
    assert not any(choice.available for choice in listing.values() if choice.plugin.takes == "recording")
    unsuited = xray_region_model.card.with_updates(cam_target_layer=None)
    model_without_layer = type(xray_region_model)(unsuited, xray_region_model.network)
    choice = next(c for c in methods(model=model_without_layer) if c.plugin.name == "gradcam")
    assert not choice.available and "target layer" in choice.reason
