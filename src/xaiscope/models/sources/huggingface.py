"""Hugging Face ``transformers`` classifiers from a local model directory (audio or image classification).

A directory holds ``config.json`` (architecture, ``id2label``), the weights (``model.safetensors``, or a
``pytorch_model.bin`` read with torch's safe loader) and the processor's ``preprocessor_config.json``, which decides
the preprocessing:

* an image processor (``image_mean``, ``image_std``, ``size``) -> the ``picture`` input kind;
* ``Wav2Vec2FeatureExtractor`` (wav2vec2, WavLM, HuBERT...) -> ``waveform`` at its ``sampling_rate``, normalised per
  window when ``do_normalize``;
* any other audio feature extractor (AST, Whisper...) -> ``features``, computed by that extractor, rebuilt from the
  stored config.

Models load with ``local_files_only=True`` and ``trust_remote_code=False``: nothing downloads and no code from the
directory runs. ``xaiscope import`` copies the directory into the models folder and writes the card inside it as
``xaiscope-card.json``; a directory dropped into ``$XAISCOPE_MODELS`` without a card gets one derived from its
configs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xaiscope.errors import CardError, ModelError, WeightsNotFoundError
from xaiscope.inputs.sample import Modality
from xaiscope.models.card import InputKind, ModelCard, OutputKind, guess_alert_class
from xaiscope.models.sources.common import require, three
from xaiscope.preprocessing.spec import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AudioSpec,
    FeaturesSpec,
    PreprocessingSpec,
    WaveformSpec,
    XraySpec,
)

if TYPE_CHECKING:  # discovering directories reads configs only; torch is imported by load()
    from xaiscope.models.model import Model

CARD_FILE = "xaiscope-card.json"
#: Weight files looked for, in order.
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
_AUDIO_HEADS = ("ForSequenceClassification", "ForAudioClassification")
_IMAGE_HEADS = ("ForImageClassification",)


class NotAClassifierError(ModelError):
    """A Hugging Face config whose architecture is not an audio or image classifier."""


def is_model_directory(path: Path) -> bool:
    """True for a directory holding a Hugging Face ``config.json``."""
    return path.is_dir() and (path / "config.json").is_file()


def weights_file(directory: Path) -> Path:
    """The directory's weights file.

    Raises:
        WeightsNotFoundError: none of :data:`WEIGHT_FILES` is there; the message names them and the directory.
    """
    for name in WEIGHT_FILES:
        if (directory / name).is_file():
            return directory / name
    raise WeightsNotFoundError(
        f"The Hugging Face directory '{directory}' has no weights: looked for {', '.join(WEIGHT_FILES)} there.",
        "Copy the model's weights file into the directory (save it with `model.save_pretrained(directory)`).")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CardError(f"'{path}' cannot be read as JSON ({error}).", "Restore the file from the model's source.") \
            from error
    if not isinstance(data, dict):
        raise CardError(f"'{path}' is not a JSON object.", "Restore the file from the model's source.")
    return data


def _classes(config: dict[str, Any]) -> tuple[str, ...]:
    id2label = config.get("id2label") or {}
    if not id2label:
        count = int(config.get("num_labels", 2))
        return tuple(f"LABEL_{index}" for index in range(count))
    return tuple(str(id2label[key]) for key in sorted(id2label, key=lambda k: int(k)))


def _image_spec(processor: dict[str, Any], modality: Modality) -> AudioSpec | XraySpec:
    size = processor.get("size", processor.get("crop_size", 224))
    if isinstance(size, dict):
        size = size.get("height") or size.get("shortest_edge") or size.get("width") or 224
    mean = three(processor.get("image_mean"), IMAGENET_MEAN)
    std = three(processor.get("image_std"), IMAGENET_STD)
    if modality == "audio":
        return AudioSpec(image_size=int(size), mean=mean, std=std)
    return XraySpec(image_size=int(size), mean=mean, std=std)


def _audio_spec(directory: Path, processor: dict[str, Any], window_seconds: float, hop_seconds: float,
                ) -> WaveformSpec | FeaturesSpec:
    kind = str(processor.get("feature_extractor_type", ""))
    rate = int(processor.get("sampling_rate", 16000))
    if kind == "Wav2Vec2FeatureExtractor" or not kind:
        return WaveformSpec(sample_rate=rate, window_seconds=window_seconds, hop_seconds=hop_seconds,
                            normalize=bool(processor.get("do_normalize", True)))
    transformers = require("transformers", "Hugging Face models")
    extractor_class = getattr(transformers, kind, None)
    if extractor_class is None:
        raise CardError(f"'{directory / 'preprocessor_config.json'}' names the feature extractor '{kind}', which "
                        "this transformers does not have.", "Update transformers, or fix the processor config.")
    input_name = str(next(iter(getattr(extractor_class, "model_input_names", ["input_values"]))))
    return FeaturesSpec(sample_rate=rate, window_seconds=window_seconds, hop_seconds=hop_seconds, extractor=kind,
                        extractor_config=processor, input_name=input_name)


def _cam_settings(config: dict[str, Any], spec: PreprocessingSpec) -> tuple[str | None, dict[str, Any]]:
    """The token grid of the transformers that have one (ViT, DeiT, AST); their target layer, the last block's
    ``layernorm_before``, is found in the built network (module paths differ between transformers versions)."""
    model_type = str(config.get("model_type", ""))
    layers = int(config.get("num_hidden_layers", 0))
    if model_type in ("vit", "deit") and isinstance(spec, AudioSpec | XraySpec) and layers:
        side = spec.image_size // int(config.get("patch_size", 16))
        skip = 2 if model_type == "deit" else 1
        return None, {"token_grid": {"skip": skip, "rows": side, "cols": side}}
    if model_type == "audio-spectrogram-transformer" and layers:
        patch = 16
        rows = (int(config.get("num_mel_bins", 128)) - patch) // int(config.get("frequency_stride", 10)) + 1
        cols = (int(config.get("max_length", 1024)) - patch) // int(config.get("time_stride", 10)) + 1
        return None, {"token_grid": {"skip": 2, "rows": rows, "cols": cols, "transpose": True}}
    return None, {}


def card_from_directory(directory: Path, *, name: str | None = None, modality: Modality | None = None,
                        window_seconds: float = 2.0, hop_seconds: float = 1.0, alert_class: str | None = None,
                        cam_target_layer: str | None = None) -> ModelCard:
    """The card of a Hugging Face model directory: its card file if it has one, else derived from its configs.

    Args:
        modality: for an image classifier, ``xray`` (default) or ``audio`` (a spectrogram-picture classifier);
            audio classifiers are always ``audio``.
        window_seconds, hop_seconds: the analysis windows of an audio classifier.

    Raises:
        NotAClassifierError: the config's architecture is not an audio or image classifier.
        CardError: unreadable configs, or no ``preprocessor_config.json``.
    """
    if (directory / CARD_FILE).is_file() and name is None and modality is None:
        return ModelCard.load(directory / CARD_FILE)
    config = _read_json(directory / "config.json")
    architectures = list(config.get("architectures") or [])
    architecture = str(architectures[0]) if architectures else ""
    is_audio = architecture.endswith(_AUDIO_HEADS)
    is_image = architecture.endswith(_IMAGE_HEADS)
    processor_path = directory / "preprocessor_config.json"
    processor = _read_json(processor_path) if processor_path.is_file() else None
    if is_audio and architecture.endswith("ForSequenceClassification") and processor is not None \
            and "sampling_rate" not in processor:
        is_audio = False  # a text classifier's tokenizer-side config: not a recording model
    if not (is_audio or is_image):
        raise NotAClassifierError(
            f"'{directory / 'config.json'}' describes a {architecture or 'model with no architecture'}, which is not "
            "an audio or image classifier.",
            "Use a ...ForAudioClassification, ...ForSequenceClassification (speech) or ...ForImageClassification "
            "checkpoint.")
    if processor is None:
        raise CardError(f"'{directory}' has no preprocessor_config.json, so how the model's input is made is unknown.",
                        "Copy the processor's config from the model's source (`processor.save_pretrained(dir)`).")
    classes = _classes(config)
    output_kind: OutputKind = "multi-label" if config.get("problem_type") == "multi_label_classification" \
        else "softmax"
    spec: PreprocessingSpec
    if is_image:
        chosen: Modality = modality or "xray"
        spec = _image_spec(processor, chosen)
        input_kind: InputKind = "picture"
    else:
        chosen = "audio"
        spec = _audio_spec(directory, processor, window_seconds, hop_seconds)
        input_kind = "waveform" if isinstance(spec, WaveformSpec) else "features"
    layer, options = _cam_settings(config, spec)
    return ModelCard(
        name=name or directory.name, modality=chosen, architecture=architecture, classes=classes,
        num_outputs=len(classes), preprocessing=spec, alert_class=alert_class or guess_alert_class(list(classes),
                                                                                                    chosen),
        cam_target_layer=cam_target_layer or layer, input_kind=input_kind,
        output_kind=output_kind, source="huggingface", source_options=options,
        description=f"Hugging Face {architecture} ({config.get('model_type', '?')}).",
        provenance={"source": f"Hugging Face directory {directory.name}"})


def _input_name(card: ModelCard) -> str:
    spec = card.preprocessing
    if isinstance(spec, FeaturesSpec):
        return spec.input_name
    return "input_values" if isinstance(spec, WaveformSpec) else "pixel_values"


def load(card: ModelCard, directory: Path) -> Model:
    """Load the directory's classifier (local files only, no remote code) under ``card``.

    Raises:
        WeightsNotFoundError: no weights file in the directory.
        NotAClassifierError: ``transformers`` has no class of the card's architecture.
        WeightsMismatchError: the weights do not fit the config.
    """
    from xaiscope.models.model import Model
    from xaiscope.models.sources.huggingface_network import HuggingFaceNetwork

    weights = weights_file(directory)
    transformers = require("transformers", "Hugging Face models")
    cls = getattr(transformers, card.architecture, None)
    if cls is None or not card.architecture.endswith(_AUDIO_HEADS + _IMAGE_HEADS):
        raise NotAClassifierError(f"transformers has no classifier class '{card.architecture}' (custom code in a model "
                                  "directory is never run).", "Use a model whose architecture ships with transformers.")
    try:
        model = cls.from_pretrained(str(directory), local_files_only=True, trust_remote_code=False,
                                    use_safetensors=weights.name.startswith("model.safetensors"))
    except (OSError, ValueError, RuntimeError) as error:
        from xaiscope.errors import WeightsMismatchError

        raise WeightsMismatchError(f"The Hugging Face model in '{directory}' could not be loaded "
                                   f"({str(error).splitlines()[0][:300]}).",
                                   "Check that config.json and the weights come from the same model.") from error
    if int(model.config.num_labels) != card.num_outputs:
        from xaiscope.errors import WeightsMismatchError

        raise WeightsMismatchError(f"'{directory}' has {model.config.num_labels} outputs, its card "
                                   f"{card.num_outputs}.", "Re-import the directory with `xaiscope import`.")
    network = HuggingFaceNetwork(model.float().eval(), _input_name(card))
    modules = dict(network.named_modules())
    if card.source_options.get("token_grid") and card.cam_target_layer not in modules:
        norms = [path for path in modules if path.endswith("layernorm_before")]
        card = card.with_updates(cam_target_layer=norms[-1] if norms else None)
    return Model(card, network, directory)


def import_directory(directory: Path, output_dir: Path, **card_options: Any) -> Path:
    """Copy a Hugging Face model directory into ``output_dir/<name>/`` with its card (``xaiscope-card.json``),
    after checking that it loads and predicts.

    Returns:
        The copied directory.

    Raises:
        WeightsNotFoundError, NotAClassifierError, CardError, WeightsMismatchError, MissingExtraError.
    """
    if not is_model_directory(directory):
        raise WeightsNotFoundError(f"'{directory}' is not a Hugging Face model directory: looked for "
                                   f"'{directory / 'config.json'}'.",
                                   "Point to the folder written by `model.save_pretrained(folder)`.")
    weights_file(directory)
    card = card_from_directory(directory, **{**card_options, "name": card_options.get("name") or directory.name})
    card = load(card, directory).card  # refuse what cannot load before copying anything; the CAM layer found
    target = output_dir / card.name
    if target.resolve() != directory.resolve():
        if target.exists():
            shutil.rmtree(target)
        output_dir.mkdir(parents=True, exist_ok=True)
        names = ("config.json", "preprocessor_config.json", weights_file(directory).name)
        target.mkdir()
        for name in names:
            shutil.copy2(directory / name, target / name)
        if weights_file(directory).name.endswith(".index.json"):
            for shard in sorted(directory.glob("model-*.safetensors")):
                shutil.copy2(shard, target / shard.name)
    card.save(target / CARD_FILE)
    return target
