"""The metric plug-in point: :class:`Metric`, the :class:`Case` it scores and the :class:`MetricValue` it returns.

A metric declares, as class attributes where it is defined, its name, label, category, which direction is better,
the modalities it applies to, whether it needs ground truth, its parameters (:class:`~xaiscope.explainers.base.Param`,
the same declarations the explainers use, so the CLI and the app are generated from them), the library behind it and
its cost in model calls (:meth:`Metric.model_calls`). :meth:`Metric.compute` scores one explanation of one input.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from xaiscope.errors import XaiscopeError
from xaiscope.explainers.base import ExplanationError, ExplanationStopped, Method, Param

Category = Literal["faithfulness", "randomisation", "localisation", "robustness", "complexity", "shortcut"]
Direction = Literal["higher", "lower"]
ProgressCallback = Callable[[int, int], None]

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


class EvaluationError(XaiscopeError):
    """An evaluation cannot run with these settings (unknown metric, bad parameter, unusable ground truth)."""


class CallMeter:
    """Counts the images pushed through any watched module and reports ``progress(done, expected)``.

    The callback may raise :class:`~xaiscope.explainers.base.ExplanationStopped` to stop the evaluation between two
    forward passes. Hooks are attached only inside :meth:`watch` and always removed.
    """

    def __init__(self, expected: int = 0, progress: ProgressCallback | None = None) -> None:
        self.done = 0
        self.expected = expected
        self.progress = progress

    def add(self, count: int) -> None:
        """Record ``count`` images and report progress."""
        self.done += count
        if self.progress is not None:
            self.progress(self.done, max(self.expected, self.done))

    @contextlib.contextmanager
    def watch(self, module: nn.Module) -> Iterator[CallMeter]:
        """Count the batch size of every forward call of ``module`` while the block runs."""

        def hook(_module: nn.Module, inputs: tuple[Any, ...]) -> None:
            first = inputs[0] if inputs else None
            self.add(int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else 1)

        handle = module.register_forward_pre_hook(hook)
        try:
            yield self
        finally:
            handle.remove()


@dataclass
class Case:
    """One explanation of one model input, with everything a metric may need to score it.

    Attributes:
        model: the :class:`~xaiscope.models.Model` (shared: metrics never modify it; they copy it).
        sample: the input the explanation is of.
        method: the explainer (a registry :class:`~xaiscope.explainers.base.Method` or the ``random`` control).
        method_params: the method's resolved parameters.
        inputs: ``(1, 3, S, S)`` float32, the normalised model input that was explained.
        attribution: ``(S, S)`` float32 signed map (positive = for ``target``).
        target: the explained class index.
        seed: seed of every random source.
        window_index: the explained audio window (0 for an X-ray).
        region: ``(S, S)`` bool ground truth in model-input space, or None.
        meter: counts model calls (progress, stop).
    """

    model: Any
    sample: Any
    method: Method
    method_params: dict[str, Any]
    inputs: torch.Tensor
    attribution: np.ndarray
    target: int
    seed: int
    window_index: int = 0
    region: np.ndarray | None = None
    meter: CallMeter = field(default_factory=CallMeter)

    def reattribute(self, model: Any = None, inputs: torch.Tensor | None = None, target: int | None = None,
                    ) -> np.ndarray:
        """The same method's ``(S, S)`` map for another model (e.g. a randomised copy), input or class.

        Model calls on ``model`` are counted by :attr:`meter`.
        """
        model = self.model if model is None else model
        with self.meter.watch(model.class_view):
            result = self.method.attribute(model, self.inputs if inputs is None else inputs,
                                           self.target if target is None else target, self.method_params, self.seed)
        return np.nan_to_num(np.asarray(result.attribution, dtype=np.float32))

    def probabilities(self, inputs: torch.Tensor, batch_size: int = 32) -> np.ndarray:
        """``(N, 3, S, S)`` -> ``(N, n_classes)`` class probabilities, in batches (counted)."""
        rows = []
        with self.meter.watch(self.model.class_view):
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
    """

    values: dict[str, float]
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


class Metric:
    """Base of every metric. Subclasses set the class attributes and implement :meth:`compute`.

    Attributes:
        name, label, summary: registry name, display label and one line on what the score means.
        category: faithfulness, randomisation, localisation, robustness, complexity or shortcut.
        direction: ``higher`` or ``lower`` is better (for every output).
        outputs: the scores it produces (columns of the table), e.g. ``("spearman", "ssim")``.
        modalities: input kinds it applies to.
        needs_ground_truth: True when it scores against a lesion mask or a fake interval.
        params: declared parameters.
        library: who computes it (``xaiscope`` or ``quantus``).
        quantus: the Quantus metric it matches (compared in the tests), or ``""``.
        reference: the paper it follows.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    summary: ClassVar[str]
    category: ClassVar[Category]
    direction: ClassVar[Direction]
    outputs: ClassVar[tuple[str, ...]] = ("score",)
    modalities: ClassVar[tuple[str, ...]] = ("audio", "xray")
    needs_ground_truth: ClassVar[bool] = False
    params: ClassVar[tuple[Param, ...]] = ()
    library: ClassVar[str] = "xaiscope"
    quantus: ClassVar[str] = ""
    reference: ClassVar[str] = ""

    def model_calls(self, model: Any, method: Method, method_params: dict[str, Any], params: dict[str, Any]) -> int:
        """Images this metric pushes through the model for one explanation (the explanation itself excluded)."""
        return 0

    def compute(self, case: Case, params: dict[str, Any]) -> MetricValue:
        """Score ``case`` with resolved ``params``."""
        raise NotImplementedError

    def applies(self, modality: str, has_ground_truth: bool) -> str | None:
        """Why this metric does not apply (None when it does)."""
        if modality not in self.modalities:
            return f"applies to {'/'.join(self.modalities)} inputs only"
        if self.needs_ground_truth and not has_ground_truth:
            return "needs ground truth (a lesion mask or a fake interval) for this input"
        return None

    def resolve_params(self, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults overridden by ``given`` (text values converted and range-checked).

        Raises:
            EvaluationError: unknown parameter or bad value.
        """
        declared = {param.name: param for param in self.params}
        values = {name: param.default for name, param in declared.items()}
        for name, value in given.items():
            if name not in declared:
                raise EvaluationError(f"Metric {self.name} has no parameter '{name}'.",
                                      f"Its parameters are: {', '.join(declared) or 'none'}.")
            try:
                values[name] = declared[name].coerce(value, self.name)
            except ExplanationError as error:
                raise EvaluationError(error.problem, error.hint) from error
        return values

    def describe(self) -> dict[str, Any]:
        """JSON-ready metadata (``xaiscope metrics --json`` and the app)."""
        return {"name": self.name, "label": self.label, "summary": self.summary, "category": self.category,
                "direction": self.direction, "outputs": list(self.outputs), "modalities": list(self.modalities),
                "needs_ground_truth": self.needs_ground_truth, "library": self.library, "quantus": self.quantus,
                "reference": self.reference, "params": [param.describe() for param in self.params]}


def positive_part(attribution: np.ndarray) -> np.ndarray:
    """``(H, W)`` -> float64 map with negative values set to 0 (the evidence *for* the explained class)."""
    return np.clip(np.asarray(attribution, dtype=np.float64), 0.0, None)
