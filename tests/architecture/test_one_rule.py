"""Each rule lives in one function that training, inference, explainers, metrics and views all call."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xaiscope.evaluation.faithfulness import REPLACEMENTS, feature_map
from xaiscope.explainers.gradient import baseline_for
from xaiscope.explainers.superpixels import superpixels
from xaiscope.maps import grid_labels, rank_correlation, slic_labels
from xaiscope.models.model import combine_windows
from xaiscope.models.seed import seed_card
from xaiscope.preprocessing import reference_input
from xaiscope.preprocessing.codec import codec_for
from xaiscope.preprocessing.spec import IMAGENET_MEAN, IMAGENET_STD, XraySpec


def test_one_black_reference_for_gradient_baselines_and_deletion_curves():
    inputs = torch.randn(1, 3, 32, 32)
    explainer_black = baseline_for(inputs, "black", XraySpec())
    metric_black = codec_for(XraySpec()).reference(inputs, REPLACEMENTS["zero"])
    torch.testing.assert_close(explainer_black, metric_black)
    torch.testing.assert_close(metric_black, reference_input(inputs, "black", IMAGENET_MEAN, IMAGENET_STD))
    # black before normalisation: un-normalised it is 0 in every channel
    picture = explainer_black[0].permute(1, 2, 0) * torch.tensor(IMAGENET_STD) + torch.tensor(IMAGENET_MEAN)
    assert float(picture.abs().max()) < 1e-6


def test_one_segmentation_for_explainers_metrics_and_views():
    picture = np.random.default_rng(0).random((64, 64, 3))
    lime_grid = superpixels(picture, {"segmentation": "grid", "segments": 16}, seed=0)
    deletion_blocks = feature_map(picture, {"unit": "blocks", "block": 16, "segments": 0})
    np.testing.assert_array_equal(lime_grid, deletion_blocks)
    np.testing.assert_array_equal(deletion_blocks, grid_labels(64, 64, 16))
    slic = superpixels(picture, {"segmentation": "slic", "segments": 30}, seed=0)
    np.testing.assert_array_equal(slic, feature_map(picture, {"unit": "superpixels", "segments": 30, "block": 1}))
    np.testing.assert_array_equal(slic, slic_labels(picture, 30))


def test_one_window_aggregation_for_inference_and_training():
    card = seed_card("audio_mobilenetv2")  # max aggregation over P(fake)
    windows = torch.tensor([[0.2, 0.8], [0.9, 0.1], [0.4, 0.6]])
    combined = combine_windows(windows, card)
    assert combined.decisive_window == 1
    torch.testing.assert_close(combined.probabilities, windows[1])
    averaged = combine_windows(windows, card.with_updates(preprocessing=card.preprocessing.__class__(
        **{**card.preprocessing.__dict__, "aggregation": "mean"})))
    torch.testing.assert_close(averaged.probabilities, windows.mean(dim=0))
    assert averaged.decisive_window is None


def test_one_rank_correlation_for_sanity_checks_and_the_app():
    from xaiscope.app.logic import rank_agreement

    class Map:
        def __init__(self, label: str, attribution: np.ndarray) -> None:
            self.label, self.attribution, self.model, self.plane = label, attribution, "one model", None

    rng = np.random.default_rng(1)
    a = rng.standard_normal((56, 56)).astype(np.float32)
    b = (a + rng.standard_normal((56, 56))).astype(np.float32)
    flat = np.zeros((56, 56), np.float32)
    agreement = rank_agreement([Map("a", a), Map("b", b), Map("flat", flat)])
    assert agreement[("a", "b")] == pytest.approx(rank_correlation(a, b))
    assert np.isnan(agreement[("a", "flat")]) and np.isnan(rank_correlation(a, flat))
