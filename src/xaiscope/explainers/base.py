"""The explainer plug-in point: :class:`Method`, its declared :class:`Param` s, and the :class:`Explanation` it returns.

A method declares, as class attributes where it is defined, its name, family, the modalities it suits, its
parameters (type, default, range: the CLI and the app are generated from them), its presets and the library
behind it; :meth:`Method.model_calls` says how many images it will push through the model before it runs.
:meth:`Method.attribute` does the work on one model-input image.
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

Family = Literal["cam", "gradient", "perturbation"]
ProgressCallback = Callable[[int, int], None]


class ExplanationError(XaiscopeError):
    """An explanation cannot be computed with these settings (unknown method, bad parameter, unsuited model)."""


class ExplanationStopped(XaiscopeError):
    """The user stopped an explanation while it was running."""


@dataclass(frozen=True)
class Param:
    """One declared parameter of a method.

    Attributes:
        name: keyword name.
        kind: ``int``, ``float``, ``str`` or ``bool``.
        default: value used when none is given.
        help: one line for people.
        minimum, maximum: inclusive range for numbers.
        choices: allowed values for strings.
    """

    name: str
    kind: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def coerce(self, value: Any, method: str) -> Any:
        """Convert ``value`` (possibly text from a command line) to this parameter's type and check its range.

        Raises:
            ExplanationError: not convertible, out of range or not one of the choices.
        """
        try:
            if self.kind is bool and isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                converted: Any = lowered in ("true", "1", "yes")
            else:
                converted = self.kind(value)
        except (TypeError, ValueError) as error:
            wanted = {int: "a whole number", float: "a number", bool: "true or false"}.get(self.kind, "text")
            raise ExplanationError(f"{method}.{self.name} must be {wanted}, not {value!r}.",
                                   f"{self.help} Default: {self.default}.") from error
        if (self.minimum is not None and converted < self.minimum) or \
                (self.maximum is not None and converted > self.maximum):
            raise ExplanationError(f"{method}.{self.name}={converted} is outside [{self.minimum}, {self.maximum}].",
                                   f"{self.help} Default: {self.default}.")
        if self.choices is not None and converted not in self.choices:
            raise ExplanationError(f"{method}.{self.name}={converted!r} is not one of {list(self.choices)}.",
                                   f"{self.help} Default: {self.default!r}.")
        return converted

    def describe(self) -> dict[str, Any]:
        """JSON-ready form for ``xaiscope methods --json`` and the app."""
        return {"name": self.name, "type": self.kind.__name__, "default": self.default, "help": self.help,
                "minimum": self.minimum, "maximum": self.maximum,
                "choices": list(self.choices) if self.choices else None}


@dataclass(frozen=True)
class AttributionResult:
    """What :meth:`Method.attribute` returns.

    Attributes:
        attribution: shape ``(H, W)``, float32, signed, in model-input space (positive = for the target class).
        extras: method-specific arrays for the views, e.g. ``segments`` (``(H, W)`` int superpixel labels).
    """

    attribution: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)


class Method:
    """Base of every explanation method. Subclasses set the class attributes and implement :meth:`attribute`."""

    name: ClassVar[str]
    label: ClassVar[str]
    family: ClassVar[Family]
    library: ClassVar[str]
    summary: ClassVar[str]
    modalities: ClassVar[tuple[str, ...]] = ("audio", "xray")
    params: ClassVar[tuple[Param, ...]] = ()
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    seeded: ClassVar[bool] = False

    def unsuitable_reason(self, model: Any) -> str | None:
        """Why this method cannot explain ``model`` (None when it can)."""
        return None

    def model_calls(self, model: Any, params: dict[str, Any]) -> int:
        """How many images this method will pass through the model with ``params``."""
        raise NotImplementedError

    def attribute(self, model: Any, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        """Explain class ``target`` for one image.

        Args:
            model: the :class:`~xaiscope.models.Model`; use ``model.class_view`` (one logit per class).
            inputs: shape ``(1, 3, H, W)``, the normalised model input.
            target: class index to explain.
            params: validated parameters (every declared one present).
            seed: seed of every random source the method uses.
        """
        raise NotImplementedError

    def resolve_params(self, given: dict[str, Any], preset: str | None = None) -> dict[str, Any]:
        """Defaults, then the preset's values, then ``given``; every value coerced and range-checked.

        Raises:
            ExplanationError: unknown parameter or preset, or a bad value.
        """
        declared = {param.name: param for param in self.params}
        values = {name: param.default for name, param in declared.items()}
        if preset is not None:
            if preset not in self.presets:
                raise ExplanationError(f"{self.name} has no preset '{preset}'.",
                                       f"Presets: {', '.join(self.presets) or 'none'}.")
            values.update(self.presets[preset])
        for name, value in given.items():
            if name not in declared:
                raise ExplanationError(f"{self.name} has no parameter '{name}'.",
                                       f"Its parameters are: {', '.join(declared) or 'none'}.")
            values[name] = declared[name].coerce(value, self.name)
        self.check(values)
        return values

    def check(self, params: dict[str, Any]) -> None:
        """Refuse combinations of parameter values that cannot work together (raise :class:`ExplanationError`)."""

    def describe(self) -> dict[str, Any]:
        """JSON-ready metadata."""
        return {"name": self.name, "label": self.label, "family": self.family, "library": self.library,
                "summary": self.summary, "modalities": list(self.modalities), "seeded": self.seeded,
                "params": [param.describe() for param in self.params], "presets": self.presets}


@contextlib.contextmanager
def counting_calls(module: nn.Module, expected: int, progress: ProgressCallback | None) -> Iterator[list[int]]:
    """Count the images passed through ``module`` (a forward pre-hook), reporting progress; always unhooks.

    Yields:
        A one-element list holding the running count.

    The progress callback may raise (for instance :class:`ExplanationStopped`) to stop the method mid-way.
    """
    count = [0]

    def hook(_module: nn.Module, inputs: tuple[Any, ...]) -> None:
        first = inputs[0] if inputs else None
        count[0] += int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else 1
        if progress is not None:
            progress(count[0], max(expected, count[0]))

    handle = module.register_forward_pre_hook(hook)
    try:
        yield count
    finally:
        handle.remove()


_INPLACE_TYPES = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh)


@contextlib.contextmanager
def without_inplace_activations(network: nn.Module) -> Iterator[None]:
    """Switch in-place activations off while hooks are attached, and restore them afterwards.

    In-place ReLUs (DenseNet, ResNet, MobileNet) overwrite the tensors that hooks saved, which breaks gradient
    hooks and guided backpropagation in several libraries. The flag only changes memory use, not results.
    """
    switched = [module for module in network.modules() if isinstance(module, _INPLACE_TYPES)
                and getattr(module, "inplace", False)]
    for module in switched:
        module.inplace = False
    try:
        yield
    finally:
        for module in switched:
            module.inplace = True


def channel_sum(attribution: torch.Tensor) -> np.ndarray:
    """``(1, 3, H, W)`` attribution -> ``(H, W)`` float32 summed over colour channels (sign kept)."""
    return attribution.detach().float().sum(dim=1)[0].cpu().numpy().astype(np.float32)


def unnormalise(inputs: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """``(1, 3, H, W)`` normalised input -> the picture ``(H, W, 3)`` float64 in [0, 1]."""
    picture = inputs[0].detach().cpu().numpy().transpose(1, 2, 0) * np.asarray(std) + np.asarray(mean)
    return np.clip(picture, 0.0, 1.0).astype(np.float64)


def normalise_pictures(pictures: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """``(N, H, W, 3)`` pictures in [0, 1] -> ``(N, 3, H, W)`` float32 normalised model input."""
    array = (np.asarray(pictures, dtype=np.float32) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))
