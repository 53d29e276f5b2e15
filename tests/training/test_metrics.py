"""Metric values against hand-computed ones."""

from __future__ import annotations

import numpy as np
import pytest

from xaiscope.training.metrics import (
    classification_metrics,
    confusion_matrix,
    equal_error_rate,
    format_confusion,
    improved,
    roc_auc,
)

# Four negatives and four positives. Threshold 0.6 (score >= 0.6 is positive) rejects the positive 0.4 and
# accepts the negative 0.6: FNR = FPR = 1/4, so EER = 0.25 at threshold 0.6. AUC: the positive 0.4 beats 3 of
# the 4 negatives and the other positives beat all 4: 15/16.
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])
SCORES = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9])


def test_eer_of_a_known_score_set():
    assert equal_error_rate(LABELS, SCORES) == (0.25, 0.6)


def test_eer_perfect_separation_and_tie_break():
    assert equal_error_rate(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == (0.0, 0.8)
    # Tied scores: at threshold 0.5 one negative and one positive are accepted: FPR = FNR = 1/2.
    assert equal_error_rate(np.array([0, 0, 1, 1]), np.array([0.5, 0.2, 0.5, 0.1])) == (0.5, 0.5)
    # Negative 0.3, positives 0.2 and 0.4. Threshold 0.3: FPR 1, FNR 1/2; threshold 0.4: FPR 0, FNR 1/2. Both are
    # 1/2 apart; the tie goes to the lower mean: EER 0.25 at 0.4.
    assert equal_error_rate(np.array([0, 1, 1]), np.array([0.3, 0.2, 0.4])) == (0.25, 0.4)
    assert equal_error_rate(np.array([1, 1]), np.array([0.3, 0.4])) is None


def test_binary_metrics_by_hand():
    probabilities = np.stack([1 - SCORES, SCORES], axis=1)
    metrics = classification_metrics(LABELS, probabilities, ("real", "fake"), "fake", with_eer=True)
    # Predicted fake when P(fake) > 0.5: the negative 0.6 is a false positive, the positive 0.4 a false negative.
    assert metrics["confusion_matrix"] == [[3, 1], [1, 3]]
    assert metrics["accuracy"] == 0.75
    assert metrics["per_class"]["fake"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4}
    assert metrics["roc_auc"] == pytest.approx(15 / 16)
    assert (metrics["eer"], metrics["eer_threshold"], metrics["eer_positive_class"]) == (0.25, 0.6, "fake")


def test_eer_positive_class_is_the_alert_class():
    # Classes ("fake", "real") as FoR orders them: the EER is computed on P(fake) with fake as positive.
    probabilities = np.stack([SCORES, 1 - SCORES], axis=1)
    metrics = classification_metrics(LABELS == 0, probabilities, ("fake", "real"), "fake", with_eer=True)
    assert (metrics["eer"], metrics["eer_threshold"], metrics["eer_positive_class"]) == (0.25, 0.6, "fake")


def test_uneven_precision_recall_and_zero_division():
    labels = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 1, 0, 1, 0, 1])
    probabilities = np.eye(3)[predicted]
    metrics = classification_metrics(labels, probabilities, ("a", "b", "c"))
    assert metrics["confusion_matrix"] == [[2, 1, 0], [1, 1, 0], [0, 1, 0]]
    a, b, c = (metrics["per_class"][name] for name in "abc")
    assert a["precision"] == pytest.approx(2 / 3) and a["recall"] == pytest.approx(2 / 3)
    assert b["precision"] == pytest.approx(1 / 3) and b["recall"] == pytest.approx(1 / 2)
    assert b["f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert c == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert "eer" not in metrics


def test_auc_undefined_for_one_class_and_confusion_text():
    assert roc_auc(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]])) is None
    assert confusion_matrix(np.array([1, 0]), np.array([1, 1]), 2).tolist() == [[0, 1], [0, 1]]
    text = format_confusion(classification_metrics(LABELS, np.stack([1 - SCORES, SCORES], 1), ("real", "fake")))
    assert text.splitlines()[1].split() == ["real", "3", "1"]


def test_improvement_direction():
    assert improved("loss", 0.4, 0.5) and not improved("loss", 0.5, 0.4)
    assert improved("roc_auc", 0.9, 0.8) and not improved("roc_auc", 0.85, 0.8, min_delta=0.1)
    assert improved("eer", 0.1, None) and not improved("eer", None, 0.2)
