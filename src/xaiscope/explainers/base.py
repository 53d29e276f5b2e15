"""The explainer plug-in point: :class:`Method` (a :class:`~xaiscope.plugins.Plugin`) and what it returns.

A method declares, as class attributes where it is defined, its name, family, the modalities it suits, its
parameters (the CLI and the app are generated from them), its presets and the library behind it;
:meth:`Method.model_calls` says how many images it will push through the model before it runs, and
:meth:`Method.attribute` does the work on one model-input image.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from xaiscope.errors import ExplanationError, ExplanationStopped, XaiscopeError
from xaiscope.plugins import Param, Plugin

if TYPE_CHECKING:
    import torch
    from torch import nn

    from xaiscope.models.model import Model

__all__ = ["AttributionResult", "ExplanationError", "ExplanationStopped", "Family", "Method", "Param",
           "channel_sum", "without_inplace_activations"]

#: ``control`` holds the ``random`` map: the chance level every real method should beat in an evaluation.
Family = Literal["cam", "gradient", "perturbation", "control"]


@dataclass(frozen=True)
class AttributionResult:
    """What :meth:`Method.attribute` returns.

    Attributes:
        attribution: float32, signed, in model-input space (positive = for the target class): ``(H, W)`` for pictures
            and gray X-rays, the ``(A, B)`` matrix for features, ``(1, n_samples)`` over time for waveforms.
        extras: method-specific arrays for the views, e.g. ``segments`` (``(H, W)`` int superpixel labels); under
            ``resolved_params``, the values a parameter such as ``auto`` took (they replace it in the record).
        space: ``input`` (the shapes above) or ``plane``: ``(n_bands, n_frames)`` on the time-frequency plane of
            the model's sample rate (:class:`~xaiscope.plane.PlaneGrid`), row 0 the lowest band.
    """

    attribution: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)
    space: Literal["input", "plane"] = "input"


class Method(Plugin):
    """Base of every explanation method. Subclasses set the class attributes and implement :meth:`attribute`.

    Attributes:
        family: ``cam``, ``gradient``, ``perturbation`` or ``control``.
        seeded: True when the method draws random numbers (from the ``seed`` it is given).
        reduced_precision_ok: True when the method's maps stay faithful at the model's reduced precision (bf16,
            fp16): rank correlation >= 0.95 with the fp32 map and deletion-AUC difference <= 0.02, as measured by
            ``benchmarks/explain_speed.py``. Otherwise it runs at fp32 whatever the model's policy. Either way the
            explanation's record states the precision used (``extras["precision"]``).
    """

    family: ClassVar[Family]
    seeded: ClassVar[bool] = False
    #: What :meth:`attribute` receives as ``inputs``: one row of ``model`` input, or (``recording``) the analysed
    #: audio window itself, ``(1, n_samples)`` at the model's sample rate, padded as the model hears it.
    takes: ClassVar[Literal["model input", "recording"]] = "model input"
    reduced_precision_ok: ClassVar[bool] = False
    error: ClassVar[type[XaiscopeError]] = ExplanationError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every :meth:`attribute` a subclass defines runs under the model's precision policy (see
        :func:`_under_precision_policy`), so no method can forget it."""
        super().__init_subclass__(**kwargs)
        if "attribute" in cls.__dict__:
            cls.attribute = _under_precision_policy(cls.__dict__["attribute"])  # type: ignore[method-assign,assignment]

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        """How many images this method will pass through the model with ``params``."""
        raise NotImplementedError

    def output_space(self, model: Model) -> Literal["input", "plane"]:
        """Where this method's maps of ``model`` lie: ``input`` (model-input space) or ``plane`` (the
        time-frequency plane; see :class:`AttributionResult`)."""
        return "plane" if self.takes == "recording" else "input"

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        """Explain class ``target`` for one image.

        Args:
            model: the :class:`~xaiscope.models.Model`; use ``model.class_view`` (one logit per class).
            inputs: one row of model input (``(1, 3, H, W)`` normalised picture, ``(1, 1, H, W)`` gray X-ray,
                ``(1, A, B)`` features, ``(1, n)`` waveform; see ``model.input_kind``).
            target: class index to explain.
            params: validated parameters (every declared one present).
            seed: seed of every random source the method uses.
        """
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """JSON-ready metadata."""
        return {**super().describe(), "family": self.family, "seeded": self.seeded,
                "reduced_precision_ok": self.reduced_precision_ok}


_Attribute = Callable[["Method", "Model", "torch.Tensor", int, dict[str, Any], int], AttributionResult]


def _under_precision_policy(attribute: _Attribute) -> _Attribute:
    """Wrap a method's ``attribute`` so that its forward passes run under ``model.forward_precision`` (reduced only
    when the method declares :attr:`Method.reduced_precision_ok`), its input is laid out as the policy wants
    (channels_last for pictures), and the precision used lands in ``extras["precision"]``."""

    @functools.wraps(attribute)
    def attribute_under_policy(self: Method, model: Model, inputs: torch.Tensor, target: int,
                               params: dict[str, Any], seed: int) -> AttributionResult:
        with model.forward_precision(self.reduced_precision_ok) as policy:
            result = attribute(self, model, model.prepare_inputs(inputs), target, params, seed)
        return replace(result, extras={**result.extras, "precision": policy.precision})

    return attribute_under_policy


#: What every gradient or CAM method says about a black box, unless the model gives its own reason.
NEEDS_PYTORCH = "runs as a black box: gradient and CAM methods need PyTorch"


def _inplace_types() -> tuple[type[nn.Module], ...]:
    """The activation modules with an ``inplace`` flag (built on first use: listing methods imports no torch)."""
    from torch import nn

    return (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh)


@contextlib.contextmanager
def without_inplace_activations(network: nn.Module) -> Iterator[None]:
    """Switch in-place activations off while hooks are attached, and restore them afterwards.

    In-place ReLUs (DenseNet, ResNet, MobileNet) overwrite the tensors that hooks saved, which breaks gradient
    hooks and guided backpropagation in several libraries. The flag only changes memory use, not results.
    """
    switched: list[Any] = [module for module in network.modules() if isinstance(module, _inplace_types())
                           and getattr(module, "inplace", False)]
    for module in switched:
        module.inplace = False
    try:
        yield
    finally:
        for module in switched:
            module.inplace = True


def channel_sum(attribution: torch.Tensor) -> np.ndarray:
    """An input-shaped attribution -> the explanation's map, float32, sign kept.

    ``(1, C, H, W)`` pictures and gray X-rays -> ``(H, W)`` summed over channels; ``(1, A, B)`` features -> the
    ``(A, B)`` matrix; ``(1, n)`` waveforms -> ``(1, n)``, one value per sample (a map over time).
    """
    values = attribution.detach().float()
    if values.ndim == 4:
        values = values.sum(dim=1)[0]
    elif values.ndim == 3:
        values = values[0]
    return values.cpu().numpy().astype(np.float32)
