"""The one dispatch from a card's ``source`` to its adapter, for loading and for importing.

Imported models are stored in a models folder as:

* torchvision, timm, torchxrayvision: ``<name>.safetensors`` + ``<name>.json`` (the card names the source);
* Hugging Face: the model directory ``<name>/`` with its card ``xaiscope-card.json`` inside;
* ONNX: ``<name>.onnx`` + ``<name>.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xaiscope.errors import XaiscopeError
from xaiscope.inputs.sample import Modality
from xaiscope.models.card import ModelCard, Source
from xaiscope.models.checkpoint import save_weights
from xaiscope.models.model import Model
from xaiscope.preprocessing.spec import PreprocessingSpec


def build_model(card: ModelCard, weights: Path) -> Model:
    """Load the model ``card`` describes from ``weights`` (a file, or a directory for Hugging Face) through its
    source's adapter."""
    if card.source == "huggingface":
        from xaiscope.models.sources import huggingface

        return huggingface.load(card, weights)
    if card.source == "timm":
        from xaiscope.models.sources import timm

        return timm.load(card, weights)
    if card.source == "torchxrayvision":
        from xaiscope.models.sources import xrv

        return xrv.load(card, weights)
    if card.source == "onnx":
        from xaiscope.models.sources import onnx

        return onnx.load(card, weights)
    from xaiscope.models.sources import torchvision

    return torchvision.load(card, weights)  # torchvision and xaiscope: the architecture registry builds both


def detect_source(path: Path) -> Source:
    """The source a path implies: a directory is Hugging Face, ``.onnx`` is ONNX, anything else torchvision."""
    if path.is_dir():
        return "huggingface"
    return "onnx" if path.suffix.lower() == ".onnx" else "torchvision"


def import_model(source: Source | None, what: str | Path, *, output_dir: Path, weights: Path | None = None,
                 name: str | None = None, modality: Modality | None = None, classes: list[str] | None = None,
                 multi_label: bool = False, alert_class: str | None = None, cam_target_layer: str | None = None,
                 card: ModelCard | None = None, preprocessing: PreprocessingSpec | None = None,
                 architecture: str | None = None, **options: Any) -> Path:
    """Import a model from any source into ``output_dir`` (checked by loading it); returns what was written.

    Args:
        source: ``torchvision``, ``timm``, ``huggingface``, ``torchxrayvision``, ``onnx``, or None to detect it from
            ``what`` (see :func:`detect_source`).
        what: a state_dict file (torchvision), a model name (timm, torchxrayvision), a directory (Hugging Face),
            an ``.onnx`` file.
        weights: the local weights file for timm and torchxrayvision names.
        card: the card of an ONNX file (else one is made from ``modality``, ``classes`` and ``preprocessing``).
        options: per-source extras (Hugging Face: ``window_seconds``, ``hop_seconds``; torchxrayvision:
            ``network_options``, DenseNet constructor overrides; torchvision source: ``network_options``, a waveform
            network's size such as RawNet2's ``{"gru_node": 256}``).

    Raises:
        XaiscopeError: a missing argument, and the adapters' errors (missing weights, not a classifier, shapes that
            do not fit, unknown names, a missing extra).
    """
    chosen = source or detect_source(Path(what))
    if chosen == "huggingface":
        from xaiscope.models.sources import huggingface

        directory = Path(what)
        return huggingface.import_directory(directory, output_dir, name=name or directory.name, modality=modality,
                                            alert_class=alert_class, cam_target_layer=cam_target_layer, **options)
    if chosen == "onnx":
        from xaiscope.models.sources import onnx

        path = Path(what)
        if card is None:
            card = _card_for_onnx(path, name, modality, classes, multi_label, alert_class, preprocessing)
        return onnx.import_onnx(path, card.with_updates(name=name) if name else card, output_dir)
    if chosen in ("timm", "torchxrayvision"):
        if weights is None:
            raise XaiscopeError(f"A {chosen} model needs its local weights file (--weights FILE); nothing is "
                                "downloaded.", f"Give the file saved from `{what}`'s state_dict.")
        if not weights.is_file():
            raise XaiscopeError(f"The weights file '{weights}' does not exist.", "Check the path given to --weights.")
        if chosen == "timm":
            from xaiscope.models.sources import timm

            made, network = timm.import_timm(
                str(what), weights, modality=_need(modality, "--modality"), classes=_need(classes, "--classes"),
                model_name=name or str(what), multi_label=multi_label, alert_class=alert_class,
                cam_target_layer=cam_target_layer, preprocessing=preprocessing)
        else:
            from xaiscope.models.sources import xrv

            made, network = xrv.import_xrv(str(what), weights, model_name=name or str(what), alert_class=alert_class,
                                           network_options=options.get("network_options"))
        output_dir.mkdir(parents=True, exist_ok=True)
        target = output_dir / f"{made.name}.safetensors"
        save_weights(network, target)
        made.save(target.with_suffix(".json"))
        return target
    from xaiscope.models.store import import_state_dict

    return import_state_dict(Path(what), architecture=_need(architecture, "--arch"),
                             modality=_need(modality, "--modality"), classes=_need(classes, "--classes"),
                             output_dir=output_dir, name=name, alert_class=alert_class,
                             cam_target_layer=cam_target_layer, preprocessing=preprocessing,
                             network_options=options.get("network_options"))


def _need(value: Any, option: str) -> Any:
    if value is None:
        raise XaiscopeError(f"This import needs {option}.", "See `xaiscope import --help`.")
    return value


def _card_for_onnx(path: Path, name: str | None, modality: Modality | None, classes: list[str] | None,
                   multi_label: bool, alert_class: str | None, preprocessing: PreprocessingSpec | None) -> ModelCard:
    """A card for an ONNX file from the import options (picture preprocessing of the modality by default)."""
    from xaiscope.models.card import guess_alert_class
    from xaiscope.preprocessing.spec import AudioSpec, XraySpec, spec_input_kind

    chosen_modality: Modality = _need(modality, "--modality (or --card)")
    labels: list[str] = _need(classes, "--classes (or --card)")
    from xaiscope.models.sources.onnx import OnnxNetwork, output_count

    spec = preprocessing or (AudioSpec() if chosen_modality == "audio" else XraySpec())
    outputs = output_count(OnnxNetwork(path), spec, f"'{path.name}'")
    single = outputs == 1 and len(labels) == 2 and not multi_label
    return ModelCard(name=name or path.stem, modality=chosen_modality, architecture="onnx", classes=tuple(labels),
                     num_outputs=1 if single else len(labels), preprocessing=spec,
                     alert_class=alert_class or guess_alert_class(labels, chosen_modality),
                     input_kind=spec_input_kind(spec),
                     output_kind="multi-label" if multi_label else "softmax", source="onnx",
                     description=f"ONNX model imported from {path.name}.",
                     provenance={"source": f"imported from {path.name} with `xaiscope import`"})
