"""Export a trained demo model into ``xaiscope/bundled_models`` with a card that says plainly what it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xaiscope.models.architectures import architecture_info
from xaiscope.models.card import ModelCard
from xaiscope.models.store import BUNDLED_DIR, load_model, save_checkpoint

REBUILD_COMMAND = "make demo"

INTENDED_USE = ("Demo model for trying xaiscope offline. Trained on a tiny offline corpus ({corpus}); its metrics "
                "say nothing about real-world performance. Not for forensic or clinical decisions: it supports "
                "nothing beyond learning how the tool works.")

DESCRIPTIONS = {
    "audio": ("MobileNetV2 (random initialisation, 128 px mel-spectrogram pictures, 2 s windows) trained by "
              "`python -m tools.demo build` to tell real speech (Debian pocketsphinx-testdata and codec2-examples "
              "recordings) from synthetic speech (piper 'joe' neural voice, flite, espeak-ng, codec2 vocoding). "
              "Classes fake, real in output order: sigmoid(logit) = P(real)."),
    "xray": ("MobileNetV2 (random initialisation, 128 px) trained by `python -m tools.demo build` on synthetic "
             "chest-like pictures shaped by real lung masks, with and without inserted opacities. Classes no_opacity, "
             "opacity in output order. It has never seen a real chest X-ray with a real finding."),
}

#: The demo RawNet2's description (its modality's entry above describes the MobileNetV2).
RAWNET2_DESCRIPTION = (
    "RawNet2 (the ASVspoof 2021 baseline's layout, made small: 20 fixed mel-spaced sinc filters of 129 taps, residual "
    "blocks of 20 and 128 channels with filter-wise attention, one GRU layer of 256; random initialisation) trained by "
    "`python -m tools.demo build --only rawnet2` on the raw samples of 2 s windows (16 kHz, each window scaled to zero "
    "mean and unit variance) of the same speech corpus and splits as demo_audio_mobilenet_v2. Classes fake, real in "
    "output order: sigmoid(logit) = P(real). A raw-waveform model: no spatial grid, so no CAM method applies.")

CORPUS_WORDS = {"audio": "a few hundred 2-second clips of a few dozen real speakers and synthetic voices",
                "xray": "a few hundred synthetic 256-pixel chest-like pictures"}


def export_model(checkpoint: Path, name: str, evaluation: dict[str, Any], corpus: dict[str, Any],
                 cam_target_layer: str | None = None, directory: Path = BUNDLED_DIR, description: str | None = None,
                 rebuild: str = REBUILD_COMMAND) -> Path:
    """Write ``<directory>/<name>.safetensors`` and its card.

    Args:
        checkpoint: the trained checkpoint (``xaiscope train`` output).
        name: the exported model's name.
        evaluation: held-out metrics (overall, per source, explanation checks).
        corpus: the corpus summary (sources, sizes per split).
        cam_target_layer: the Grad-CAM layer to state in the card (default: the trained card's).
        directory: where to write.
        description: the card's description (default: the modality's MobileNetV2 text).
        rebuild: the command that rebuilds it, for the provenance.
    """
    model = load_model(checkpoint)
    trained = model.card
    provenance = {
        "source": f"trained with `xaiscope train` by `python -m tools.demo build`; rebuild with `{rebuild}`",
        "status": "demo model: tiny offline corpus, for trying the tool; not validated for any decision",
        "corpus": corpus,
        "held_out_metrics": evaluation,
        "training": {key: trained.provenance.get(key) for key in ("hyperparameters", "training", "weights")},
        "data_splits": trained.provenance.get("data", {}).get("splits"),
    }
    hyper = provenance["training"]["hyperparameters"] or {}
    for key in ("data", "output", "cache_dir"):
        if key in hyper:
            hyper[key] = Path(str(hyper[key])).name
    card = ModelCard(
        name=name, modality=trained.modality, architecture=trained.architecture, classes=trained.classes,
        num_outputs=trained.num_outputs, preprocessing=trained.preprocessing, alert_class=trained.alert_class,
        cam_target_layer=cam_target_layer or trained.cam_target_layer, input_kind=trained.input_kind,
        source=architecture_info(trained.architecture).source, source_options=trained.source_options,
        description=description or DESCRIPTIONS[trained.modality],
        intended_use=INTENDED_USE.format(corpus=CORPUS_WORDS[trained.modality]),
        provenance=provenance)
    network = model.network
    from xaiscope.models.model import Model

    return save_checkpoint(Model(card, network), directory)
