"""Train the demo models with ``xaiscope train``, measure them on held-out sources, export them.

Training runs the real command line (``python -m xaiscope train CONFIG.toml``) on the corpus folders, so the
demo models are made exactly as a user's would be. Evaluation then classifies every test file through the public
API (``load_model``, ``load_input``, ``Model.predict``) and reports metrics overall and per source: for each
source, its clips against every held-out clip of the other class (as ASVspoof reports one EER per attack).
Explanations are checked too: Grad-CAM density inside the fake interval of the partially fake test clips, and
whether Grad-CAM's peak falls inside the lesion of each held-out opacity picture.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tools.demo import DemoBuildError

AUDIO_MODEL = "demo_audio_mobilenet_v2"
XRAY_MODEL = "demo_xray_mobilenet_v2"
#: The third demo model: a small RawNet2 on the raw samples of the same speech corpus, splits and windows.
RAWNET2_MODEL = "demo_audio_rawnet2"

#: The demo RawNet2's size (the ASVspoof 2021 baseline's layout, narrower and shallower: about 0.8 M parameters,
#: 3 MB, instead of 17.6 M): 20 sinc filters of 129 taps, blocks of 20 and 128 channels, one GRU layer of 256.
RAWNET2_OPTIONS: dict[str, Any] = {"sinc_filters": 20, "first_conv": 128, "block_filters": [20, 128], "gru_node": 256,
                                   "nb_gru_layer": 1, "nb_fc_node": 256}


@dataclass(frozen=True)
class TrainPlan:
    """Hyper-parameters of a demo model (each key is an ``xaiscope train`` key). ``arch_options`` sizes a waveform
    network (``image_size`` then does not apply)."""

    epochs: int = 20
    batch_size: int = 16
    lr: float = 2e-3
    image_size: int = 128
    patience: int = 0
    arch: str = "mobilenet_v2"
    arch_options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def subset(cls) -> TrainPlan:
        return cls(epochs=1, batch_size=8)

    @classmethod
    def rawnet2(cls, subset: bool = False) -> TrainPlan:
        """The demo RawNet2's plan: 12 epochs at 1e-3 fit about 15 minutes of a shared 2-core CPU."""
        options = tuple(RAWNET2_OPTIONS.items())
        if subset:
            return cls(epochs=1, batch_size=8, lr=1e-3, arch="rawnet2", arch_options=options)
        return cls(epochs=12, batch_size=16, lr=1e-3, arch="rawnet2", arch_options=options)

    @property
    def waveform(self) -> bool:
        """Whether the architecture reads raw samples (then ``arch_options`` and ``normalize`` replace
        ``image_size``)."""
        from xaiscope.models.architectures import architecture_info

        return architecture_info(self.arch).input_kind == "waveform"


def train_config(name: str, data: Path, output: Path, plan: TrainPlan, seed: int, modality: str) -> str:
    """The TOML config of one demo model."""
    size = ([f"arch_options = {_inline_table(dict(plan.arch_options))}", "normalize = true"] if plan.waveform
            else [f"image_size = {plan.image_size}"])
    lines = [f'data = "{data}"', 'dataset = "folders"', f'modality = "{modality}"', f'name = "{name}"',
             f'arch = "{plan.arch}"', 'init = "random"', 'freeze = "none"', *size,
             f"epochs = {plan.epochs}", f"batch_size = {plan.batch_size}", f"lr = {plan.lr}",
             'monitor = "roc_auc"', "balance_classes = true", f"patience = {plan.patience}", f"seed = {seed}",
             'device = "cpu"',
             "num_workers = 1", f'output = "{output}"', f'cache_dir = "{output / "cache"}"', "progress = false",
             "resume = false",
             # The final weights get new BatchNorm statistics (finalise_weights), so calibration is fitted after
             # that, on the exported model (tools.demo.trust), not by the training run.
             "calibrate = false"]
    if modality == "audio":
        lines += ["window_seconds = 2.0", "hop_seconds = 1.0", 'pad = "repeat"', 'aggregation = "max"']
    return "\n".join(lines) + "\n"


def _inline_table(values: dict[str, Any]) -> str:
    """A TOML inline table of JSON-compatible values (numbers, strings, lists of them)."""
    return "{" + ", ".join(f"{key} = {json.dumps(value)}" for key, value in values.items()) + "}"


def run_training(name: str, data: Path, output: Path, plan: TrainPlan, seed: int, modality: str,
                 log: Callable[[str], None] = print) -> Path:
    """Write the config and run ``xaiscope train`` on it; returns the best checkpoint.

    Raises:
        DemoBuildError: training failed.
    """
    output.mkdir(parents=True, exist_ok=True)
    config = output / f"{name}.toml"
    config.write_text(train_config(name, data, output, plan, seed, modality), encoding="utf-8")
    log(f"  xaiscope train {config}")
    result = subprocess.run([sys.executable, "-m", "xaiscope", "train", str(config)], check=False)
    checkpoint = output / f"{name}.safetensors"
    if result.returncode != 0 or not checkpoint.is_file():
        raise DemoBuildError(f"Training {name} failed (exit status {result.returncode}).",
                             f"Read the output above; the run folder is {output}.")
    return checkpoint


def finalise_weights(name: str, run: Path, data: Path, log: Callable[[str], None] = print) -> Path:
    """The last epoch's weights with their BatchNorm statistics re-estimated on the training split.

    MobileNetV2 trained from scratch for a few hundred steps keeps running statistics that lag far behind its
    weights, so its eval-mode outputs collapse to a constant (while train-mode outputs separate the classes).
    Re-estimating the statistics with the final weights ("precise BN": one pass over the training split in
    train mode, no gradient, cumulative averages) fixes that without changing any learned weight. Written to
    ``<run>/final/<name>.safetensors`` with the trained card (its provenance says so).
    """
    import torch

    from xaiscope.data import DataOptions, open_split
    from xaiscope.inputs import load_input
    from xaiscope.models import load_model
    from xaiscope.models.model import Model
    from xaiscope.models.store import save_checkpoint
    from xaiscope.preprocessing import model_inputs

    model = load_model(run / f"{name}.safetensors")
    state = torch.load(run / "last.pt", weights_only=True, map_location="cpu")
    network = model.network
    network.load_state_dict(state["network"])
    split = open_split(data, "training", DataOptions(kind="folders", modality=model.card.modality))
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(split.records), generator=generator).tolist()
    batches = [order[start:start + 32] for start in range(0, len(order), 32)]
    for module in network.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None
    network.train()
    with torch.no_grad():
        for batch in batches:
            inputs = [model_inputs(load_input(split.records[index].path), model.card.preprocessing).tensor[:1]
                      for index in batch]
            network(torch.cat(inputs))
    network.eval()
    for module in network.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = 0.1
    provenance = dict(model.card.provenance)
    provenance["weights"] = (f"last epoch ({state['epoch']}) of the run; BatchNorm statistics re-estimated on the "
                             f"{len(order)} training files (precise BN), no learned weight changed")
    card = model.card.with_updates(provenance=provenance)
    log(f"  {name}: BatchNorm statistics re-estimated on {len(order)} training files")
    return save_checkpoint(Model(card, network), run / "final")


# --- held-out evaluation ----------------------------------------------------------------------------------------


def _metrics(labels: list[int], probabilities: list[list[float]], classes: tuple[str, ...], alert: str,
             audio: bool) -> dict[str, Any]:
    from xaiscope.training.metrics import classification_metrics

    metrics = classification_metrics(np.asarray(labels), np.asarray(probabilities), classes, alert, with_eer=audio)
    keep = ("samples", "accuracy", "roc_auc", "eer", "eer_threshold", "confusion_matrix")
    return {key: _round(metrics[key]) for key in keep if key in metrics}


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_round(item) for item in value]
    return value


def evaluate_by_source(checkpoint: Path, corpus: Path, split: str = "testing") -> dict[str, Any]:
    """Classify every file of ``split`` listed in ``corpus/manifest.jsonl``; metrics overall and per source.

    Returns:
        ``{"overall": metrics, "per_source": {source: metrics}}``; a source's metrics compare its files with
        every file of the other class in the split (accuracy is over that union too; ``source_accuracy`` is over
        the source's own files).
    """
    from xaiscope.inputs import load_input
    from xaiscope.models import load_model

    model = load_model(checkpoint)
    classes = model.classes
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if row["split"] == split]
    results = []
    for row in rows:
        prediction = model.predict(load_input(corpus / row["file"]))
        results.append((row, classes.index(row["label"]), [prediction.probabilities[name] for name in classes]))
    audio = model.card.modality == "audio"
    overall = _metrics([r[1] for r in results], [r[2] for r in results], classes, model.card.alert_class, audio)
    per_source = {}
    for source in sorted({row["source"] for row, _, _ in results}):
        own = [r for r in results if r[0]["source"] == source]
        label = own[0][1]
        others = [r for r in results if r[1] != label]
        chosen = own + others
        metrics = _metrics([r[1] for r in chosen], [r[2] for r in chosen], classes, model.card.alert_class, audio)
        metrics["source_files"] = len(own)
        metrics["source_accuracy"] = round(float(np.mean([np.argmax(r[2]) == r[1] for r in own])), 4)
        metrics["label"] = classes[label]
        per_source[source] = metrics
    return {"split": split, "overall": overall, "per_source": per_source}


def audio_localisation(checkpoint: Path, partial: Path, layer: str | None = None) -> dict[str, Any]:
    """Grad-CAM on each partially fake clip: detected as fake, and attribution per second inside vs outside the
    fake interval within the explained (decisive) window."""
    from xaiscope.explainers import explain
    from xaiscope.inputs import load_input
    from xaiscope.models import load_model
    from xaiscope.views.audio import AudioView

    model = load_model(checkpoint)
    rows = [json.loads(line) for line in (partial / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    clips = []
    for row in rows:
        sample = load_input(partial.parent / row["file"])
        prediction = model.predict(sample)
        explanation = explain(model, sample, "gradcam", target=model.card.alert_class,
                              **({"layer": layer} if layer else {}))
        ratio = density_ratio(AudioView.build(explanation), row["fake_interval"])
        clips.append({"file": row["file"], "engine": row["engine"], "fake_interval": row["fake_interval"],
                      "p_fake": round(prediction.probabilities[model.card.alert_class], 4),
                      "detected": prediction.label == model.card.alert_class, "density_ratio": round(ratio, 3)})
    return {"clips": clips, "detected": sum(c["detected"] for c in clips),
            "denser_inside": sum(c["density_ratio"] > 1 for c in clips), "total": len(clips),
            "median_density_ratio": round(float(np.median([c["density_ratio"] for c in clips])), 3) if clips else None}


def density_ratio(view: Any, interval: list[float]) -> float:
    """Positive attribution per second inside ``interval`` divided by that outside it (within the window and the
    recording, on the time-frequency plane); ``inf`` when nothing of the window lies outside."""
    attribution = view.plane.positive().sum(axis=0)
    times = view.times
    real = view.plane.real_frames
    inside = real & (times >= interval[0]) & (times <= interval[1])
    outside = real & ~inside
    if not outside.any():
        return float("inf")
    return float((attribution[inside].mean() if inside.any() else 0.0) / (attribution[outside].mean() + 1e-12))


def xray_localisation(checkpoint: Path, corpus: Path, layer: str | None = None, split: str = "testing",
                      ) -> dict[str, Any]:
    """Grad-CAM (class ``opacity``) on each held-out opacity picture: is its peak inside the lesion mask?"""
    from PIL import Image

    from xaiscope.explainers import explain
    from xaiscope.inputs import load_input
    from xaiscope.models import load_model

    model = load_model(checkpoint)
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if row["split"] == split and row.get("lesion")]
    hits = []
    for row in rows:
        sample = load_input(corpus / row["file"])
        explanation = explain(model, sample, "gradcam", target=model.card.alert_class,
                              **({"layer": layer} if layer else {}))
        hits.append(peak_in_mask(explanation.attribution, np.asarray(Image.open(corpus / row["lesion"])) > 127))
    return {"pictures": len(hits), "peak_inside_lesion": int(sum(hits)),
            "pointing_game": round(float(np.mean(hits)), 4) if hits else None}


def peak_in_mask(attribution: np.ndarray, mask: np.ndarray) -> bool:
    """Whether the attribution's maximum (in model-input space) falls inside ``mask`` (any size, same aspect)."""
    row, col = np.unravel_index(int(np.argmax(attribution)), attribution.shape)
    y = int((row + 0.5) / attribution.shape[0] * mask.shape[0])
    x = int((col + 0.5) / attribution.shape[1] * mask.shape[1])
    return bool(mask[min(y, mask.shape[0] - 1), min(x, mask.shape[1] - 1)])
