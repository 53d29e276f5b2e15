"""Built-in cards for the earlier tool's five weight files (``weights/<key>.pt``, plain state_dicts).

Facts from its training notebook (SEED.md):

* Audio models were trained with ``ImageFolder`` over ``fake/`` and ``real/``, which sorts alphabetically, so
  output index 1 is **real**: ``sigmoid(logit) = P(real)``. (The earlier app showed it as "fake", inverting
  every audio verdict; these cards state the true order.)
* X-ray models predict CheXpert's ``Lung Opacity`` (U-Ignore): index 1 = ``opacity``.
* Their spectrograms came from the training notebook's matplotlib drawing: renderer ``seed-notebook``.

The notebook rendered each whole FoR clip (mostly a few seconds long) into one picture. For longer recordings
these cards use 3-second windows every 1.5 seconds (decision: the order of a typical for-norm clip, so each
window's picture is stretched about as much as the training pictures were), and the verdict follows the most
suspicious window (``max`` aggregation) so that a short fake passage is not averaged away.
"""

from __future__ import annotations

from typing import Any

from xaiscope.inputs.sample import Modality
from xaiscope.models.architectures import KNOWN_ARCHITECTURES
from xaiscope.models.card import NOT_FOR_DECISIONS, ModelCard
from xaiscope.preprocessing.spec import AudioSpec, XraySpec

SEED_AUDIO_SPEC = AudioSpec(renderer="seed-notebook", sample_rate=16000, n_fft=2048, hop_length=512, n_mels=128,
                            top_db=80.0, window_seconds=3.0, hop_seconds=1.5, pad="none", aggregation="max")
SEED_XRAY_SPEC = XraySpec()

_AUDIO_PROVENANCE = {
    "source": "earlier xaiscope prototype (student tool), weights file weights/{key}.pt",
    "data": "Fake-or-Real (FoR) for-norm; ImageFolder over fake/ and real/",
    "training": "torchvision {arch}, backbone frozen, 5 epochs, BCE on one logit",
    "label_order_note": "index 1 = real (ImageFolder sorts fake < real); the earlier app displayed it inverted",
}
_XRAY_PROVENANCE = {
    "source": "earlier xaiscope prototype (student tool), weights file weights/{key}.pt",
    "data": "CheXpert-v1.0-small, observation 'Lung Opacity', U-Ignore (-1 and blank dropped), frontal+lateral",
    "training": "torchvision {arch}, BCE on one logit",
}

_SEED_MODELS: dict[str, tuple[Modality, str, dict[str, Any]]] = {
    # key: (modality, architecture, reported test metrics from SEED.md)
    "audio_vgg16": ("audio", "vgg16", {"for-norm test accuracy": 0.812}),
    "audio_resnet50": ("audio", "resnet50", {"for-norm test accuracy": 0.639}),
    "audio_mobilenetv2": ("audio", "mobilenet_v2", {"for-norm test accuracy": 0.628}),
    "xray_alexnet": ("xray", "alexnet", {"chexpert valid accuracy": 0.624}),
    "xray_densenet121": ("xray", "densenet121", {"chexpert valid accuracy": 0.551,
                                                  "note": "predicts nearly every image positive"}),
}


def seed_card(key: str) -> ModelCard:
    """The built-in card for one of the earlier tool's weight files (``key`` = file stem)."""
    modality, architecture, metrics = _SEED_MODELS[key]
    template = _AUDIO_PROVENANCE if modality == "audio" else _XRAY_PROVENANCE
    provenance: dict[str, Any] = {name: text.format(key=key, arch=architecture) for name, text in template.items()}
    provenance["metrics"] = metrics
    audio = modality == "audio"
    return ModelCard(
        name=key,
        modality=modality,
        architecture=architecture,
        classes=("fake", "real") if audio else ("no_opacity", "opacity"),
        num_outputs=1,
        preprocessing=SEED_AUDIO_SPEC if audio else SEED_XRAY_SPEC,
        alert_class="fake" if audio else "opacity",
        cam_target_layer=KNOWN_ARCHITECTURES[architecture].cam_target_layer,
        description=(f"The earlier tool's {architecture} "
                     f"{'deepfake speech detector' if audio else 'lung opacity classifier'}, "
                     "with its true label order."),
        intended_use=NOT_FOR_DECISIONS,
        provenance=provenance,
    )


SEED_KEYS: tuple[str, ...] = tuple(_SEED_MODELS)
