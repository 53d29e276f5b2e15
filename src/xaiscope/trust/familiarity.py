"""Familiarity (applicability): how far an input lies from the training data in the model's own feature space.

A *reference* holds penultimate-layer embeddings of the training split (at most :data:`MAX_REFERENCE` of them,
a seeded subsample, rounded to float16 relative to their largest magnitude) with their labels, stored in a sidecar
file ``<name>.familiarity.npz`` beside the checkpoint
(read with ``allow_pickle=False``); the card's ``familiarity`` entry names the file, the method and the
thresholds. Two distances are implemented, and ``xaiscope calibrate`` measures both and reports what each
catches before one is chosen:

* ``knn``: Euclidean distance of the L2-normalised embedding to its ``k``-th nearest normalised training
  embedding (Sun et al. 2022, "Out-of-distribution detection with deep nearest neighbors"); no distribution
  assumption.
* ``mahalanobis``: the smallest Mahalanobis distance to a class mean under one shared covariance (Lee et al.
  2018), the covariance shrunk towards a scaled identity by the Ledoit-Wolf estimate (the embeddings have more
  dimensions than a small training split has samples).

Thresholds sit at stated percentiles of the *validation* split's scores (defaults: 95th = ``unusual``,
99.5th = ``unlike the training data``), so by construction about 95 % of inputs like the validation data pass
as ``familiar``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from xaiscope.errors import CardError

Method = Literal["knn", "mahalanobis"]
METHODS: tuple[Method, ...] = ("knn", "mahalanobis")
Status = Literal["familiar", "unusual", "unlike the training data", "not assessed"]

#: Largest number of reference embeddings kept (seeded subsample), and the byte budget of the sidecar's array.
MAX_REFERENCE = 4096
MAX_REFERENCE_BYTES = 6_000_000
DEFAULT_PERCENTILES = {"unusual": 95.0, "unlike": 99.5}
DEFAULT_K = 5
SIDECAR_SUFFIX = ".familiarity.npz"


@dataclass
class Reference:
    """Training embeddings and what is derived from them.

    Attributes:
        embeddings: ``(M, D)`` float32 training embeddings.
        labels: ``(M,)`` int class indices.
        k: neighbour rank of the ``knn`` distance.
    """

    embeddings: np.ndarray
    labels: np.ndarray
    k: int = DEFAULT_K
    _normalised: np.ndarray | None = field(default=None, repr=False)
    _means: np.ndarray | None = field(default=None, repr=False)
    _precision: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_features(cls, features: np.ndarray, labels: np.ndarray, *, k: int = DEFAULT_K, seed: int = 0,
                      ) -> Reference:
        """Keep at most :data:`MAX_REFERENCE` rows (and :data:`MAX_REFERENCE_BYTES` as float16), seeded."""
        features = np.asarray(features, np.float32)
        limit = min(MAX_REFERENCE, max(MAX_REFERENCE_BYTES // (2 * features.shape[1]), 64))
        if len(features) > limit:
            keep = np.sort(np.random.default_rng(seed).choice(len(features), limit, replace=False))
            features, labels = features[keep], np.asarray(labels)[keep]
        # Rounded here exactly as the sidecar stores them, so thresholds fitted now hold for the loaded reference.
        scale = _scale(features)
        return cls((features / scale).astype(np.float16).astype(np.float32) * scale, np.asarray(labels, np.int64),
                   k=k)

    # --- storage ---------------------------------------------------------------------------------------------

    def save(self, path: Path) -> str:
        """Write the sidecar (float16 embeddings over their largest magnitude, that scale, int16 labels); returns
        its SHA-256."""
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("wb") as handle:
            scale = _scale(self.embeddings)
            np.savez_compressed(handle, embeddings=(self.embeddings / scale).astype(np.float16),
                                scale=np.asarray(scale, np.float32), labels=self.labels.astype(np.int16),
                                k=np.asarray(self.k))
        temporary.replace(path)
        return hashlib.sha256(path.read_bytes()).hexdigest()

    @classmethod
    def load(cls, path: Path, sha256: str | None = None) -> Reference:
        """Read a sidecar written by :meth:`save` (no pickles).

        Raises:
            CardError: missing, unreadable or not the file the card names (different SHA-256).
        """
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CardError(f"The familiarity reference '{path}' named by the model card cannot be read ({error}).",
                            "Restore it beside the checkpoint, or recompute it with `xaiscope calibrate`.") from error
        if sha256 and hashlib.sha256(data).hexdigest() != sha256:
            raise CardError(f"The familiarity reference '{path}' is not the one its model card was written with.",
                            "Recompute it with `xaiscope calibrate MODEL DATA`.")
        import io

        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            return cls(stored["embeddings"].astype(np.float32) * np.float32(stored["scale"]),
                       stored["labels"].astype(np.int64), k=int(stored["k"]))

    # --- distances -------------------------------------------------------------------------------------------

    def scores(self, features: np.ndarray, method: Method) -> np.ndarray:
        """``(N, D)`` embeddings -> ``(N,)`` distances to the training data (larger = less familiar)."""
        features = np.asarray(features, np.float32)
        if method == "knn":
            return self._knn(features)
        if method == "mahalanobis":
            return self._mahalanobis(features)
        raise CardError(f"Unknown familiarity method '{method}'.", f"Use one of {list(METHODS)} in the card.")

    def _knn(self, features: np.ndarray) -> np.ndarray:
        if self._normalised is None:
            self._normalised = _unit(self.embeddings)
        queries = _unit(features)
        # Squared distance between unit vectors: 2 - 2 cos.
        squared = np.clip(2.0 - 2.0 * queries @ self._normalised.T, 0.0, None)
        k = min(self.k, squared.shape[1])
        return np.sqrt(np.partition(squared, k - 1, axis=1)[:, k - 1])

    def _mahalanobis(self, features: np.ndarray) -> np.ndarray:
        if self._precision is None:
            from sklearn.covariance import LedoitWolf

            classes = np.unique(self.labels)
            means = np.stack([self.embeddings[self.labels == c].mean(axis=0) for c in classes])
            centred = self.embeddings - means[np.searchsorted(classes, self.labels)]
            covariance = LedoitWolf(assume_centered=True).fit(centred.astype(np.float64)).covariance_
            self._means, self._precision = means, np.linalg.pinv(covariance, hermitian=True)
        assert self._means is not None
        distances = []
        for mean in self._means:
            offset = features.astype(np.float64) - mean
            distances.append(np.einsum("nd,de,ne->n", offset, self._precision, offset))
        return np.sqrt(np.clip(np.min(np.stack(distances), axis=0), 0.0, None))


def _scale(rows: np.ndarray) -> np.float32:
    """The largest magnitude of ``rows`` (1 for all zeros): float16 then holds them with its full relative precision
    whatever their size (embeddings of an untrained network can be ~1e-8, below float16's smallest number)."""
    largest = float(np.abs(rows).max()) if rows.size else 0.0
    return np.float32(largest if largest > 0 and np.isfinite(largest) else 1.0)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def thresholds_at(scores: np.ndarray, percentiles: dict[str, float] | None = None) -> dict[str, float]:
    """Thresholds at the stated percentiles of validation ``scores`` (linear interpolation)."""
    percentiles = percentiles or DEFAULT_PERCENTILES
    # "higher": the threshold is a validation score, so at least the stated share of the split lies at or below it.
    return {name: float(np.percentile(scores, value, method="higher")) for name, value in percentiles.items()}


def status_of(score: float, thresholds: dict[str, float]) -> Status:
    """``familiar`` up to the ``unusual`` threshold, ``unusual`` up to ``unlike``, then unlike the training data."""
    if score > thresholds["unlike"]:
        return "unlike the training data"
    if score > thresholds["unusual"]:
        return "unusual"
    return "familiar"


def combine_window_scores(scores: np.ndarray, decisive: int | None) -> tuple[float, str]:
    """One recording's familiarity from its windows' ``(W,)`` scores, and how it was combined.

    The window that decided the verdict (``max`` aggregation) speaks for the verdict; without one, the median
    window (a recording is judged by its typical window, not by one breath or click).
    """
    if len(scores) == 1:
        return float(scores[0]), "the one window"
    if decisive is not None:
        return float(scores[decisive]), f"the decisive window {decisive}"
    return float(np.median(scores)), f"the median of {len(scores)} windows"


def describe(entry: dict[str, Any], score: float, how: str, window_scores: list[float]) -> dict[str, Any]:
    """The prediction's familiarity record: status, number, thresholds, method and what it means."""
    method = entry["method"]
    thresholds = entry["thresholds"][method]
    percentiles = entry.get("percentiles", DEFAULT_PERCENTILES)
    status = status_of(score, thresholds)
    record: dict[str, Any] = {
        "status": status, "score": round(score, 4), "method": method,
        "thresholds": {name: round(value, 4) for name, value in thresholds.items()},
        "percentiles": percentiles, "combined_from": how,
        "window_scores": [round(value, 4) for value in window_scores],
    }
    name = {"knn": "k-nearest-neighbour distance", "mahalanobis": "Mahalanobis distance"}[method]
    if status == "familiar":
        record["message"] = ""
    elif status == "unusual":
        record["message"] = (
            f"The input is unusual for this model: its {name} to the training data in the model's feature space "
            f"is {score:.3g}, above the {percentiles['unusual']:g}th percentile of the validation split "
            f"({thresholds['unusual']:.3g}). Treat the verdict with extra care.")
    else:
        record["message"] = (
            f"The input is unlike the training data: its {name} in the model's feature space is {score:.3g}, above "
            f"the {percentiles['unlike']:g}th percentile of the validation split ({thresholds['unlike']:.3g}). The "
            "model has not learned inputs like this one; its verdict and probabilities are not meaningful here.")
    return record


def not_assessed(reason: str) -> dict[str, Any]:
    """The familiarity record of a model without a reference."""
    return {"status": "not assessed", "score": None, "message": "", "reason": reason}
