"""The ModelCard: everything needed to use a set of weights correctly, saved beside them as JSON.

A card states the architecture, the modality, the class names *in output order*, how many logits the network
has, the preprocessing spec, the Grad-CAM target layer and where the model came from. A single-logit card
means ``sigmoid(logit) = P(classes[1])``; the earlier tool's audio weights are such a card with
``classes = ("fake", "real")``, because ``ImageFolder`` sorted its folders alphabetically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

from xaiscope.errors import CardError
from xaiscope.inputs.sample import MODALITIES, Modality
from xaiscope.preprocessing.spec import (
    AUDIO_SPECS,
    XRAY_SPECS,
    InputKind,
    PreprocessingSpec,
    spec_from_dict,
    spec_input_kind,
    spec_to_dict,
)

CARD_SCHEMA_VERSION = 1

#: What a network takes: see :data:`xaiscope.preprocessing.spec.InputKind` (defined beside the specs that build it).
INPUT_KINDS: tuple[str, ...] = get_args(InputKind)
#: What a network returns: ``single-logit`` one logit z with sigmoid(z) = P(classes[1]); ``softmax`` one logit per
#: class, softmax over them; ``multi-label`` one logit per label, each label's probability its own sigmoid (labels
#: are not exclusive, probabilities do not sum to 1).
OutputKind = Literal["single-logit", "softmax", "multi-label"]
OUTPUT_KINDS: tuple[str, ...] = get_args(OutputKind)
#: Where a network comes from; the store builds it through the source adapter of that name
#: (:mod:`xaiscope.models.sources`). ``xaiscope`` is a network of xaiscope's own code (the waveform family of the
#: architecture registry, e.g. RawNet2), built through the same registry adapter as ``torchvision``.
Source = Literal["torchvision", "timm", "huggingface", "torchxrayvision", "onnx", "xaiscope"]
SOURCES: tuple[str, ...] = get_args(Source)

#: Shown with every model that is not validated for real-world use.
NOT_FOR_DECISIONS = ("For research and for trying the tool: not validated for forensic or clinical decisions. "
                     "It supports expert judgement and does not replace it.")


@dataclass(frozen=True)
class ModelCard:
    """Metadata of one model.

    Attributes:
        name: unique model name (the checkpoint's file stem).
        modality: ``audio`` or ``xray``.
        architecture: the source's name of the network (torchvision builder, timm model name, Hugging Face
            architecture class, torchxrayvision weights name, ``onnx``).
        classes: class names (labels, for a multi-label model) in output order.
        num_outputs: number of logits: 1 for a single-logit binary model (``sigmoid = P(classes[1])``), else
            ``len(classes)``.
        preprocessing: the spec that turns a sample into this model's input.
        alert_class: the class the detector warns about (``fake``, ``opacity``); drives the ``max``
            aggregation of audio windows and how verdicts are worded.
        cam_target_layer: dotted module path used by CAM methods.
        input_kind: what the network takes (see :data:`InputKind`); must match the preprocessing spec.
        output_kind: what it returns (see :data:`OutputKind`). ``single-logit`` whenever ``num_outputs`` is 1;
            otherwise ``softmax`` (the default) or ``multi-label``.
        source: where the network comes from (see :data:`Source`); ``torchvision`` for every older card.
        source_options: what the source adapter needs beyond the architecture, e.g. the weights file name inside
            a Hugging Face directory, a ViT's token-to-grid reshape for CAM, an ONNX input name, a waveform network's
            size (``network``).
        description: one paragraph for people.
        intended_use: what the model may and may not be used for.
        provenance: data, training run, metrics, source of the weights.
        input_range: what the training inputs looked like, for the cheap input checks (audio: speech share,
            bandwidth, sample rate, duration, clipping; X-ray: DICOM modalities, body parts, views); None = the
            defaults of :mod:`xaiscope.trust`.
        calibration: the post-hoc calibration (``{"method": "temperature", "temperature": T, ...}`` with the
            ECE and NLL before and after, and what it was fitted on); None = uncalibrated.
        familiarity: the applicability reference (method, sidecar file, thresholds at validation percentiles,
            the measured comparison of methods); None = not assessed. See :mod:`xaiscope.trust.familiarity`.
    """

    name: str
    modality: Modality
    architecture: str
    classes: tuple[str, ...]
    num_outputs: int
    preprocessing: PreprocessingSpec
    alert_class: str
    cam_target_layer: str | None = None
    input_kind: InputKind = "picture"
    output_kind: OutputKind = "softmax"
    source: Source = "torchvision"
    source_options: dict[str, Any] = field(default_factory=dict, hash=False)
    description: str = ""
    intended_use: str = NOT_FOR_DECISIONS
    provenance: dict[str, Any] = field(default_factory=dict)
    input_range: dict[str, Any] | None = None
    calibration: dict[str, Any] | None = None
    familiarity: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.modality not in MODALITIES:
            problems.append(f"modality must be one of {MODALITIES}, not '{self.modality}'")
        if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
            problems.append(f"classes must be at least two distinct names, not {list(self.classes)}")
        if self.num_outputs not in (1, len(self.classes)) or (self.num_outputs == 1 and len(self.classes) != 2):
            problems.append(f"num_outputs={self.num_outputs} does not fit {len(self.classes)} classes "
                            "(use 1 for a single-logit binary model, else the number of classes)")
        if self.alert_class not in self.classes:
            problems.append(f"alert_class '{self.alert_class}' is not one of the classes {list(self.classes)}")
        expected_specs = AUDIO_SPECS if self.modality == "audio" else XRAY_SPECS
        if not isinstance(self.preprocessing, expected_specs):
            problems.append(f"a {self.modality} model needs "
                            f"{' or '.join(spec.__name__ for spec in expected_specs)} preprocessing")
        if self.input_kind not in INPUT_KINDS:
            problems.append(f"input_kind must be one of {INPUT_KINDS}, not '{self.input_kind}'")
        elif spec_input_kind(self.preprocessing) != self.input_kind:
            problems.append(f"input_kind '{self.input_kind}' does not fit its "
                            f"'{spec_input_kind(self.preprocessing)}' preprocessing")
        if self.num_outputs == 1:
            object.__setattr__(self, "output_kind", "single-logit")  # one logit is always a single-logit model
        if self.output_kind not in OUTPUT_KINDS:
            problems.append(f"output_kind must be one of {OUTPUT_KINDS}, not '{self.output_kind}'")
        elif self.output_kind == "single-logit" and self.num_outputs != 1:
            problems.append(f"a single-logit model has one output, not {self.num_outputs}")
        if self.source not in SOURCES:
            problems.append(f"source must be one of {SOURCES}, not '{self.source}'")
        if problems:
            raise CardError(f"The model card '{self.name}' is inconsistent: " + "; ".join(problems) + ".",
                            "Fix the card JSON, or re-create it with `xaiscope import`.")

    @property
    def multi_label(self) -> bool:
        """True when each class is a label of its own (sigmoid per output, several may be present)."""
        return self.output_kind == "multi-label"

    def with_updates(self, **changes: Any) -> ModelCard:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stable key order."""
        return {
            "schema_version": CARD_SCHEMA_VERSION,
            "name": self.name,
            "modality": self.modality,
            "architecture": self.architecture,
            "classes": list(self.classes),
            "num_outputs": self.num_outputs,
            "alert_class": self.alert_class,
            "preprocessing": spec_to_dict(self.preprocessing),
            "cam_target_layer": self.cam_target_layer,
            "input_kind": self.input_kind,
            "output_kind": self.output_kind,
            "source": self.source,
            "source_options": self.source_options,
            "description": self.description,
            "intended_use": self.intended_use,
            "provenance": self.provenance,
            "input_range": self.input_range,
            "calibration": self.calibration,
            "familiarity": self.familiarity,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        """Inverse of :meth:`to_dict`.

        Raises:
            CardError: missing keys, wrong types or a newer schema version.
        """
        version = data.get("schema_version", CARD_SCHEMA_VERSION)
        if not isinstance(version, int) or version > CARD_SCHEMA_VERSION:
            raise CardError(f"The model card uses schema version {version}; this xaiscope reads up to "
                            f"{CARD_SCHEMA_VERSION}.", "Update xaiscope.")
        try:
            return cls(
                name=str(data["name"]),
                modality=data["modality"],
                architecture=str(data["architecture"]),
                classes=tuple(str(name) for name in data["classes"]),
                num_outputs=int(data["num_outputs"]),
                preprocessing=spec_from_dict(dict(data["preprocessing"])),
                alert_class=str(data["alert_class"]),
                cam_target_layer=data.get("cam_target_layer"),
                input_kind=data.get("input_kind", "picture"),
                output_kind=data.get("output_kind") or "softmax",
                source=data.get("source", "torchvision"),
                source_options=dict(data.get("source_options") or {}),
                description=str(data.get("description", "")),
                intended_use=str(data.get("intended_use", NOT_FOR_DECISIONS)),
                provenance=dict(data.get("provenance", {})),
                # Optional since issue 12; cards written before it have none of the three.
                input_range=_optional_dict(data, "input_range"),
                calibration=_optional_dict(data, "calibration"),
                familiarity=_optional_dict(data, "familiarity"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CardError(f"The model card is missing or mistypes a field ({error}).",
                            "Re-create the card with `xaiscope import`.") from error

    def save(self, path: Path) -> None:
        """Write the card as indented JSON (atomically: a crash never leaves half a card)."""
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        """Read a card written by :meth:`save`.

        Raises:
            CardError: unreadable file or invalid JSON or content.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CardError(f"The model card '{path}' cannot be read ({error}).",
                            "Restore it from the checkpoint's source, or re-create it with `xaiscope import`.") \
                from error
        if not isinstance(data, dict):
            raise CardError(f"The model card '{path}' is not a JSON object.", "Re-create it with `xaiscope import`.")
        return cls.from_dict(data)


def _optional_dict(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    """``data[key]`` as a dict, None when absent or null (older cards)."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"'{key}' must be an object, not {type(value).__name__}")
    return dict(value)


_ALERT_NAMES = ("fake", "spoof", "deepfake", "synthetic", "opacity", "abnormal", "positive", "disease")


def guess_alert_class(classes: list[str], modality: str) -> str:
    """The class to warn about, from telling names (fake, spoof, opacity...); else the first class for audio
    (``fake`` sorts before ``real``) and the last for X-rays."""
    for name in classes:
        if name.lower() in _ALERT_NAMES:
            return name
    return classes[0] if modality == "audio" else classes[-1]
