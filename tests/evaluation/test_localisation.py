"""Localisation and complexity: known answers on the region model, chance for random maps, Quantus agreement."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.region_model import REGION
from xaiscope.evaluation import evaluate
from xaiscope.evaluation.complexity import gini
from xaiscope.evaluation.ground_truth import mask_to_input, region_for
from xaiscope.evaluation.localisation import pointing_game, relevance_mass, relevance_rank
from xaiscope.explainers import explain


def region_mask_at(shape: tuple[int, int]) -> np.ndarray:
    """REGION of the 224 x 224 model input, drawn at a sample's own resolution (the inverse of the stretch)."""
    height, width = shape
    mask = np.zeros(shape, bool)
    mask[round(REGION[0].start * height / 224):round(REGION[0].stop * height / 224),
         round(REGION[1].start * width / 224):round(REGION[1].stop * width / 224)] = True
    return mask


def test_a_mask_is_stretched_like_the_image(xray_sample):
    region = mask_to_input(region_mask_at(xray_sample.image.shape), 224)
    expected = np.zeros((224, 224), bool)
    expected[REGION] = True
    assert (region != expected).mean() < 0.005


def test_an_interval_becomes_the_frames_it_covers_on_the_plane(speech_sample, audio_region_model):
    plane = explain(audio_region_model, speech_sample, "gradcam").plane
    region = region_for(speech_sample, audio_region_model.card.preprocessing, 0, (0.5, 1.0), plane)
    frames = np.flatnonzero(region[0])
    assert region.shape == (64, 201) and region.all(axis=0)[frames].all()  # every band of those frames
    assert plane.times[frames[0]] == pytest.approx(0.5) and plane.times[frames[-1]] == pytest.approx(1.0)


@pytest.mark.parametrize("modality", ["xray", "audio"])
def test_a_model_that_looks_at_one_region_localises_near_perfectly_and_a_random_map_scores_chance(modality, request):
    model = request.getfixturevalue(f"{modality}_region_model")
    sample = request.getfixturevalue("xray_sample" if modality == "xray" else "speech_sample")
    # audio: REGION's columns 112..196 of the 2 s window, as a fake interval
    truth = region_mask_at(sample.image.shape) if modality == "xray" else (112 / 224 * 2.0, 196 / 224 * 2.0)
    metrics = ["pointing_game", "relevance_mass", "relevance_rank"]
    result = evaluate(model, [sample], {"integrated_gradients": {"steps": 8}, "gradcam": {}}, metrics,
                      ground_truth=[truth], target=1)
    for method in ("integrated_gradients", "gradcam"):
        assert result.mean(method, "pointing_game") == 1.0
        assert result.mean(method, "relevance_mass") > 0.9
        # audio: the interval spans every row, the model only a quarter of them, so rank accuracy tops out lower
        assert result.mean(method, "relevance_rank") > (0.85 if modality == "xray" else 0.25), method
    # random maps: average over seeds approaches the region's share of the picture
    chance = next(d["chance"] for d in result.details if d["metric"] == "relevance_mass")
    assert result.mean("integrated_gradients", "relevance_rank") > chance + 0.1
    controls = [evaluate(model, [sample], ["random"], metrics, ground_truth=[truth], target=1, seed=seed)
                for seed in range(30)]
    assert abs(np.mean([r.mean("random", "relevance_mass") for r in controls]) - chance) < 0.02
    assert abs(np.mean([r.mean("random", "relevance_rank") for r in controls]) - chance) < 0.03
    assert np.mean([r.mean("random", "pointing_game") for r in controls]) < chance + 0.2


def test_localisation_needs_ground_truth_and_says_so(xray_region_model, xray_sample):
    result = evaluate(xray_region_model, [xray_sample], ["random"], ["pointing_game", "sparseness"])
    assert [s["metric"] for s in result.skipped] == ["pointing_game"]
    assert "ground truth" in result.skipped[0]["reason"]


# --- the same values as Quantus ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def maps_and_masks():
    rng = np.random.default_rng(0)
    maps = [np.abs(rng.standard_normal((32, 32))) for _ in range(3)]
    maps.append(np.pad(np.ones((8, 8)), 12) + 0.01 * rng.random((32, 32)))  # concentrated
    masks = [rng.random((32, 32)) < fraction for fraction in (0.1, 0.3, 0.5, 0.06)]
    maps.append(maps[3])  # a hit: the peak of the concentrated map inside a mask over its block
    masks.append(np.pad(np.ones((8, 8), bool), 12))
    return maps, masks


def _quantus(metric, maps, masks):
    x = np.zeros((len(maps), 1, 32, 32), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(metric(model=None, x_batch=x, y_batch=np.zeros(len(maps), int),
                                 a_batch=np.stack(maps)[:, None].astype(np.float32),
                                 s_batch=np.stack(masks)[:, None].astype(np.float32), channel_first=True),
                          np.float64)


def test_localisation_matches_quantus(maps_and_masks):
    import quantus

    maps, masks = maps_and_masks
    options = {"disable_warnings": True, "abs": False, "normalise": False}
    ours = {
        "pointing": [pointing_game(a, m) for a, m in zip(maps, masks, strict=True)],
        "mass": [relevance_mass(a, m) for a, m in zip(maps, masks, strict=True)],
        "rank": [relevance_rank(a, m) for a, m in zip(maps, masks, strict=True)],
    }
    theirs = {
        "pointing": _quantus(quantus.PointingGame(**options), maps, masks),
        "mass": _quantus(quantus.RelevanceMassAccuracy(**options), maps, masks),
        "rank": _quantus(quantus.RelevanceRankAccuracy(**options), maps, masks),
    }
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_sparseness_matches_quantus(maps_and_masks):
    import quantus

    maps, masks = maps_and_masks
    signed = [m * np.sign(np.random.default_rng(1).standard_normal(m.shape)) for m in maps]
    theirs = _quantus(quantus.Sparseness(disable_warnings=True, abs=True, normalise=False), signed, masks)
    np.testing.assert_allclose([gini(m) for m in signed], theirs, atol=1e-5)
    assert gini(np.ones((8, 8))) == pytest.approx(0.0) and gini(np.eye(64)) > 0.95
