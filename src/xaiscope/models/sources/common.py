"""What every model source shares: optional libraries named by their extra, and CAM layers found by tracing."""

from __future__ import annotations

import importlib
from types import ModuleType

from xaiscope.errors import ModelError

#: The extra that installs each optional library (``pip install 'xaiscope[EXTRA]'``).
EXTRAS = {"transformers": "huggingface", "timm": "timm", "torchxrayvision": "xrv", "onnxruntime": "onnx"}


class MissingExtraError(ModelError):
    """A model source needs an optional library that is not installed."""


def require(module: str, what: str) -> ModuleType:
    """Import an optional library, or say which extra installs it.

    Args:
        module: the library's import name (a key of :data:`EXTRAS`).
        what: what needs it, for the message (e.g. ``Hugging Face models``).

    Raises:
        MissingExtraError: the library is not installed; the message names the extra.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        extra = EXTRAS.get(module, module)
        raise MissingExtraError(f"{what} need the '{module}' package, which is not installed.",
                                f"Install the extra: pip install 'xaiscope[{extra}]' (or 'xaiscope[models]' for "
                                "every model source).") from error


def unique_labels(labels: list[str]) -> tuple[str, ...]:
    """Label names made usable as class names: empty ones (outputs a model leaves unused) become ``unused_<i>``."""
    named = [label.strip() or f"unused_{index}" for index, label in enumerate(labels)]
    seen: dict[str, int] = {}
    for index, label in enumerate(named):
        if label in seen:
            named[index] = f"{label}_{index}"
        seen[label] = index
    return tuple(named)


def three(values: object, default: tuple[float, float, float]) -> tuple[float, float, float]:
    """A per-channel normalisation value as three floats (one value is repeated; None gives ``default``)."""
    if values is None:
        return default
    items = [float(v) for v in values] if isinstance(values, list | tuple) else [float(str(values))]
    if len(items) == 1:
        items = items * 3
    return (items[0], items[1], items[2])
