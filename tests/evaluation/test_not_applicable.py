"""Scores that cannot mislead: each undefined case is 'not applicable' with its reason, never a number; the LeRF
columns repeat the MoRF ones by construction and are left out of default lists."""

from __future__ import annotations

import types

import numpy as np
import pytest

from xaiscope.evaluation import default_metrics, evaluate, get_metric
from xaiscope.evaluation.base import Case
from xaiscope.evaluation.localisation import EMPTY_REGION, NO_POSITIVE
from xaiscope.evaluation.randomisation import (
    CONSTANT_MAP,
    ONE_CLASS,
    OTHER_CONSTANT,
    RANDOMISED_CONSTANT,
    TWO_CLASS_MIRROR,
    is_mirror,
)
from xaiscope.explainers import get_method
from xaiscope.preprocessing import window_input


def _case(model, sample, method: str, attribution: np.ndarray, target: int = 1) -> Case:
    chosen = get_method(method)
    return Case(model=model, sample=sample, method=chosen, method_params=chosen.resolve_params({}),
                inputs=window_input(sample, model.card.preprocessing).tensor, attribution=attribution, target=target,
                seed=0)


def _reasons(result, method: str, metric: str) -> list[str]:
    return [e["reason"] for e in result.not_applicable if e["method"] == method and e["metric"] == metric]


def test_a_constant_original_map_is_not_applicable_for_both_sanity_checks(xray_region_model, xray_sample):
    case = _case(xray_region_model, xray_sample, "gradcam", np.zeros((224, 224), np.float32))
    for name in ("randomisation", "random_logit"):
        metric = get_metric(name)
        value = metric.compute(case, metric.resolve_params({}))
        assert value.not_applicable == CONSTANT_MAP and all(np.isnan(v) for v in value.values.values())


def test_a_map_flattened_by_randomisation_is_not_a_perfect_sanity_score(xray_region_model, xray_sample):
    attribution = np.random.default_rng(0).random((224, 224)).astype(np.float32)
    case = _case(xray_region_model, xray_sample, "gradcam", attribution)
    case.reattribute = lambda **_: np.zeros((224, 224), np.float32)
    metric = get_metric("randomisation")
    value = metric.compute(case, metric.resolve_params({"steps": 1}))
    assert value.not_applicable == RANDOMISED_CONSTANT and np.isnan(value.values["spearman"])
    case.reattribute = lambda **_: np.zeros((224, 224), np.float32)
    logit = get_metric("random_logit")
    assert logit.compute(case, logit.resolve_params({})).not_applicable == OTHER_CONSTANT


def test_random_logit_on_a_one_class_model_is_not_applicable(xray_region_model, xray_sample):
    case = _case(xray_region_model, xray_sample, "gradcam", np.ones((224, 224), np.float32), target=0)
    case.model = types.SimpleNamespace(classes=("only",))
    metric = get_metric("random_logit")
    value = metric.compute(case, metric.resolve_params({}))
    assert value.not_applicable == ONE_CLASS and np.isnan(value.values["spearman"])


def test_the_two_class_mirror_is_detected_on_the_maps_not_assumed(xray_region_model, xray_sample,
                                                                   trained_blob_model, blob_samples):
    # One logit seen as [-z/2, z/2]: the other class's Integrated Gradients map is the exact negative.
    result = evaluate(xray_region_model, [xray_sample], {"integrated_gradients": {"steps": 4}}, ["random_logit"],
                      target=1)
    assert _reasons(result, "integrated_gradients", "random_logit") == [TWO_CLASS_MIRROR]
    assert np.isnan(result.mean("integrated_gradients", "random_logit"))
    # Two independent logits: not a mirror, so a number.
    result = evaluate(trained_blob_model, blob_samples[:1], {"integrated_gradients": {"steps": 4}}, ["random_logit"])
    assert not result.not_applicable and np.isfinite(result.mean("integrated_gradients", "random_logit"))
    # The random control's map ignores the class: a number (1.0, not class-sensitive), not a mirror.
    result = evaluate(xray_region_model, [xray_sample], ["random"], ["random_logit"])
    assert result.mean("random", "random_logit") == pytest.approx(1.0)
    a = np.random.default_rng(1).normal(size=(8, 8))
    assert is_mirror(a, -a) and not is_mirror(a, a) and not is_mirror(np.zeros((2, 2)), np.zeros((2, 2)))


def test_localisation_without_ground_truth_with_an_empty_region_or_an_empty_map(xray_region_model, xray_sample):
    result = evaluate(xray_region_model, [xray_sample], ["gradcam"], ["pointing_game"], ground_truth=[None])
    assert [e["reason"] for e in result.skipped] == ["needs ground truth (a lesion mask or a fake interval) for "
                                                     "this input"]
    empty = np.zeros(xray_sample.image.shape, bool)
    result = evaluate(xray_region_model, [xray_sample], ["gradcam"], ["pointing_game", "relevance_mass"],
                      ground_truth=[empty], target=1)
    assert _reasons(result, "gradcam", "pointing_game") == [EMPTY_REGION]
    assert np.isnan(result.mean("gradcam", "relevance_mass"))
    case = _case(xray_region_model, xray_sample, "gradcam", -np.ones((224, 224), np.float32))
    case.region = np.ones((224, 224), bool)
    metric = get_metric("relevance_mass")
    assert metric.compute(case, {}).not_applicable == NO_POSITIVE


def test_lerf_columns_repeat_morf_ones_and_are_left_out_by_default(xray_region_model, xray_sample):
    assert "deletion_lerf" not in default_metrics("xray") and "insertion_lerf" not in default_metrics("xray")
    assert {"deletion", "insertion"} <= set(default_metrics("xray"))
    assert get_metric("deletion_lerf").same_as == "insertion" and get_metric("insertion_lerf").same_as == "deletion"
    params = {"steps": 8, "block": 28}
    result = evaluate(xray_region_model, [xray_sample], ["random"],
                      {name: params for name in ("deletion", "insertion", "deletion_lerf", "insertion_lerf")})
    # A noise map has no ties: the stated equivalence holds exactly.
    assert result.mean("random", "deletion_lerf") == pytest.approx(result.mean("random", "insertion"), abs=1e-6)
    assert result.mean("random", "insertion_lerf") == pytest.approx(result.mean("random", "deletion"), abs=1e-6)
