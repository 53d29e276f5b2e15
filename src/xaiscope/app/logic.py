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
    """Spearman rank correlation between each pair of maps.

    Recordings are compared on the time-frequency plane (every map there, whatever its model or method), over the
    frames that both maps' windows cover (two models may explain different windows); otherwise maps are compared
    at ``size`` x ``size`` in model-input space. Maps are named by method label, prefixed by the model's name when
    several models are compared.

    Returns:
        ``{(name_a, name_b): rho}`` for every pair, in the given order; NaN (undefined) when either map is
        constant, or when two recordings' windows share no frame (see :mod:`xaiscope.maps.similarity`).
    """
    from xaiscope.maps import rank_correlation
    from xaiscope.views.overlay import resize_map

    several = len({e.model for e in explanations}) > 1
    names = [f"{e.model} · {e.label}" if several else e.label for e in explanations]
    by_name = dict(zip(names, explanations, strict=True))
    on_plane = all(e.plane is not None for e in explanations) and len({e.plane.grid for e in explanations
                                                                         if e.plane is not None}) == 1

    def agreement(first: Explanation, second: Explanation) -> float:
        if on_plane and first.plane is not None and second.plane is not None:
            shared = np.intersect1d(np.round(first.plane.times, 6), np.round(second.plane.times, 6))
            if len(shared) == 0:
                return float("nan")
            return rank_correlation(*(plane.values[:, np.isin(np.round(plane.times, 6), shared)]
                                      for plane in (first.plane, second.plane)))
        return rank_correlation(resize_map(first.attribution, size, size), resize_map(second.attribution, size, size))

    return {(a, b): agreement(by_name[a], by_name[b]) for a, b in combinations(names, 2)}
