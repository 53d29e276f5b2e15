"""The metric plug-in point: :class:`Metric`, the :class:`Case` it scores and the :class:`MetricValue` it returns.

A metric declares, as class attributes where it is defined, its name, label, category, which direction is better,
the modalities it applies to, whether it needs ground truth, its parameters (:class:`~xaiscope.plugins.Param`,
the same declarations the explainers use, so the CLI and the app are generated from them), the library behind it and
its cost in model calls (:meth:`Metric.model_calls`). :meth:`Metric.compute` scores one explanation of one input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import torch

from xaiscope.errors import EvaluationError, ExplanationStopped, XaiscopeError
from xaiscope.explainers.base import Method
from xaiscope.plane.grid import PlaneMap
from xaiscope.plugins import CallMeter, Param, Plugin

if TYPE_CHECKING:
    from xaiscope.inputs.sample import Modality, Sample
    from xaiscope.models.model import Model

Category = Literal["faithfulness", "randomisation", "localisation", "robustness", "complexity", "shortcut"]
Direction = Literal["higher", "lower"]

__all__ = [
    "CallMeter",
    "Case",
    "Category",
    "Direction",
    "EvaluationError",
    "ExplanationStopped",
    "Metric",
    "MetricValue",
    "Param",
]


@dataclass
class Case:
    """One explanation of one model input, with everything a metric may need to score it.

    Attributes:
        model: the :class:`~xaiscope.models.Model` (shared: metrics never modify it; they copy it).
        sample: the input the explanation is of.
        method: the explainer (a registry :class:`~xaiscope.explainers.base.Method`, the ``random`` control included).
        method_params: the method's resolved parameters.
        inputs: what the method explained: ``(1, 3, S, S)`` float32, the normalised model input, or for a method
            that takes the recording (``method.takes``) the window's samples ``(1, n)``.
        attribution: float32 signed map (positive = for ``target``), in ``space``: ``(S, S)`` in model-input
            space, ``(n_bands, n_frames)`` on the time-frequency plane.
        target: the explained class index.
        seed: seed of every random source.
        window_index: the explained audio window (0 for an X-ray).
        region: bool ground truth where localisation is scored: in model-input space for an X-ray, on the
            time-frequency plane ``(n_bands, n_frames)`` for a recording; or None.
        meter: counts model calls (progress, stop).
        space: ``input`` or ``plane``, where ``attribution`` lies.
        plane: for a recording, the map on the time-frequency plane (localisation is scored there for every
            audio model), else None.
    """

    model: Model
    sample: Sample | None
    method: Method
    method_params: dict[str, Any]
    inputs: torch.Tensor
    attribution: np.ndarray
    target: int
    seed: int
    window_index: int = 0
    region: np.ndarray | None = None
    meter: CallMeter = field(default_factory=CallMeter)
    space: str = "input"
    plane: PlaneMap | None = None

    def reattribute(self, model: Model | None = None, inputs: torch.Tensor | None = None, target: int | None = None,
                    ) -> np.ndarray:
        """The same method's ``(S, S)`` map for another model (e.g. a randomised copy), input or class.

        Model calls on ``model`` are counted by :attr:`meter`.
        """
        model = self.model if model is None else model
        with model.lock, self.meter.watch(model.class_view):
            result = self.method.attribute(model, self.inputs if inputs is None else inputs,
                                           self.target if target is None else target, self.method_params, self.seed)
        return np.nan_to_num(np.asarray(result.attribution, dtype=np.float32))

    def probabilities(self, inputs: torch.Tensor, batch_size: int = 32) -> np.ndarray:
        """``(N, 3, S, S)`` -> ``(N, n_classes)`` class probabilities, in batches (counted)."""
        rows = []
        with self.model.lock, self.meter.watch(self.model.class_view):
            for start in range(0, len(inputs), batch_size):
                rows.append(self.model.probabilities(inputs[start:start + batch_size]).numpy())
        return np.concatenate(rows).astype(np.float64)


@dataclass(frozen=True)
class MetricValue:
    """What :meth:`Metric.compute` returns.

    Attributes:
        values: output name -> score (NaN when undefined, e.g. an empty ground-truth region).
        curves: curve name -> ``(2, n)`` array of x (fraction of the input changed) and y (class probability).
        details: JSON-ready extras (e.g. per-layer similarities).
        not_applicable: why the score is undefined for this explanation (e.g. "the map is constant"), else "".
            Every value is then NaN, and the model calls the metric declared but did not need are not made.
    """

    values: dict[str, float]
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    not_applicable: str = ""

    @classmethod
    def undefined(cls, outputs: tuple[str, ...], reason: str) -> MetricValue:
        """NaN for every output, with the reason the score is not applicable."""
        return cls(dict.fromkeys(outputs, float("nan")), not_applicable=reason)


class Metric(Plugin):
    """Base of every metric (a :class:`~xaiscope.plugins.Plugin`). Subclasses set the class attributes and implement
    :meth:`compute`.

    Attributes:
        category: faithfulness, randomisation, localisation, robustness, complexity or shortcut.
        direction: ``higher`` or ``lower`` is better (for every output).
        outputs: the scores it produces (columns of the table), e.g. ``("spearman", "ssim")``.
        needs_ground_truth: True when it scores against a lesion mask or a fake interval.
        quantus: the Quantus metric it matches (compared in the tests), or ``""``.
        reference: the paper it follows.
        same_as: the metric whose score this one repeats by construction with the same parameters (``""`` when it
            carries its own information); default metric lists leave it out, and tables state the equivalence.
        same_as_why: why, in one sentence.
    """

    category: ClassVar[Category]
    direction: ClassVar[Direction]
    outputs: ClassVar[tuple[str, ...]] = ("score",)
    needs_ground_truth: ClassVar[bool] = False
    quantus: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    same_as: ClassVar[str] = ""
    same_as_why: ClassVar[str] = ""
    #: Where the maps it scores may lie: ``input`` (model-input space) and/or ``plane`` (the time-frequency plane).
    spaces: ClassVar[tuple[str, ...]] = ("input",)
    error: ClassVar[type[XaiscopeError]] = EvaluationError

    def model_calls(self, model: Model, method: Method, method_params: dict[str, Any], params: dict[str, Any]) -> int:
        """Images this metric pushes through the model for one explanation (the explanation itself excluded)."""
        return 0

    def compute(self, case: Case, params: dict[str, Any]) -> MetricValue:
        """Score ``case`` with resolved ``params``."""
        raise NotImplementedError

    def suits(self, model: Model | None = None, modality: Modality | str | None = None, *,
              has_ground_truth: bool | None = None, space: str | None = None) -> str | None:
        """Why this metric cannot score ``modality`` inputs of ``model`` (None when it can).

        Args:
            has_ground_truth: whether the input has ground truth (None: not known yet, not checked).
            space: where the map to score lies (``input`` or ``plane``; None: not checked).
        """
        reason = super().suits(model, modality)
        if reason is None and self.needs_ground_truth and has_ground_truth is False:
            reason = "needs ground truth (a lesion mask or a fake interval) for this input"
        if reason is None and space is not None and space not in self.spaces:
            reason = ("changes the model's input where the map is high, and this map lies on the time-frequency "
                      "plane, not on the model's input (scored for maps in model-input space only)")
        return reason

    def describe(self) -> dict[str, Any]:
        """JSON-ready metadata (``xaiscope metrics --json`` and the app)."""
        return {**super().describe(), "category": self.category, "direction": self.direction,
                "outputs": list(self.outputs), "needs_ground_truth": self.needs_ground_truth,
                "quantus": self.quantus, "reference": self.reference, "same_as": self.same_as,
                "same_as_why": self.same_as_why}


def positive_part(attribution: np.ndarray) -> np.ndarray:
    """``(H, W)`` -> float64 map with negative values set to 0 (the evidence *for* the explained class)."""
    return np.clip(np.asarray(attribution, dtype=np.float64), 0.0, None)
