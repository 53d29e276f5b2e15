"""Explanation speed on the CPU: every method on ResNet50 and MobileNetV2, side by side with bare forward passes
and with the earlier tool's way of running LIME and SHAP.

Usage: .venv/bin/python benchmarks/explain_speed.py [--models resnet50,mobilenet_v2] [--quick] [--markdown FILE]

For each model (random weights: speed does not depend on them) and one spectrogram input, the script measures:

* the seconds one image takes through the bare network in batches of 32 (``forward s/call``);
* each registered method with its default parameters: seconds, model calls, and its overhead, i.e. its time
  divided by the time of the same number of bare forward passes;
* the earlier tool's calls, written here as it ran them: ``lime_image`` with ``num_samples=1000,
  batch_size=10``, and shap's Partition explainer with ``blur(64,64)``, ``max_evals=1000, batch_size=8``, each
  with a plain ``classifier_fn``; and the time ratio of xaiscope's LIME and SHAP to those.

``--quick`` divides the sample counts by 10 (a smoke run, not the figures to report).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torchvision

from xaiscope.explainers import REGISTRY, explain, get_method
from xaiscope.inputs import load_input
from xaiscope.models import Model, seed_card

KEYS = {"resnet50": "audio_resnet50", "mobilenet_v2": "audio_mobilenetv2"}


def speech_bytes(seconds: float = 3.0, rate: int = 16000) -> bytes:
    import io

    import soundfile

    rng = np.random.default_rng(0)
    times = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(150 * (1 + 0.2 * np.sin(2 * np.pi * 0.7 * times))) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * times))
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.2 * voiced + 0.01 * rng.standard_normal(len(times))).astype(np.float32), rate,
                    format="WAV")
    return buffer.getvalue()


def forward_seconds_per_call(model: Model, inputs: torch.Tensor, calls: int = 64, batch: int = 32) -> float:
    images = inputs.expand(batch, -1, -1, -1).contiguous()
    with torch.inference_mode():
        model.class_view(images[:2])
        started = time.perf_counter()
        for _ in range(calls // batch):
            model.class_view(images)
    return (time.perf_counter() - started) / (calls // batch * batch)


def earlier_lime(model: Model, picture: np.ndarray, samples: int) -> float:
    """The earlier tool's LIME call (lime's defaults: quickshift, hide_color=0 as it set it)."""
    from lime import lime_image

    spec = model.card.preprocessing
    mean, std = np.asarray(spec.mean), np.asarray(spec.std)

    def classifier_fn(images: np.ndarray) -> np.ndarray:
        batch = torch.tensor(((images - mean) / std).transpose(0, 3, 1, 2), dtype=torch.float32)
        with torch.no_grad():
            probability = torch.sigmoid(model.network(batch)).numpy()
        return np.concatenate([1 - probability, probability], axis=1)

    started = time.perf_counter()
    lime_image.LimeImageExplainer().explain_instance(picture, classifier_fn, top_labels=2, hide_color=0,
                                                     num_samples=samples, batch_size=10)
    return time.perf_counter() - started


def earlier_shap(model: Model, picture: np.ndarray, evaluations: int) -> float:
    """The earlier tool's SHAP call: Partition explainer, blur(64,64) image masker, batch_size=8."""
    import shap

    spec = model.card.preprocessing
    mean, std = np.asarray(spec.mean), np.asarray(spec.std)

    def predict(images: np.ndarray) -> np.ndarray:
        batch = torch.tensor(((np.asarray(images) - mean) / std).transpose(0, 3, 1, 2), dtype=torch.float32)
        with torch.no_grad():
            probability = torch.sigmoid(model.network(batch)).numpy()
        return np.concatenate([1 - probability, probability], axis=1)

    masker = shap.maskers.Image("blur(64,64)", picture.shape)
    explainer = shap.Explainer(predict, masker, output_names=["fake", "real"])
    started = time.perf_counter()
    explainer(picture[None].astype(np.float32), max_evals=evaluations, batch_size=8,
              outputs=shap.Explanation.argsort.flip[:1])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet50,mobilenet_v2")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    torch.manual_seed(0)
    torch.set_num_threads(torch.get_num_threads())
    sample = load_input(speech_bytes(), name="speech.wav")
    lines = ["| model | method | seconds | model calls | overhead vs bare forward | vs earlier tool |",
             "|---|---|---|---|---|---|"]
    for architecture in args.models.split(","):
        card = seed_card(KEYS[architecture])
        network = getattr(torchvision.models, architecture)(num_classes=1).eval()
        model = Model(card, network)
        first = explain(model, sample, "gradcam")  # warm-up: imports, first-call allocations
        inputs = torch.from_numpy(((first.picture / 255.0 - np.asarray(card.preprocessing.mean))
                                   / np.asarray(card.preprocessing.std)).transpose(2, 0, 1)[None].astype(np.float32))
        per_call = forward_seconds_per_call(model, inputs)
        print(f"{architecture}: bare forward {per_call * 1e3:.1f} ms per image (batches of 32)", flush=True)
        lines.append(f"| {architecture} | bare forward | {per_call:.4f} per call | 1 | 1.0 | |")
        picture = first.picture.astype(np.float64) / 255.0
        theirs = {"lime": earlier_lime(model, picture, 1000 // scale),
                  "shap": earlier_shap(model, picture, 1000 // scale)}
        for name in ("lime", "shap"):
            label = "earlier tool's " + ("lime_image" if name == "lime" else "shap Partition")
            lines.append(f"| {architecture} | {label} | {theirs[name]:.2f} | {1000 // scale} | "
                         f"{theirs[name] / (1000 // scale * per_call):.2f} | 1.00 |")
            print(lines[-1], flush=True)
        for name, method in REGISTRY.items():
            if method.family == "control":
                continue
            params = {}
            if args.quick:
                for key in ("samples", "max_evals", "steps"):
                    if any(p.name == key for p in method.params):
                        default = next(p.default for p in method.params if p.name == key)
                        params[key] = max(default // scale, get_method(name).params[0].minimum or 1)
            explanation = explain(model, sample, name, **params)
            overhead = explanation.seconds / (explanation.model_calls * per_call)
            ratio = f"{explanation.seconds / theirs[name]:.2f}" if name in theirs else ""
            lines.append(f"| {architecture} | {explanation.label} | {explanation.seconds:.2f} | "
                         f"{explanation.model_calls} | {overhead:.2f} | {ratio} |")
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    print()
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")


if __name__ == "__main__":
    main()
