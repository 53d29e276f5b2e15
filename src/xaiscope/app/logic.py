"""What the app does, without Streamlit: caches shared by every session, agreement between methods.

Kept apart from the page code so it is shared by every session of a server and tested directly.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from xaiscope.caching import LruCache
from xaiscope.explainers import Explanation, explain
from xaiscope.inputs.sample import AudioSample, Modality, Sample
from xaiscope.models.model import Model, Prediction
from xaiscope.plugins import ProgressCallback


class ExplanationCache(LruCache[Explanation]):
    """Explanations keyed by everything that determines one.

    The key holds the input's SHA-256, the model's name and weights file (path and modification time), the
    method, its parameters, the seed, the target and the audio window: the same request a second time is
    served from memory.
    """

    @staticmethod
    def key(model: Model, sample: Sample, method: str, params: dict[str, Any], seed: int, target: int | None,
            window: int | None) -> tuple[Any, ...]:
        weights = model.weights_path
        stamp = (str(weights), weights.stat().st_mtime) if weights is not None and weights.exists() else (id(model),)
        return (sample.sha256, model.name, stamp, model.precision, method, tuple(sorted(params.items())), seed, target,
                window)


def cached_explain(cache: ExplanationCache, model: Model, sample: Sample, method: str, params: dict[str, Any], *,
                   seed: int = 0, target: int | None = None, window: int | None = None,
                   progress: ProgressCallback | None = None) -> tuple[Explanation, bool]:
    """:func:`~xaiscope.explainers.explain` through ``cache``; returns the explanation and whether it was cached."""
    key = cache.key(model, sample, method, params, seed, target, window)
    found = cache.get(key)
    if found is not None:
        return found, True
    explanation = explain(model, sample, method, target, window=window, seed=seed, progress=progress, **params)
    cache.put(key, explanation)
    return explanation, False


#: The server's caches, shared by every session (a Streamlit server is one process). Streamlit reruns the page on
#: every widget change, so decoded inputs, predictions and pictures are kept too: moving a slider must not decode,
#: classify or draw a 10-minute recording again.
EXPLANATIONS = ExplanationCache(capacity=96)
FILES: LruCache[dict[str, bytes]] = LruCache(capacity=96)
SAMPLES: LruCache[Sample] = LruCache(capacity=16)
PREDICTIONS: LruCache[Prediction] = LruCache(capacity=32)
PICTURES: LruCache[np.ndarray] = LruCache(capacity=16)


def cached_sample(data: bytes, name: str, modality: Modality) -> Sample:
    """:func:`~xaiscope.inputs.load_input` of uploaded or bundled bytes, decoded once per content."""
    import hashlib

    from xaiscope.inputs import load_input

    key = (hashlib.sha256(data).hexdigest(), name, modality)
    sample = SAMPLES.get(key)
    if sample is None:
        sample = load_input(data, name=name, modality=modality)
        SAMPLES.put(key, sample)
    return sample


def cached_prediction(model: Model, sample: Sample, progress: ProgressCallback | None = None) -> Prediction:
    """``model.predict(sample)``, computed once per input and model weights."""
    key = ExplanationCache.key(model, sample, "predict", {}, 0, None, None)
    prediction = PREDICTIONS.get(key)
    if prediction is None:
        prediction = model.predict(sample, progress=progress)
        PREDICTIONS.put(key, prediction)
    return prediction


def cached_recording_picture(sample: AudioSample) -> np.ndarray:
    """The whole-recording spectrogram shown above the verdict, drawn once per input."""
    from xaiscope.preprocessing import AudioSpec
    from xaiscope.views.audio import recording_picture

    picture = PICTURES.get((sample.sha256,))
    if picture is None:
        picture = recording_picture(sample, AudioSpec())
        PICTURES.put((sample.sha256,), picture)
    return picture

def rank_agreement(explanations: list[Explanation], size: int = 56) -> dict[tuple[str, str], float]:
    """Spearman rank correlation between each pair of maps, compared at ``size`` x ``size``.

    Returns:
        ``{(label_a, label_b): rho}`` for every pair, in the given order; NaN (undefined) when either map is
        constant (see :mod:`xaiscope.maps.similarity`).
    """
    from xaiscope.maps import rank_correlation
    from xaiscope.views.overlay import resize_map

    small = {e.label: resize_map(e.attribution, size, size) for e in explanations}
    return {(first, second): rank_correlation(small[first], small[second]) for first, second in combinations(small, 2)}
