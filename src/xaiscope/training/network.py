"""The network being trained: built by name, started from random or local weights, partly frozen.

Starting points (``init``):

* ``random``: torchvision's own initialisation, seeded by the run's seed.
* a local ``.pt`` / ``.pth`` state_dict (ImageNet weights downloaded elsewhere, the earlier tool's files) or a
  product ``.safetensors`` checkpoint, read without executing code
  (:func:`xaiscope.models.checkpoint.read_state_dict`). Every backbone tensor must be present with the right
  shape (else :class:`~xaiscope.errors.WeightsMismatchError`); the classification head is taken only when its
  shape fits and, for a checkpoint with a card, its classes are those of the data, otherwise it starts from
  random weights (ImageNet's 1000-class head, say). Keys the network does not have (an auxiliary head) are
  ignored and counted.

Freeze presets (``freeze``):

* ``backbone``: only the classification head learns, as the earlier tool trained its models (SEED.md: "backbones
  frozen"). Every other parameter has ``requires_grad=False`` and the backbone's batch-norm layers stay in eval
  mode, so their running statistics remain those of the starting weights.
* ``none``: every parameter learns (full fine-tuning).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xaiscope.errors import ConfigError, WeightsMismatchError
from xaiscope.models.architectures import architecture_info
from xaiscope.models.card import ModelCard
from xaiscope.models.checkpoint import read_state_dict
from xaiscope.models.seed import SEED_KEYS, seed_card


def head_path(architecture: str, network: nn.Module, num_outputs: int) -> str:
    """Dotted path of the classification head: the registry's last ``nn.Linear``, else (SqueezeNet's 1x1 conv)
    the last module whose weight has ``num_outputs`` rows."""
    path = architecture_info(architecture).head
    if path:
        return path
    candidates = [name for name, module in network.named_modules()
                  if isinstance(getattr(module, "weight", None), torch.Tensor)
                  and module.weight.shape[0] == num_outputs]
    if not candidates:
        raise ConfigError(f"Cannot find the classification head of {architecture}.",
                          "Choose another architecture, or --freeze none.")
    return candidates[-1]


def starting_card(init: str) -> ModelCard | None:
    """The card that comes with a starting weights file: a product checkpoint's JSON, or an earlier-tool key's
    built-in card; None for random weights or a bare state_dict."""
    if init == "random":
        return None
    path = Path(init).expanduser()
    if path.suffix == ".safetensors" and path.with_suffix(".json").is_file():
        return ModelCard.load(path.with_suffix(".json"))
    if path.stem in SEED_KEYS:
        return seed_card(path.stem)
    return None


@dataclass(frozen=True)
class StartReport:
    """What :func:`load_initial_weights` did, for the card's provenance."""

    source: str
    loaded: int = 0
    head: str = "random"
    ignored_keys: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "loaded_tensors": self.loaded, "head": self.head,
                "ignored_keys": self.ignored_keys}


def load_initial_weights(network: nn.Module, init: str, *, architecture: str, head: str,
                         classes: tuple[str, ...]) -> StartReport:
    """Load ``init`` into ``network`` by the rules of the module docstring.

    Raises:
        ConfigError: the file does not exist.
        WeightsMismatchError: backbone tensors missing or mis-shaped.
        NotACheckpointError, UnsafeCheckpointError: from the safe reader.
    """
    if init == "random":
        return StartReport("random")
    path = Path(init).expanduser()
    if not path.is_file():
        raise ConfigError(f"The starting weights '{init}' do not exist.",
                          "Give a local .pt/.pth/.safetensors file with --init, or --init random.")
    state = read_state_dict(path)
    expected = network.state_dict()
    prefix = f"{head}."
    card = starting_card(init)
    head_fits = all(key in state and state[key].shape == value.shape
                    for key, value in expected.items() if key.startswith(prefix))
    same_classes = card is None or tuple(card.classes) == tuple(classes)
    take_head = head_fits and same_classes
    problems = [f"{key} {'missing' if key not in state else f'{tuple(state[key].shape)} != {tuple(value.shape)}'}"
                for key, value in expected.items()
                if not key.startswith(prefix) and (key not in state or state[key].shape != value.shape)]
    if problems:
        raise WeightsMismatchError(
            f"The starting weights '{path.name}' do not fit {architecture}: {', '.join(problems[:5])}"
            + (f" and {len(problems) - 5} more" if len(problems) > 5 else "") + ".",
            "Use weights of the same architecture (--arch), or --init random.")
    chosen = {key: state[key] for key in expected if take_head or not key.startswith(prefix)}
    network.load_state_dict(chosen, strict=False)
    reason = "kept from the file" if take_head else (
        "random (the file's classes differ from the data's)" if head_fits else "random (the file's head has "
        "another shape)")
    return StartReport(str(path), loaded=len(chosen), head=reason,
                       ignored_keys=len([key for key in state if key not in expected]))


def apply_freeze(network: nn.Module, preset: str, head: str) -> list[nn.Parameter]:
    """Set ``requires_grad`` by the preset; returns the trainable parameters."""
    prefix = f"{head}."
    for name, parameter in network.named_parameters():
        parameter.requires_grad_(preset == "none" or name.startswith(prefix))
    trainable = [parameter for parameter in network.parameters() if parameter.requires_grad]
    if not trainable:
        raise ConfigError("No parameter is left to train.", "Use --freeze none.")
    return trainable


def set_train_mode(network: nn.Module, preset: str, head: str) -> None:
    """``network.train()``, then the frozen backbone's batch-norm layers back to eval mode (preset ``backbone``)."""
    network.train()
    if preset != "backbone":
        return
    for name, module in network.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not (name == head or name.startswith(f"{head}.")):
            module.eval()
