"""Classification metrics: accuracy; precision, recall and F1 per class; ROC-AUC; EER with its threshold;
confusion matrix.

Conventions:

* ``labels``: shape ``(N,)`` integer class indices; ``probabilities``: shape ``(N, C)``, rows summing to 1, in
  the card's class order. The predicted class is the arg-max (for a single-logit model: ``P(classes[1]) > 0.5``,
  ties going to class 0).
* Precision, recall or F1 whose denominator is zero is reported as 0.
* ROC-AUC: binary, the AUC of ``P(classes[1])`` (it is the same for either class); more classes, the macro
  one-vs-rest AUC. None when the labels hold a single class.
* **EER** (equal error rate, binary only): the positive class is the alert class (``fake``) and the score is
  its probability. For each threshold ``t`` among the distinct scores (a sample is called positive when
  ``score >= t``), the false positive rate and false negative rate are computed; the EER is their mean at the
  threshold where they are closest (ties: the lower mean, then the lower threshold). This is the ASVspoof
  reference definition (no interpolation between operating points). ``eer_threshold`` is that ``t``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Metric name -> whether larger is better, for the early-stopping monitor.
MONITORS: dict[str, bool] = {"loss": False, "accuracy": True, "roc_auc": True, "eer": False, "f1_macro": True}


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """``(C, C)`` int64 counts; row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, np.int64), np.asarray(predicted, np.int64)), 1)
    return matrix


def per_class_scores(matrix: np.ndarray, classes: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each class from a confusion matrix."""
    scores = {}
    for index, name in enumerate(classes):
        true_positive = float(matrix[index, index])
        predicted = float(matrix[:, index].sum())
        actual = float(matrix[index, :].sum())
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[name] = {"precision": precision, "recall": recall, "f1": f1, "support": int(actual)}
    return scores


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float] | None:
    """EER and its threshold (definition in the module docstring).

    Args:
        labels: ``(N,)``, 1 = positive, 0 = negative.
        scores: ``(N,)``, higher = more positive.

    Returns:
        ``(eer, threshold)``, or None when either class is absent.
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives, negatives = np.sort(scores[labels]), np.sort(scores[~labels])
    if len(positives) == 0 or len(negatives) == 0:
        return None
    thresholds = np.unique(scores)
    false_negative = np.searchsorted(positives, thresholds, side="left") / len(positives)
    false_positive = 1.0 - np.searchsorted(negatives, thresholds, side="left") / len(negatives)
    gap = np.abs(false_negative - false_positive)
    mean = (false_negative + false_positive) / 2.0
    best = np.lexsort((thresholds, mean, gap))[0]
    return float(mean[best]), float(thresholds[best])


def roc_auc(labels: np.ndarray, probabilities: np.ndarray) -> float | None:
    """ROC-AUC as in the module docstring; None when only one class is present."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return None
    if probabilities.shape[1] == 2:
        return float(roc_auc_score(labels, probabilities[:, 1]))
    if len(np.unique(labels)) < probabilities.shape[1]:
        return None
    return float(roc_auc_score(labels, probabilities, multi_class="ovr", average="macro"))


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray, classes: tuple[str, ...],
                           alert_class: str | None = None, *, with_eer: bool = False) -> dict[str, Any]:
    """Every metric of the module docstring, JSON-ready.

    Args:
        labels: ``(N,)`` class indices.
        probabilities: ``(N, C)``.
        classes: class names in column order.
        alert_class: the EER's positive class (binary only); defaults to ``classes[1]``.
        with_eer: add ``eer`` and ``eer_threshold`` (binary only; for audio).

    Returns:
        ``{"samples", "accuracy", "per_class": {name: {precision, recall, f1, support}}, "f1_macro", "roc_auc",
        "confusion_matrix": [[...]], "classes", ["eer", "eer_threshold", "eer_positive_class"]}``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1) if len(labels) else np.zeros(0, np.int64)
    matrix = confusion_matrix(labels, predicted, len(classes))
    per_class = per_class_scores(matrix, classes)
    result: dict[str, Any] = {
        "samples": len(labels),
        "accuracy": float((predicted == labels).mean()) if len(labels) else 0.0,
        "per_class": per_class,
        "f1_macro": float(np.mean([scores["f1"] for scores in per_class.values()])),
        "roc_auc": roc_auc(labels, probabilities) if len(labels) else None,
        "confusion_matrix": matrix.tolist(),
        "classes": list(classes),
    }
    if with_eer and len(classes) == 2:
        positive = classes.index(alert_class) if alert_class in classes else 1
        found = equal_error_rate(labels == positive, probabilities[:, positive])
        result["eer"], result["eer_threshold"] = found if found else (None, None)
        result["eer_positive_class"] = classes[positive]
    return result


def monitor_value(metrics: dict[str, Any], monitor: str) -> float | None:
    """The monitored number (``loss``, ``accuracy``, ``roc_auc``, ``eer``, ``f1_macro``) or None if undefined."""
    value = metrics.get(monitor)
    return None if value is None else float(value)


def improved(monitor: str, value: float | None, best: float | None, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` in the monitor's direction."""
    if value is None or not np.isfinite(value):
        return False
    if best is None:
        return True
    return value > best + min_delta if MONITORS[monitor] else value < best - min_delta


def format_confusion(metrics: dict[str, Any]) -> str:
    """The confusion matrix as aligned text (rows = true class, columns = predicted)."""
    classes = metrics["classes"]
    matrix = metrics["confusion_matrix"]
    width = max(8, *(len(name) for name in classes)) + 2
    lines = ["true \\ predicted".ljust(width + 6) + "".join(name.rjust(width) for name in classes)]
    for name, row in zip(classes, matrix, strict=True):
        lines.append(name.ljust(width + 6) + "".join(str(value).rjust(width) for value in row))
    return "\n".join(lines)
