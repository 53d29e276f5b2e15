"""What :meth:`xaiscope.models.Model.predict` asks of this package: checks, calibration and familiarity of a verdict.

``predict`` calls :func:`check_input` before the model runs, classifies inside :func:`watch` (which captures the
penultimate embeddings when the card has a familiarity reference), then :func:`assess` once. Nothing here
changes which class is predicted: the temperature keeps the order of the probabilities, and a flagged input
still gets its verdict, with the warning.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xaiscope.errors import XaiscopeError
from xaiscope.inputs.sample import AudioSample, Sample, XraySample
from xaiscope.preprocessing.spec import AudioSpec
from xaiscope.trust.audio_checks import check_audio
from xaiscope.trust.calibration import apply_temperature
from xaiscope.trust.checks import Check
from xaiscope.trust.embeddings import penultimate_features
from xaiscope.trust.familiarity import Reference, combine_window_scores, describe, not_assessed

_REFERENCES: weakref.WeakKeyDictionary[Any, Reference] = weakref.WeakKeyDictionary()
_REFERENCES_LOCK = threading.Lock()


def check_input(sample: Sample, card: Any) -> list[Check]:
    """The cheap input checks of ``sample`` against the card's ``input_range`` (run before the model)."""
    if isinstance(sample, AudioSample):
        spec = card.preprocessing
        return check_audio(sample, card.input_range, spec if isinstance(spec, AudioSpec) else None)
    if isinstance(sample, XraySample):
        from xaiscope.trust.xray_checks import check_xray

        return check_xray(sample, card.input_range)
    return []


def reference_path(model: Any) -> Path | None:
    """Where the model's familiarity sidecar lives (beside its weights), or None without a reference."""
    entry = model.card.familiarity
    if not entry or model.weights_path is None:
        return None
    return Path(model.weights_path).parent / str(entry["reference"])


def load_reference(model: Any) -> Reference:
    """The model's reference, read once per loaded model.

    Raises:
        CardError: the sidecar is missing, unreadable or not the one the card was written with.
    """
    with _REFERENCES_LOCK:
        found = _REFERENCES.get(model)
        if found is None:
            path = reference_path(model)
            if path is None:
                raise XaiscopeError(f"Model '{model.name}' has no familiarity reference.",
                                    "Compute one with `xaiscope calibrate MODEL DATA`.")
            found = Reference.load(path, model.card.familiarity.get("sha256"))
            _REFERENCES[model] = found
        return found


@contextmanager
def watch(model: Any) -> Iterator[list[torch.Tensor] | None]:
    """Capture the embeddings of the forward passes inside the block when the card has a familiarity reference.

    Yields:
        A list of ``(N, D)`` tensors (one per forward pass), or None when familiarity is not assessed.
    """
    if not model.card.familiarity:
        yield None
        return
    with penultimate_features(model) as captured:
        yield captured


@dataclass
class Assessment:
    """How far a verdict can be trusted, as ``predict`` reports it.

    Attributes:
        probabilities: ``(C,)`` the verdict's probabilities, calibrated when the card has a temperature.
        window_probabilities: ``(W, C)`` the same for each window.
        calibrated: ``{"method", "temperature", "uncalibrated": {class: p}}``, or None when uncalibrated.
        familiarity: the record of :func:`xaiscope.trust.familiarity.describe` (or ``not assessed``).
        checks: the input checks.
        warnings: every sentence a person must read with the verdict (failed checks, then familiarity).
    """

    probabilities: np.ndarray
    window_probabilities: np.ndarray
    calibrated: dict[str, Any] | None
    familiarity: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def assess(model: Any, checks: list[Check], window_probabilities: torch.Tensor, combined: torch.Tensor,
           decisive: int | None, captured: list[torch.Tensor] | None) -> Assessment:
    """Calibrate the verdict and judge its familiarity.

    Args:
        model: the :class:`~xaiscope.models.Model` that classified.
        checks: from :func:`check_input`.
        window_probabilities: ``(W, C)`` uncalibrated window probabilities.
        combined: ``(C,)`` the uncalibrated verdict (the card's aggregation of the windows).
        decisive: the window the verdict came from (``max`` aggregation), else None.
        captured: the embeddings from :func:`watch` (``W`` rows in all), or None.
    """
    card = model.card
    windows = window_probabilities.double().numpy()
    verdict = combined.double().numpy()[None]
    calibrated = None
    if card.calibration and card.calibration.get("temperature") and card.output_kind != "multi-label":
        temperature = float(card.calibration["temperature"])
        calibrated = {"method": "temperature scaling", "temperature": round(temperature, 4),
                      "fitted_on": card.calibration.get("fitted_on", ""),
                      "uncalibrated": {name: float(v) for name, v in zip(card.classes, verdict[0], strict=True)}}
        windows, verdict = apply_temperature(windows, temperature), apply_temperature(verdict, temperature)
    warnings = [check.message for check in checks if check.warns]
    if captured is None:
        familiarity = not_assessed("the model card has no familiarity reference (compute one with "
                                   "`xaiscope calibrate MODEL DATA`)")
    else:
        try:
            reference = load_reference(model)
            entry = card.familiarity
            scores = reference.scores(torch.cat(captured).numpy(), entry["method"])
            score, how = combine_window_scores(scores, decisive)
            familiarity = describe(entry, score, how, scores.tolist())
        except XaiscopeError as error:
            familiarity = not_assessed(error.problem)
            warnings.append(f"Familiarity could not be assessed: {error.problem} {error.hint}".strip())
    if familiarity.get("message"):
        warnings.append(familiarity["message"])
    return Assessment(probabilities=verdict[0], window_probabilities=windows, calibrated=calibrated,
                      familiarity=familiarity, checks=checks, warnings=warnings)
