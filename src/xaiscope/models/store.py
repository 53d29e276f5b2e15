"""The model store: find, load, save and import checkpoints.

Folders are searched in this order, the first match of a name winning:

1. every folder in ``$XAISCOPE_MODELS`` (several separated by ``os.pathsep``);
2. ``./weights`` in the current working directory (where the earlier tool kept its files);
3. the demo models bundled with the package (``xaiscope/bundled_models``).

In each folder, ``<name>.safetensors`` with ``<name>.json`` beside it is a product checkpoint, and
``<key>.pt`` for one of the earlier tool's five keys is loaded through its built-in card. The five seed
models are always listed, with their weights marked missing when no folder holds them.

Loaded models are cached per process (keyed by weights path and modification time), so each loads once.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xaiscope.errors import CardError, UnknownModelError, WeightsNotFoundError, XaiscopeError
from xaiscope.inputs.sample import Modality
from xaiscope.models.architectures import (  # torch-free at import: networks are built inside its functions
    architecture_info,
    architecture_options,
    build_network,
    cam_target_layer_for,
    canonical_architecture,
    default_preprocessing,
)
from xaiscope.models.card import ModelCard, guess_alert_class
from xaiscope.models.seed import SEED_KEYS, seed_card
from xaiscope.preprocessing.spec import PreprocessingSpec, spec_input_kind

if TYPE_CHECKING:  # listing models reads cards only: torch is imported where weights are read or written
    from xaiscope.models.model import Model

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "bundled_models"


@dataclass(frozen=True)
class ModelEntry:
    """One model the store knows of.

    Attributes:
        card: its card.
        weights_path: the weights file, or None when missing.
        origin: ``checkpoint`` (safetensors + card), ``seed`` (earlier tool's .pt with a built-in card), ``onnx``
            (.onnx + card), ``huggingface`` (a model directory).
        searched: the folders that were searched (for "missing" messages).
    """

    card: ModelCard
    weights_path: Path | None
    origin: str
    searched: tuple[Path, ...]

    @property
    def present(self) -> bool:
        return self.weights_path is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary for ``xaiscope models --json``."""
        return {
            "name": self.card.name,
            "modality": self.card.modality,
            "architecture": self.card.architecture,
            "classes": list(self.card.classes),
            "origin": self.origin,
            "source": self.card.source,
            "input_kind": self.card.input_kind,
            "output_kind": self.card.output_kind,
            "weights": str(self.weights_path) if self.weights_path else None,
            "present": self.present,
            "searched": [str(folder) for folder in self.searched],
            "description": self.card.description,
        }


def search_dirs() -> list[Path]:
    """The folders searched for weights, in priority order (see the module docstring)."""
    folders = [Path(part).expanduser() for part in os.environ.get("XAISCOPE_MODELS", "").split(os.pathsep) if part]
    folders.append(Path.cwd() / "weights")
    folders.append(BUNDLED_DIR)
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def discover() -> tuple[list[ModelEntry], list[str]]:
    """Every model in the search folders plus the five seed models.

    Returns:
        The entries (present ones first, in search-folder order, then by modality and name) and one message per
        file that looked like a checkpoint but could not be used (a broken card, safetensors without a card).
    """
    folders = search_dirs()
    searched = tuple(folders)
    entries: dict[str, ModelEntry] = {}
    problems: list[str] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for weights in sorted(folder.glob("*.safetensors")):
            card_path = weights.with_suffix(".json")
            if not card_path.exists():
                problems.append(f"{weights}: no card {card_path.name} beside it (create one with `xaiscope import`)")
                continue
            try:
                card = ModelCard.load(card_path)
            except CardError as error:
                problems.append(f"{card_path}: {error.problem}")
                continue
            entries.setdefault(card.name, ModelEntry(card, weights, "checkpoint", searched))
        _discover_sources(folder, searched, entries, problems)
        for key in SEED_KEYS:
            weights = folder / f"{key}.pt"
            if key not in entries and weights.is_file():
                entries[key] = ModelEntry(seed_card(key), weights, "seed", searched)
    for key in SEED_KEYS:
        entries.setdefault(key, ModelEntry(seed_card(key), None, "seed", searched))
    def order(entry: ModelEntry) -> tuple[bool, int, str, str]:
        """Present first, then by search folder (the user's before the bundled ones), modality and name."""
        folder = folders.index(entry.weights_path.parent) if entry.weights_path is not None else len(folders)
        return (not entry.present, folder, entry.card.modality, entry.card.name)

    return sorted(entries.values(), key=order), problems


def _discover_sources(folder: Path, searched: tuple[Path, ...], entries: dict[str, ModelEntry],
                      problems: list[str]) -> None:
    """Add a folder's ONNX models (``<name>.onnx`` + ``<name>.json``) and Hugging Face model directories (a
    sub-folder with ``config.json``: its ``xaiscope-card.json``, else a card derived from its configs)."""
    from xaiscope.models.sources import huggingface

    for weights in sorted(folder.glob("*.onnx")):
        card_path = weights.with_suffix(".json")
        if not card_path.exists():
            problems.append(f"{weights}: no card {card_path.name} beside it (create one with `xaiscope import`)")
            continue
        try:
            entries.setdefault(weights.stem, ModelEntry(ModelCard.load(card_path), weights, "onnx", searched))
        except CardError as error:
            problems.append(f"{card_path}: {error.problem}")
    for directory in sorted(path for path in folder.iterdir() if huggingface.is_model_directory(path)):
        try:
            card = huggingface.card_from_directory(directory)
        except XaiscopeError as error:
            problems.append(f"{directory}: {error.problem}")
            continue
        present = any((directory / name).is_file() for name in huggingface.WEIGHT_FILES)
        entries.setdefault(card.name, ModelEntry(card, directory if present else None, "huggingface", searched))


def find_model(name: str) -> ModelEntry:
    """The entry of the model called ``name``.

    Raises:
        UnknownModelError: no such model; the message lists the available ones.
    """
    entries, _ = discover()
    for entry in entries:
        if entry.card.name == name:
            return entry
    available = ", ".join(entry.card.name for entry in entries if entry.present) or "none"
    raise UnknownModelError(f"There is no model called '{name}'. Models with weights: {available}.",
                            "Run `xaiscope models` to see every model and where weights are searched.")


_cache: dict[tuple[str, float], Model] = {}
_cache_lock = threading.Lock()


def load_model(name_or_path: str | os.PathLike[str]) -> Model:
    """Load a model by name (as listed by ``xaiscope models``) or from a ``.safetensors`` / ``.json`` path.

    The result is cached: asking again in the same process returns the same :class:`Model` object, unless the
    weights file changed on disk.

    Raises:
        UnknownModelError, WeightsNotFoundError, NotACheckpointError, UnsafeCheckpointError,
        WeightsMismatchError, CardError.
    """
    text = os.fspath(name_or_path)
    if text.endswith((".safetensors", ".json", ".onnx")):
        suffix = ".onnx" if text.endswith(".onnx") or Path(text).with_suffix(".onnx").exists() else ".safetensors"
        weights = Path(text).with_suffix(suffix)
        card_path = weights.with_suffix(".json")
        if not weights.exists() or not card_path.exists():
            raise WeightsNotFoundError(f"'{weights}' and its card '{card_path.name}' must both exist.",
                                       "Point to a checkpoint written by `xaiscope import` or training.")
        entry = ModelEntry(ModelCard.load(card_path), weights, "checkpoint", (weights.parent,))
    elif Path(text).is_dir():
        from xaiscope.models.sources import huggingface

        directory = Path(text)
        if not huggingface.is_model_directory(directory):
            raise WeightsNotFoundError(f"'{directory}' is not a model directory: looked for "
                                       f"'{directory / 'config.json'}'.",
                                       "Point to a Hugging Face model directory or a .safetensors checkpoint.")
        huggingface.weights_file(directory)
        entry = ModelEntry(huggingface.card_from_directory(directory), directory, "huggingface", (directory,))
    else:
        entry = find_model(text)
    if entry.weights_path is None and entry.origin == "huggingface":
        from xaiscope.models.sources import huggingface

        huggingface.weights_file(next(folder / entry.card.name for folder in entry.searched
                                      if (folder / entry.card.name / "config.json").is_file()))
    if entry.weights_path is None:
        folders = "\n  ".join(str(folder) for folder in entry.searched)
        raise WeightsNotFoundError(
            f"The weights of '{entry.card.name}' ({entry.card.name}.pt or .safetensors) were not found. "
            f"Looked in:\n  {folders}",
            f"Copy {entry.card.name}.pt into ./weights or into a folder named by XAISCOPE_MODELS.")
    key = (str(entry.weights_path.resolve()), entry.weights_path.stat().st_mtime)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _build_model(entry)
        return _cache[key]


def load_default_model(modality: Modality) -> Model:
    """The first model of ``modality`` whose weights are present, in search order (user folders first).

    Raises:
        WeightsNotFoundError: no model of that modality has weights.
    """
    entries, _ = discover()
    for entry in entries:  # in search-folder order: the user's own weights before the bundled demo models
        if entry.present and entry.card.modality == modality:
            return load_model(entry.card.name)
    raise WeightsNotFoundError(f"No {'audio' if modality == 'audio' else 'X-ray'} model has its weights available.",
                               "Run `xaiscope models` to see which weights are missing and where they are searched, "
                               "or name a checkpoint with --model.")


def _build_model(entry: ModelEntry) -> Model:
    """Load an entry through its card's source adapter (:func:`xaiscope.models.sources.build_model`)."""
    from xaiscope.models.sources.loading import build_model

    assert entry.weights_path is not None
    return build_model(entry.card, entry.weights_path)


def save_checkpoint(model: Model, directory: Path) -> Path:
    """Write ``model`` as ``<name>.safetensors`` + ``<name>.json`` in ``directory``; returns the weights path."""
    from xaiscope.models.checkpoint import save_weights

    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"{model.card.name}.safetensors"
    save_weights(model.network, weights)
    model.card.save(weights.with_suffix(".json"))
    return weights


def import_state_dict(path: Path, *, architecture: str, modality: Modality, classes: list[str],
                      output_dir: Path, name: str | None = None, alert_class: str | None = None,
                      cam_target_layer: str | None = None, preprocessing: PreprocessingSpec | None = None,
                      network_options: dict[str, Any] | None = None) -> Path:
    """Convert a plain PyTorch state_dict (``.pt``/``.pth``, read safely) of a registry architecture (a torchvision
    classifier, or a waveform network such as the ASVspoof 2021 baseline's RawNet2) into a product checkpoint.

    The number of outputs is read from the weights: one logit for two classes, else one per class. The
    preprocessing is ``preprocessing`` or the architecture's default for the modality
    (:func:`~xaiscope.models.architectures.default_preprocessing`); an import of one of the earlier tool's five files
    (by its file name) keeps that file's built-in card instead, with its true label order.

    Args:
        path: the state_dict file.
        architecture: architecture name (``xaiscope archs``).
        modality: ``audio`` or ``xray``.
        classes: class names in output order.
        output_dir: folder for the new checkpoint.
        name: model name; defaults to the file stem.
        alert_class: the class to warn about; defaults to a class with a telling name (fake, spoof,
            opacity, abnormal...), else the first class for audio and the last for X-rays.
        cam_target_layer: override of the Grad-CAM layer.
        preprocessing: the spec the weights were trained with (e.g. an ``AudioSpec(renderer="seed-notebook")``).
        network_options: a waveform network's size where it differs from the published one (e.g. RawNet2's
            ``{"gru_node": 256}``); stored complete in the card's ``source_options["network"]``.

    Returns:
        The path of the written ``.safetensors`` file.
    """
    from xaiscope.models.checkpoint import fit_state_dict, head_outputs, read_state_dict
    from xaiscope.models.model import Model

    architecture = canonical_architecture(architecture)
    name = name or path.stem
    options = architecture_options(architecture, network_options)
    state = read_state_dict(path)
    num_outputs = 1 if len(classes) == 2 and head_outputs(state) == 1 else len(classes)
    network = build_network(architecture, num_outputs, options)
    fit_state_dict(network, state, source=path.name, architecture=architecture)
    if path.stem in SEED_KEYS and seed_card(path.stem).architecture == architecture:
        card = seed_card(path.stem).with_updates(name=name)
    else:
        alert_class = alert_class or guess_alert_class(classes, modality)
        spec = preprocessing or default_preprocessing(architecture, modality)
        card = ModelCard(
            name=name, modality=modality, architecture=architecture, classes=tuple(classes), num_outputs=num_outputs,
            preprocessing=spec, input_kind=spec_input_kind(spec),
            alert_class=alert_class, cam_target_layer=cam_target_layer or cam_target_layer_for(architecture, network),
            source=architecture_info(architecture).source, source_options={"network": options} if options else {},
            description=f"{architecture} imported from {path.name}.",
            provenance={"source": f"imported from {path.name} with `xaiscope import`"})
    return save_checkpoint(Model(card, network), output_dir)
