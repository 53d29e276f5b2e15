"""Familiarity distances: the validation share that passes, what is flagged, and the sidecar's safety."""

from __future__ import annotations

import numpy as np
import pytest

from xaiscope.errors import CardError
from xaiscope.trust.familiarity import (
    METHODS,
    Reference,
    combine_window_scores,
    describe,
    status_of,
    thresholds_at,
)


def clusters(n: int, seed: int, dims: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Two classes in a 64-D feature space, each a Gaussian around its own centre (fixed across seeds)."""
    centres = np.random.default_rng(99).normal(0, 3, (2, dims))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scales = np.linspace(0.5, 1.5, dims)
    return centres[labels] + rng.normal(0, 1, (n, dims)) * scales, labels


@pytest.mark.parametrize("method", METHODS)
def test_validation_share_passes_and_far_inputs_are_unlike_the_training_data(method):
    training, labels = clusters(600, seed=1)
    reference = Reference.from_features(training, labels)
    validation, _ = clusters(200, seed=2)
    thresholds = thresholds_at(reference.scores(validation, method), {"unusual": 95, "unlike": 99.5})
    statuses = [status_of(s, thresholds) for s in reference.scores(validation, method)]
    assert statuses.count("familiar") / len(statuses) >= 0.95
    held_out, _ = clusters(500, seed=3)
    held_statuses = [status_of(s, thresholds) for s in reference.scores(held_out, method)]
    assert held_statuses.count("familiar") / len(held_statuses) >= 0.88
    far = np.random.default_rng(4).normal(0, 1, (20, 64)) * 6 + 15
    assert all(status_of(s, thresholds) == "unlike the training data" for s in reference.scores(far, method))


def test_sidecar_round_trip_and_a_tampered_file_is_refused(tmp_path):
    training, labels = clusters(100, seed=1)
    reference = Reference.from_features(training, labels, k=3)
    path = tmp_path / "m.familiarity.npz"
    digest = reference.save(path)
    loaded = Reference.load(path, digest)
    assert loaded.k == 3
    np.testing.assert_allclose(loaded.scores(training[:5], "knn"), reference.scores(training[:5], "knn"), atol=2e-3)
    with pytest.raises(CardError, match="not the one"):
        Reference.load(path, "0" * 64)
    with pytest.raises(CardError, match="cannot be read"):
        Reference.load(tmp_path / "missing.npz")


def test_reference_is_subsampled_within_its_budget():
    features = np.random.default_rng(0).normal(size=(5000, 1280)).astype(np.float32)
    reference = Reference.from_features(features, np.zeros(5000, int))
    assert len(reference.embeddings) * 1280 * 2 <= 6_000_000


def test_window_scores_follow_the_verdict_and_the_record_states_number_and_threshold():
    assert combine_window_scores(np.array([0.1, 0.9, 0.2]), 1) == (0.9, "the decisive window 1")
    assert combine_window_scores(np.array([0.1, 0.9, 0.2]), None)[0] == pytest.approx(0.2)
    entry = {"method": "knn", "thresholds": {"knn": {"unusual": 0.3, "unlike": 0.5}},
             "percentiles": {"unusual": 95.0, "unlike": 99.5}}
    record = describe(entry, 0.42, "the one window", [0.42])
    assert record["status"] == "unusual" and "0.42" in record["message"] and "0.3" in record["message"]
    assert describe(entry, 0.7, "x", [0.7])["status"] == "unlike the training data"
    assert describe(entry, 0.1, "x", [0.1])["message"] == ""
