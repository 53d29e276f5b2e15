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
from xaiscope.inputs.sample import AudioSample, Sample
from xaiscope.models.model import Model
from xaiscope.plane.grid import PlaneGrid, PlaneMap
from xaiscope.plane.project import to_plane
from xaiscope.plugins import CallMeter, ProgressCallback, parse_target
from xaiscope.preprocessing import Window, window_clip, window_input
from xaiscope.preprocessing.codec import codec_for
from xaiscope.preprocessing.spec import AudioSpec, FeaturesSpec, PreprocessingSpec, WaveformSpec


@dataclass(frozen=True)
class Explanation:
    """One method's explanation of one model input.

    Attributes:
        method, label, family: the method's registry name, display label and family.
        attribution: float32 signed map (positive = for ``target_class``) in the method's ``space``: ``input``, the
            model-input space: ``(H, W)`` for pictures and gray X-rays, the features matrix, or ``(1, n_samples)``
            over time for a waveform model; ``plane``: ``(n_bands, n_frames)`` on the time-frequency plane.
        space: ``input`` or ``plane`` (see ``attribution``).
        plane: for a recording, the map on the time-frequency plane (:class:`~xaiscope.plane.PlaneMap`; computed
            there, or carried there from the model's input space), None when the model's input has no stated
            geometry (an unknown feature extractor) and for X-rays.
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
    space: str = "input"
    plane: PlaneMap | None = None

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
            "attribution_shape": list(self.attribution.shape), "space": self.space,
            "plane": None if self.plane is None else {**self.plane.grid.describe(), "origin": self.plane.origin,
                                                      "start_s": self.plane.start_s,
                                                      "real_end_s": round(self.plane.real_end_s, 4)},
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
        clip = _clip(sample, spec, window) if isinstance(sample, AudioSample) else None
        if chosen.takes == "recording":
            if clip is None:
                raise ExplanationError("This method explains recordings, and the input is not one.",
                                       "Choose a method for the input's kind (`xaiscope methods --model NAME`).")
            inputs = torch.from_numpy(clip[0])[None]
        known = model.window_probabilities(prediction, window) if prediction is not None else None
        probabilities = (torch.tensor([known[name] for name in model.classes]) if known is not None
                         else model.calibrated(model.probabilities(model_input.tensor))[0])
        target_index = parse_target(model.classes, target, model.name, lambda: int(probabilities.argmax()),
                                    ExplanationError)
        started = time.perf_counter()
        meter = CallMeter(expected, progress)
        with meter.watch(model.class_view):
            result = chosen.attribute(model, inputs, target_index, values, seed)
        seconds = time.perf_counter() - started
    picture = np.round(codec_for(spec).to_picture(model_input.tensor) * 255).astype(np.uint8)
    attribution = np.nan_to_num(np.asarray(result.attribution, dtype=np.float32))
    plane = _on_plane(attribution, result.space, spec, clip) if clip is not None else None
    return Explanation(
        method=chosen.name, label=chosen.label, family=chosen.family, attribution=attribution, picture=picture,
        target=target_index, target_class=model.classes[target_index],
        target_probability=float(probabilities[target_index]),
        probabilities={name: round(float(p), 6) for name, p in zip(model.classes, probabilities, strict=True)},
        params={**values, **result.extras.get("resolved_params", {})}, seed=seed, model_calls=meter.done,
        expected_model_calls=expected, seconds=seconds,
        model=model.name, input=sample.describe(), window=model_input.windows[0] if model_input.windows else None,
        extras={key: value for key, value in result.extras.items() if key != "resolved_params"}, space=result.space,
        plane=plane)


def _clip(sample: AudioSample, spec: PreprocessingSpec, window: int) -> tuple[np.ndarray, int, Window] | None:
    """The analysed audio window as the model hears it: ``(n,)`` float32 at the spec's rate, its real length, its
    window (see :func:`~xaiscope.preprocessing.window_clip`); None for a spec that takes no recording. Cut once per
    explanation: the method (when it takes the recording) and the plane share it."""
    if not isinstance(spec, AudioSpec | WaveformSpec | FeaturesSpec):
        return None
    return window_clip(sample, spec, window)


def _on_plane(attribution: np.ndarray, space: str, spec: PreprocessingSpec,
              cut: tuple[np.ndarray, int, Window]) -> PlaneMap | None:
    """The map on the time-frequency plane of the explained window (see :attr:`Explanation.plane`)."""
    clip, real, span = cut
    grid = PlaneGrid.for_rate(spec.sample_rate)  # type: ignore[union-attr]
    if space == "plane":
        values, origin = attribution, "plane"
    else:
        projected, origin = to_plane(attribution, spec, grid, len(clip), span.start_s)
        if projected is None:
            return None
        values = projected
    return PlaneMap(values=np.asarray(values, np.float32), grid=grid, start_s=span.start_s, clip=clip,
                    real_end_s=span.start_s + real / grid.sample_rate, background_db=grid.band_db(clip), origin=origin)
