"""Architecture registry: every network xaiscope builds by name, with the right head and input kind.

Two families, one registry:

* **picture** networks: any torchvision classification model. Every network is built with ``weights=None``
  (nothing is ever downloaded) and ``num_classes`` equal to the number of outputs, which gives exactly the heads
  the earlier tool bolted on (for example VGG16's ``classifier[6] = Linear(4096, 1)``), with the same state_dict
  keys. The five architectures the earlier tool trained carry the Grad-CAM target layers it used (see SEED.md);
  any other architecture gets :func:`default_cam_target_layer`, found by tracing one forward pass.
* **waveform** networks (:data:`WAVEFORM_ARCHITECTURES`): raw-waveform detectors of xaiscope's own code with the
  state_dict keys of their reference implementations (``rawnet2``: :mod:`xaiscope.models.waveform`). Their size is
  set by options (``build_network(name, n, options)``), stored in the card's ``source_options["network"]``; they
  have no spatial grid, so no CAM layer.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from xaiscope.errors import ConfigError, UnknownModelError
from xaiscope.preprocessing.spec import (
    AudioSpec,
    InputKind,
    PreprocessingSpec,
    WaveformSpec,
    XraySpec,
)

if TYPE_CHECKING:  # torch is imported where networks are built, so card and listing paths stay torch-free
    import torch
    from torch import nn


@dataclass(frozen=True)
class ArchitectureInfo:
    """What xaiscope knows about one architecture.

    Attributes:
        name: builder name (``torchvision.models.get_model``, or a key of :data:`WAVEFORM_ARCHITECTURES`).
        head: dotted path of the final ``nn.Linear``.
        cam_target_layer: dotted module path for Grad-CAM, or None to trace one (:func:`default_cam_target_layer`).
        input_kind: what the network takes: ``picture`` ``(N, 3, S, S)`` or ``waveform`` ``(N, n_samples)``.
        source: the card's source for it: ``torchvision``, or ``xaiscope`` for xaiscope's own networks.
    """

    name: str
    head: str
    cam_target_layer: str | None = None
    input_kind: InputKind = "picture"
    source: Literal["torchvision", "xaiscope"] = "torchvision"


#: The earlier tool's architectures, with its heads and Grad-CAM layers. DenseNet applies its final ReLU
#: functionally, so its target is the last ReLU *module* inside ``features``; the last conv gives empty maps.
KNOWN_ARCHITECTURES: dict[str, ArchitectureInfo] = {
    info.name: info
    for info in (
        ArchitectureInfo("vgg16", "classifier.6", "features.28"),
        ArchitectureInfo("resnet50", "fc", "layer4.2"),
        ArchitectureInfo("mobilenet_v2", "classifier.1", "features.18.0"),
        ArchitectureInfo("alexnet", "classifier.6", "features.11"),
        ArchitectureInfo("densenet121", "classifier", "features.denseblock4.denselayer16.relu2"),
    )
}

#: Raw-waveform networks: ``(N, n_samples)`` mono samples in, logits out; sized by options (see the module docstring).
WAVEFORM_ARCHITECTURES: dict[str, ArchitectureInfo] = {
    "rawnet2": ArchitectureInfo("rawnet2", "fc2_gru", None, input_kind="waveform", source="xaiscope"),
}

#: Names users type for the seed architectures.
ALIASES = {"mobilenetv2": "mobilenet_v2", "densenet": "densenet121", "vgg": "vgg16", "resnet": "resnet50",
           "rawnet": "rawnet2"}


@lru_cache(maxsize=1)
def classification_architectures() -> tuple[str, ...]:
    """Every architecture name: the torchvision image classifiers (about 80) and the waveform networks, sorted."""
    import torchvision

    return tuple(sorted([*torchvision.models.list_models(module=torchvision.models), *WAVEFORM_ARCHITECTURES]))


def canonical_architecture(name: str) -> str:
    """Normalise a user-typed architecture name (``MobileNetV2`` -> ``mobilenet_v2``, ``RawNet2`` -> ``rawnet2``).

    Raises:
        UnknownModelError: not an architecture of the registry; the message suggests close names.
    """
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    available = classification_architectures()
    if key in available:
        return key
    close = difflib.get_close_matches(key, available, n=3)
    suggestion = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnknownModelError(f"'{name}' is not a classification architecture xaiscope can build.{suggestion}",
                            "Run `xaiscope archs` for the list of architectures.")


def architecture_info(name: str) -> ArchitectureInfo:
    """Registry entry for ``name``; for torchvision architectures outside the seed five, the head path is looked up."""
    key = canonical_architecture(name)
    if key in KNOWN_ARCHITECTURES:
        return KNOWN_ARCHITECTURES[key]
    if key in WAVEFORM_ARCHITECTURES:
        return WAVEFORM_ARCHITECTURES[key]
    return ArchitectureInfo(key, _last_linear_path(_build(key, 1)))


def architecture_options(name: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The complete options of a network (every size the card must state): a waveform network's configuration with
    ``options`` applied over its defaults; ``{}`` for a torchvision network.

    Raises:
        ConfigError: unknown or out-of-range options, or options given to a torchvision network (which has none).
    """
    key = canonical_architecture(name)
    if key in WAVEFORM_ARCHITECTURES:
        from xaiscope.models import waveform

        return waveform.network_options(key, options)
    if options:
        raise ConfigError(f"The torchvision architecture '{key}' takes no options, but got {sorted(options)}.",
                          "Drop the architecture options, or choose a waveform architecture such as rawnet2.")
    return {}


def build_network(name: str, num_outputs: int, options: dict[str, Any] | None = None) -> nn.Module:
    """Build an untrained network with ``num_outputs`` logits, in eval mode.

    Args:
        name: architecture name (aliases accepted).
        num_outputs: 1 for a single-logit binary classifier, else the number of classes.
        options: a waveform network's size (see :func:`architecture_options`; missing keys take the published
            defaults); None or empty for a torchvision network.

    Returns:
        A module mapping ``(N, 3, H, W)`` float32 (picture networks) or ``(N, n_samples)`` float32 (waveform
        networks) to ``(N, num_outputs)`` logits.

    Raises:
        ConfigError: options that do not fit the architecture.
    """
    key = canonical_architecture(name)
    if key in WAVEFORM_ARCHITECTURES:
        from xaiscope.models import waveform

        return waveform.build(key, num_outputs, options).eval()
    architecture_options(key, options)
    return _build(key, num_outputs).eval()


def default_preprocessing(name: str, modality: str) -> PreprocessingSpec:
    """The preprocessing a network of this architecture takes unless its card says otherwise.

    Picture networks: the product's :class:`AudioSpec` or :class:`XraySpec`. RawNet2: the ASVspoof 2021 baseline's
    input, 64,600 raw samples at 16 kHz (about 4.04 s; no normalisation; a shorter recording repeated to fill it, as
    the baseline's data loader does), scanned every half window.
    """
    info = architecture_info(name)
    if info.input_kind == "waveform":
        seconds = 64600 / 16000
        return WaveformSpec(sample_rate=16000, window_seconds=seconds, hop_seconds=seconds / 2, pad="repeat",
                            normalize=False)
    return AudioSpec() if modality == "audio" else XraySpec()


def _build(key: str, num_outputs: int) -> nn.Module:
    import torchvision

    extra = {"aux_logits": False, "init_weights": False} if key in ("inception_v3", "googlenet") else {}
    return torchvision.models.get_model(key, weights=None, num_classes=num_outputs, **extra)


def _last_linear_path(network: nn.Module) -> str:
    from torch import nn

    linears = [path for path, module in network.named_modules() if isinstance(module, nn.Linear)]
    return linears[-1] if linears else ""


def traced_cam_layer(network: nn.Module, sample_input: torch.Tensor) -> str | None:
    """The deepest leaf module whose output is still a spatial map ``(N, C, H, W)`` with H, W >= 2, or None.

    Runs one forward pass on ``sample_input`` (one input row with its batch dimension, e.g. ``(1, 3, 224, 224)``)
    and returns the dotted path of the last such module in execution order. Every model source traces with this.
    """
    import torch

    order: list[str] = []
    handles = []

    def record(path: str):  # type annotations of hooks are not checked by torch
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            if isinstance(output, torch.Tensor) and output.dim() == 4 and min(output.shape[-2:]) >= 2:
                order.append(path)
        return hook

    for path, module in network.named_modules():
        if path and not list(module.children()):
            handles.append(module.register_forward_hook(record(path)))
    try:
        with torch.no_grad():
            network.eval()(sample_input)
    finally:
        for handle in handles:
            handle.remove()
    return order[-1] if order else None


def default_cam_target_layer(network: nn.Module, image_size: int = 224) -> str:
    """The traced CAM layer of a picture network (see :func:`traced_cam_layer`).

    Raises:
        UnknownModelError: the network has no spatial feature maps.
    """
    import torch

    layer = traced_cam_layer(network, torch.zeros(1, 3, image_size, image_size))
    if layer is None:
        raise UnknownModelError("This network has no spatial feature maps, so CAM methods cannot explain it.",
                                "Use a gradient or perturbation method instead.")
    return layer


def cam_target_layer_for(architecture: str, network: nn.Module) -> str | None:
    """The registry's CAM layer for a seed architecture, else the traced one; None when there is none (waveform
    networks have no spatial grid)."""
    key = canonical_architecture(architecture)
    if key in WAVEFORM_ARCHITECTURES:
        return None
    known = KNOWN_ARCHITECTURES.get(key)
    if known is not None and known.cam_target_layer:
        return known.cam_target_layer
    try:
        return default_cam_target_layer(network)
    except UnknownModelError:
        return None
