"""Explanations: one registry of methods and one :func:`explain` call for all of them.

>>> explanation = explain(model, sample, "gradcam")            # explains the predicted class
>>> explanation.attribution.shape                               # (224, 224), signed, model-input space

Every method sees the model through ``model.class_view`` (one logit per class; a single-logit model becomes
``[0, z]``), so "explain class k" means the same in every library.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from xaiscope.explainers.base import (
    AttributionResult,
    ExplanationError,
    ExplanationStopped,
    Method,
    Param,
    ProgressCallback,
    counting_calls,
    unnormalise,
)
from xaiscope.explainers.cam import CAM_METHODS
from xaiscope.explainers.gradient import GRADIENT_METHODS
from xaiscope.explainers.perturbation import PERTURBATION_METHODS
from xaiscope.inputs import Sample
from xaiscope.preprocessing import Window, window_input

__all__ = [
    "REGISTRY", "AttributionResult", "Explanation", "ExplanationError", "ExplanationStopped", "Method",
    "MethodChoice", "Param", "explain", "get_method", "methods",
]

#: Every method by name, in the order lists show them.
REGISTRY: dict[str, Method] = {cls.name: cls() for cls in (*CAM_METHODS, *GRADIENT_METHODS, *PERTURBATION_METHODS)}

_ALIASES = {"grad-cam": "gradcam", "gradcam++": "gradcampp", "grad-cam++": "gradcampp", "ig": "integrated_gradients",
            "integratedgradients": "integrated_gradients", "saliency": "smoothgrad", "kernelshap": "kernel_shap",
            "partition_shap": "shap", "guidedbackprop": "guided_backprop", "score-cam": "scorecam"}


def get_method(name: str) -> Method:
    """The registered method called ``name`` (case-insensitive; common spellings accepted).

    Raises:
        ExplanationError: unknown name; the message lists the methods.
    """
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in REGISTRY:
        raise ExplanationError(f"There is no explanation method called '{name}'.",
                               f"Methods: {', '.join(REGISTRY)} (`xaiscope methods` describes them).")
    return REGISTRY[key]


@dataclass(frozen=True)
class MethodChoice:
    """A method and whether it suits a given input kind and model (with the reason when it does not)."""

    method: Method
    available: bool
    reason: str = ""

    def describe(self) -> dict[str, Any]:
        return {**self.method.describe(), "available": self.available, "reason": self.reason}


def methods(modality: str | None = None, model: Any = None) -> list[MethodChoice]:
    """Every method, marked available or not for ``modality`` and ``model`` (either may be None)."""
    modality = modality or (model.card.modality if model is not None else None)
    choices = []
    for method in REGISTRY.values():
        reason = ""
        if modality is not None and modality not in method.modalities:
            reason = f"does not apply to {modality} inputs"
        elif model is not None:
            reason = method.unsuitable_reason(model) or ""
        choices.append(MethodChoice(method, not reason, reason))
    return choices


@dataclass(frozen=True)
class Explanation:
    """One method's explanation of one model input.

    Attributes:
        method, label, family: the method's registry name, display label and family.
        attribution: ``(H, W)`` float32 signed map in model-input space (positive = for ``target_class``).
        picture: ``(H, W, 3)`` uint8, the model-input picture that was explained (spectrogram or resized X-ray).
        target, target_class, target_probability: the explained class and its probability for this input.
        probabilities: every class's probability for this input.
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
        }


def explain(model: Any, sample: Sample, method: str, target: int | str | None = None, *, window: int | None = None,
            seed: int = 0, preset: str | None = None, progress: ProgressCallback | None = None,
            **params: Any) -> Explanation:
    """Explain ``model``'s answer on ``sample`` with ``method``.

    Args:
        model: a loaded :class:`~xaiscope.models.Model`.
        sample: an input of the model's modality.
        method: a registry name (see :func:`methods`).
        target: class index or name to explain; default the class the model predicts for this input.
        window: audio window to explain; default the window that decided the verdict (the only one for a short
            recording).
        seed: seed of every random source the method uses (same input + seed = same output).
        preset: a named parameter preset of the method (e.g. ``earlier-tool``).
        progress: ``progress(model_calls_done, model_calls_expected)``; it may raise
            :class:`ExplanationStopped` to stop the method.
        **params: the method's parameters (see ``Method.params``); text values are converted.

    Raises:
        ExplanationError: unknown method, parameter or class, or a method that does not suit the model.
    """
    chosen = get_method(method)
    if sample.modality not in chosen.modalities:
        raise ExplanationError(f"{chosen.label} does not apply to {sample.modality} inputs.",
                               "Run `xaiscope methods` to see the methods that do.")
    reason = chosen.unsuitable_reason(model)
    if reason:
        raise ExplanationError(f"{chosen.label} cannot explain {model.name}: {reason}.",
                               "Choose another method (`xaiscope methods --model NAME`).")
    values = chosen.resolve_params(params, preset)
    if window is None:
        window = (model.predict(sample).decisive_window or 0) if sample.modality == "audio" else 0
    try:
        model_input = window_input(sample, model.card.preprocessing, window)
    except IndexError as error:
        raise ExplanationError(f"{error}.", "Choose a window from the prediction's timeline.") from error
    inputs = model_input.tensor
    probabilities = model.probabilities(inputs)[0]
    target_index = _target_index(model, target, probabilities)
    expected = chosen.model_calls(model, values)
    spec = model.card.preprocessing
    picture = np.round(unnormalise(inputs, spec.mean, spec.std) * 255).astype(np.uint8)
    started = time.perf_counter()
    with model.lock, counting_calls(model.class_view, expected, progress) as calls:
        result = chosen.attribute(model, inputs, target_index, values, seed)
    seconds = time.perf_counter() - started
    attribution = np.nan_to_num(np.asarray(result.attribution, dtype=np.float32))
    return Explanation(
        method=chosen.name, label=chosen.label, family=chosen.family, attribution=attribution, picture=picture,
        target=target_index, target_class=model.classes[target_index],
        target_probability=float(probabilities[target_index]),
        probabilities={name: round(float(p), 6) for name, p in zip(model.classes, probabilities, strict=True)},
        params=values, seed=seed, model_calls=calls[0], expected_model_calls=expected, seconds=seconds,
        model=model.name, input=sample.describe(), window=model_input.windows[0] if model_input.windows else None,
        extras=dict(result.extras))


def _target_index(model: Any, target: int | str | None, probabilities: torch.Tensor) -> int:
    if target is None:
        return int(torch.argmax(probabilities))
    if isinstance(target, str) and not target.isdigit():
        if target not in model.classes:
            raise ExplanationError(f"'{target}' is not a class of {model.name}.",
                                   f"Its classes are: {', '.join(model.classes)}.")
        return model.classes.index(target)
    index = int(target)
    if not 0 <= index < len(model.classes):
        raise ExplanationError(f"Class index {index} does not exist for {model.name}.",
                               f"Use 0..{len(model.classes) - 1} or a name: {', '.join(model.classes)}.")
    return index
