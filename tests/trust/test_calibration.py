"""Temperature scaling lowers the calibration error of an over-confident model on held-out data."""

from __future__ import annotations

import numpy as np
import pytest

from xaiscope.trust.calibration import (
    apply_temperature,
    fit_temperature,
    negative_log_likelihood,
    reliability,
    reliability_diagram,
)


def overconfident(n: int, seed: int, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from calibrated probabilities ``softmax(z)``; the model reports ``softmax(4 z)``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, (n, classes))
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(classes, p=row) for row in true])
    reported = np.exp(4 * logits)
    return reported / reported.sum(axis=1, keepdims=True), labels


@pytest.mark.parametrize("classes", [2, 3])
def test_temperature_fitted_on_validation_lowers_ece_and_nll_on_held_out_data(classes):
    validation, validation_labels = overconfident(400, seed=1, classes=classes)
    held_out, held_out_labels = overconfident(2000, seed=2, classes=classes)
    temperature = fit_temperature(validation, validation_labels)
    assert 2.5 < temperature < 6.0  # the over-confidence factor is 4
    before, after = held_out, apply_temperature(held_out, temperature)
    assert reliability(after, held_out_labels).ece < 0.5 * reliability(before, held_out_labels).ece
    assert negative_log_likelihood(after, held_out_labels) < negative_log_likelihood(before, held_out_labels)


def test_temperature_never_changes_the_predicted_class_and_matches_logit_scaling():
    probabilities, _ = overconfident(300, seed=3, classes=3)
    scaled = apply_temperature(probabilities, 2.7)
    np.testing.assert_array_equal(scaled.argmax(axis=1), probabilities.argmax(axis=1))
    np.testing.assert_allclose(scaled.sum(axis=1), 1.0)
    # A single logit z: [1 - sigmoid(z), sigmoid(z)] at temperature T is sigmoid(z / T).
    z = np.array([-30.0, -3.0, 0.5, 8.0, 40.0])
    two = np.stack([1 / (1 + np.exp(z)), 1 / (1 + np.exp(-z))], axis=1)
    np.testing.assert_allclose(apply_temperature(two, 2.0)[:, 1], 1 / (1 + np.exp(-z / 2.0)), rtol=1e-6)


def test_ece_of_a_calibrated_model_is_small_and_of_a_confident_wrong_one_large():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 1.0, 20000)
    labels = (rng.uniform(size=20000) > p).astype(int)  # class 0 with probability p
    calibrated = np.stack([p, 1 - p], axis=1)
    assert reliability(calibrated, labels).ece < 0.02
    wrong = np.tile([[0.99, 0.01]], (100, 1))
    assert reliability(wrong, np.ones(100, int)).ece == pytest.approx(0.99)


def test_reliability_diagram_is_a_png(tmp_path):
    probabilities, labels = overconfident(200, seed=4)
    temperature = fit_temperature(probabilities, labels)
    path = reliability_diagram(reliability(probabilities, labels),
                               reliability(apply_temperature(probabilities, temperature), labels),
                               tmp_path / "r.png", "test", temperature)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_needs_two_samples():
    with pytest.raises(ValueError):
        fit_temperature(np.array([[0.9, 0.1]]), np.array([0]))
