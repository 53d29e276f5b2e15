"""timm networks: a timm model name plus local weights (never ``pretrained=True``: nothing downloads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from xaiscope.errors import UnknownModelError
from xaiscope.inputs.sample import Modality
from xaiscope.models.architectures import traced_cam_layer
from xaiscope.models.card import ModelCard, guess_alert_class
from xaiscope.models.checkpoint import fit_state_dict, head_outputs, read_state_dict
from xaiscope.models.model import Model
from xaiscope.models.sources.common import require, three
from xaiscope.preprocessing.spec import IMAGENET_MEAN, IMAGENET_STD, AudioSpec, PreprocessingSpec, XraySpec


def check_name(name: str) -> Any:
    """The timm module, once ``name`` is known to be one of its models.

    Raises:
        UnknownModelError: timm has no model of that name (similar names are suggested).
        MissingExtraError: timm is not installed.
    """
    timm = require("timm", "timm models")
    if not timm.is_model(name):
        similar = timm.list_models(f"*{name.split('.')[0][:6]}*")[:8]
        raise UnknownModelError(f"timm has no model called '{name}'.",
                                f"Use a name from timm.list_models(){': ' + ', '.join(similar) if similar else ''}.")
    return timm


def build_network(name: str, num_outputs: int) -> nn.Module:
    """``timm.create_model(name, pretrained=False, num_classes=num_outputs)``, eval mode.

    Raises:
        UnknownModelError: timm has no model of that name (similar names are suggested).
        MissingExtraError: timm is not installed.
    """
    timm = check_name(name)
    network: nn.Module = timm.create_model(name, pretrained=False, num_classes=num_outputs)
    return network.eval()


def cam_settings(network: nn.Module, size: int) -> tuple[str | None, dict[str, Any]]:
    """The CAM target layer and source options of a timm network.

    A vision transformer (``blocks`` after a ``patch_embed`` with a ``grid_size``) is explained at its last block's
    first norm, its tokens laid on the patch grid after the class (and register) tokens; a hierarchical transformer
    whose stages output channels-last maps (Swin: ``layers`` with ``output_fmt == "NHWC"``) at its last stage,
    ``(N, H, W, C)`` turned into ``(N, C, H, W)``; a CNN at its deepest spatial map, found by tracing.
    """
    patch_embed = getattr(network, "patch_embed", None)
    blocks = getattr(network, "blocks", None)
    stages = getattr(network, "layers", None)
    if patch_embed is not None and isinstance(stages, nn.Sequential) and getattr(network, "output_fmt", "") == "NHWC":
        return f"layers.{len(stages) - 1}", {"token_grid": {"layout": "NHWC"}}
    if patch_embed is not None and isinstance(blocks, nn.Sequential) and hasattr(patch_embed, "grid_size") \
            and hasattr(blocks[-1], "norm1"):
        rows, cols = (int(v) for v in patch_embed.grid_size)
        skip = int(getattr(network, "num_prefix_tokens", 1))
        return f"blocks.{len(blocks) - 1}.norm1", {"token_grid": {"skip": skip, "rows": rows, "cols": cols}}
    return traced_cam_layer(network, torch.zeros(1, 3, size, size)), {}


def import_timm(name: str, weights: Path, *, modality: Modality, classes: list[str], model_name: str,
                multi_label: bool = False, alert_class: str | None = None, cam_target_layer: str | None = None,
                preprocessing: PreprocessingSpec | None = None) -> tuple[ModelCard, nn.Module]:
    """A timm model name plus a weights file -> card and network with the weights in.

    The preprocessing (input size, mean, std) is timm's ``pretrained_cfg`` for that name unless given.

    Raises:
        UnknownModelError, WeightsMismatchError, NotACheckpointError, UnsafeCheckpointError, MissingExtraError.
    """
    check_name(name)  # an unknown name is named before the weights are read
    state = read_state_dict(weights)
    num_outputs = 1 if len(classes) == 2 and not multi_label and head_outputs(state) == 1 else len(classes)
    network = build_network(name, num_outputs)
    fit_state_dict(network, state, source=weights.name, architecture=f"timm {name}")
    config = getattr(network, "pretrained_cfg", {}) or {}
    size = int(config.get("input_size", (3, 224, 224))[-1])
    mean = three(config.get("mean"), IMAGENET_MEAN)
    std = three(config.get("std"), IMAGENET_STD)
    if preprocessing is None:
        preprocessing = (AudioSpec(image_size=size, mean=mean, std=std) if modality == "audio"
                         else XraySpec(image_size=size, mean=mean, std=std))
    layer, options = cam_settings(network, preprocessing.image_size if isinstance(preprocessing, AudioSpec | XraySpec)
                                  else size)
    card = ModelCard(
        name=model_name, modality=modality, architecture=name, classes=tuple(classes), num_outputs=num_outputs,
        preprocessing=preprocessing, alert_class=alert_class or guess_alert_class(classes, modality),
        cam_target_layer=cam_target_layer or layer, output_kind="multi-label" if multi_label else "softmax",
        source="timm", source_options=options, description=f"timm {name} imported from {weights.name}.",
        provenance={"source": f"imported from {weights.name} with `xaiscope import --source timm`"})
    return card, network


def load(card: ModelCard, weights: Path) -> Model:
    """Rebuild the timm network the card names and load its safetensors."""
    network = build_network(card.architecture, card.num_outputs)
    fit_state_dict(network, read_state_dict(weights), source=weights.name, architecture=f"timm {card.architecture}")
    return Model(card, network, weights)
