"""One :func:`explain` call for every method, and the :class:`Explanation` it returns.

>>> explanation = explain(model, sample, "gradcam")            # explains the predicted class
>>> explanation.attribution.shape                               # (224, 224), signed, model-input space

Every method sees the model through ``model.class_view`` (one logit per class; a single-logit model ``z`` becomes
the two logits ``[-z/2, z/2]``, whose softmax is ``[1 - sigmoid(z), sigmoid(z)]``; a multi-label model's label k is
``z_k / 2``, the "present" logit of its own two-logit view), so "explain class k" means the same in every library.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from xaiscope.errors import ExplanationError
from xaiscope.explainers.registry import get_method
from xaiscope.inputs.sample import Sample
from xaiscope.models.model import Model
from xaiscope.plugins import CallMeter, ProgressCallback, parse_target
from xaiscope.preprocessing import Window, window_input
from xaiscope.preprocessing.codec import codec_for


@dataclass(frozen=True)
class Explanation:
    """One method's explanation of one model input.

    Attributes:
        method, label, family: the method's registry name, display label and family.
        attribution: float32 signed map in model-input space (positive = for ``target_class``): ``(H, W)`` for
            pictures and gray X-rays, the features matrix, or ``(1, n_samples)`` over time for a waveform model.
        picture: ``(H, W, 3)`` uint8, the model input seen as a picture (spectrogram, resized X-ray, the scaled
            features matrix; for a waveform a ``(1, n_samples, 3)`` strip of its absolute amplitude).
        target, target_class, target_probability: the explained class and its probability for this input.
        probabilities: every class's probability for this input (calibrated as the verdict is, when the card
            holds a temperature).
        params: the parameters used (defaults filled in); ``seed``: the seed of every random source.
        model_calls: images actually passed through the model; ``expected_model_calls``: declared beforehand.
        seconds: wall time of the method.
        model: model name; ``input``: the sample's description; ``window``: the explained audio window.
        extras: method-specific data for views (e.g. ``segments``).
    """

    method: str
    label: str
    family: str
    attribution: np.ndarray
    picture: np.ndarray
    target: int
    target_class: str
    target_probability: float
    probabilities: dict[str, float]
    params: dict[str, Any]
    seed: int
    model_calls: int
    expected_model_calls: int
    seconds: float
    model: str
    input: dict[str, Any]
    window: Window | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """JSON-ready record (no arrays)."""
        return {
            "method": self.method, "label": self.label, "family": self.family, "model": self.model,
            "input": self.input, "target": self.target, "target_class": self.target_class,
            "target_probability": round(self.target_probability, 6), "probabilities": self.probabilities,
            "params": self.params, "seed": self.seed, "model_calls": self.model_calls,
            "expected_model_calls": self.expected_model_calls, "seconds": round(self.seconds, 4),
            "window": None if self.window is None else {"index": self.window.index, "start_s": self.window.start_s,
                                                        "end_s": self.window.end_s},
            "attribution_shape": list(self.attribution.shape),
            "precision": self.extras.get("precision", "fp32"),
        }


def explain(model: Model, sample: Sample, method: str, target: int | str | None = None, *, window: int | None = None,
            seed: int = 0, preset: str | None = None, progress: ProgressCallback | None = None,
            **params: Any) -> Explanation:
    """Explain ``model``'s answer on ``sample`` with ``method``.

    Every forward pass (finding the decisive window, the probabilities, the method's own calls) runs under
    ``model.lock``, so a model shared by several threads never runs one caller's input through another caller's
    hooks, and ``model_calls`` counts this explanation's calls only. Nothing is computed twice: the verdict comes from
    the model's prediction of this content (computed here only if it is not known yet), the window's input from the
    per-content cache, so a CAM method costs its one forward pass.

    Args:
        model: a loaded :class:`~xaiscope.models.Model`.
        sample: an input of the model's modality.
        method: a registry name (see :func:`~xaiscope.explainers.methods`).
        target: class index or name to explain; default the class the model predicts for this input.
        window: audio window to explain; default the window that decided the verdict (the only one for a short
            recording).
        seed: seed of every random source the method uses (same input + seed = same output).
        preset: a named parameter preset of the method (e.g. ``earlier-tool``).
        progress: ``progress(model_calls_done, model_calls_expected)``; it may raise
            :class:`~xaiscope.errors.ExplanationStopped` to stop the method.
        **params: the method's parameters (see ``Method.params``); text values are converted.

    Raises:
        ExplanationError: unknown method, parameter or class, or a method that does not suit the model.
    """
    chosen = get_method(method)
    reason = chosen.suits(model, sample.modality)
    if reason:
        raise ExplanationError(f"{chosen.label} cannot explain {sample.modality} input with {model.name}: {reason}.",
                               "Choose another method (`xaiscope methods --model NAME`).")
    values = chosen.resolve_params(params, preset)
    expected = chosen.model_calls(model, values)
    spec = model.card.preprocessing
    with model.lock:
        prediction = model.known_prediction(sample)
        if window is None:
            prediction = prediction or model.predict(sample)
            window = prediction.decisive_window or 0
        try:
            model_input = window_input(sample, spec, window)
        except IndexError as error:
            raise ExplanationError(f"{error}.", "Choose a window from the prediction's timeline.") from error
        inputs = model_input.tensor
        known = model.window_probabilities(prediction, window) if prediction is not None else None
        probabilities = (torch.tensor([known[name] for name in model.classes]) if known is not None
                         else model.calibrated(model.probabilities(inputs))[0])
        target_index = parse_target(model.classes, target, model.name, lambda: int(probabilities.argmax()),
                                    ExplanationError)
        started = time.perf_counter()
        meter = CallMeter(expected, progress)
        with meter.watch(model.class_view):
            result = chosen.attribute(model, inputs, target_index, values, seed)
        seconds = time.perf_counter() - started
    picture = np.round(codec_for(spec).to_picture(inputs) * 255).astype(np.uint8)
    attribution = np.nan_to_num(np.asarray(result.attribution, dtype=np.float32))
    return Explanation(
        method=chosen.name, label=chosen.label, family=chosen.family, attribution=attribution, picture=picture,
        target=target_index, target_class=model.classes[target_index],
        target_probability=float(probabilities[target_index]),
        probabilities={name: round(float(p), 6) for name, p in zip(model.classes, probabilities, strict=True)},
        params=values, seed=seed, model_calls=meter.done, expected_model_calls=expected, seconds=seconds,
        model=model.name, input=sample.describe(), window=model_input.windows[0] if model_input.windows else None,
        extras=dict(result.extras))
