"""Explanation speed on the CPU, in one run: bare forward passes, every method under its defaults and the model's
precision policy, and the earlier tool's own LIME and SHAP calls, on ResNet50 and MobileNetV2, with fidelity and
precision columns.

Usage: .venv/bin/python benchmarks/explain_speed.py [--models resnet50,mobilenet_v2] [--methods a,b] [--skip scorecam]
           [--precision auto] [--quick] [--markdown FILE]

For each model of :data:`MODELS` (random, seeded weights: speed does not depend on them) and one 3-second speech-like
recording (one window), the script measures:

* ``bare forward``: seconds per image through the bare network at fp32 and at the model's precision (batches of 10,
  the perturbation methods' batch size), and for one image at the model's precision (what a CAM method pays);
* ``Grad-CAM end to end``: the wall time of ``explain(model, sample, "gradcam")`` once the verdict is known (as the
  app and the CLI call it), against one bare forward pass of one image plus the spectrogram render of the window;
* every method of :data:`METHODS` (default: every registered method but the ``random`` control) with its defaults:
  seconds, model calls, the precision it ran at, its overhead (its time over the same number of bare forward
  passes at that precision), and its fidelity to a *reference*: the same method at fp32 with 4x the calls where it
  has a call budget (``samples``, ``max_evals``, ``steps``; Occlusion half the stride), else at fp32 alone. Fidelity
  is the Spearman rank correlation of the two maps and the difference of their deletion AUCs (the ``deletion``
  metric's defaults, scored at fp32);
* the earlier tool's calls, written here as it ran them: ``lime_image`` with ``num_samples=1000, batch_size=10``,
  and shap's Partition explainer with ``blur(64,64)``, ``max_evals=1000, batch_size=8``, each with a plain fp32
  ``classifier_fn``; the LIME and SHAP rows give their time as a fraction of those.

Targets (issue 15): Grad-CAM end to end <= 1.5x one bare forward pass plus the render; LIME and SHAP <= 1/5 of the
earlier tool's seconds at rank correlation >= 0.9 and deletion AUC within 0.02 of the reference.

Extension point: :data:`MODELS` (architecture -> seed card key) and :data:`METHODS` (registry names, in table order;
None = every registered method). A new method (e.g. an audio "tile" method) is registered in xaiscope and appears
here by itself, or is named in ``METHODS`` / ``--methods``; :data:`BUDGET_PARAMS` says how its reference gets 4x the
calls.

Tile methods (issue 14), which take the recording rather than the model input: each with its defaults on both demo
audio models of :data:`TILE_MODELS` (the mel-CNN and the waveform RawNet2) and the bundled partially fake clip, with
seconds, model calls, seconds per call, and their overhead over a bare forward pass of the same model (what hiding
tiles, resynthesising and the model's own preprocessing add to each call).

``--quick`` divides the call budgets by 10 (a smoke run, not the figures to report).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fidelity import BenchInput, attribution, compare, reduced_allowed

from xaiscope.explainers import REGISTRY, explain, get_method
from xaiscope.inputs import load_input
from xaiscope.models import Model, seed_card
from xaiscope.preprocessing import window_input
from xaiscope.preprocessing.pipeline import window_tensor

#: Architecture (torchvision builder) -> the earlier tool's card it is measured under. Add a row to measure another.
MODELS: dict[str, str] = {"resnet50": "audio_resnet50", "mobilenet_v2": "audio_mobilenetv2"}
#: Methods in table order; None = every registered method but the ``random`` control. Add names here (or register
#: the method) to measure a new one.
METHODS: list[str] | None = None
#: How a reference gets 4x a method's calls: the parameter that sets the calls, and how to scale it.
BUDGET_PARAMS: dict[str, str] = {"samples": "times", "max_evals": "times", "steps": "times", "stride": "divide"}
REFERENCE_SCALE = 4
#: The bundled demo audio models the tile methods are measured on (the mel-CNN and the waveform detector).
TILE_MODELS = ("demo_audio_mobilenet_v2", "demo_audio_rawnet2")


def speech_bytes(seconds: float = 3.0, rate: int = 16000) -> bytes:
    """A speech-like harmonic recording (vibrato, syllable rhythm, a little noise) as WAV bytes."""
    import soundfile

    rng = np.random.default_rng(0)
    times = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(150 * (1 + 0.2 * np.sin(2 * np.pi * 0.7 * times))) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * times))
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.2 * voiced + 0.01 * rng.standard_normal(len(times))).astype(np.float32), rate,
                    format="WAV")
    return buffer.getvalue()


def forward_seconds(model: Model, inputs: torch.Tensor, batch: int, repeats: int, reduced: bool) -> float:
    """Seconds per image through the class view, ``batch`` images per pass, under the policy (or fp32)."""
    images = model.prepare_inputs(inputs.expand(batch, -1, -1, -1).contiguous())
    with torch.inference_mode(), model.forward_precision(reduced_ok=reduced):
        model.class_view(images)
        started = time.perf_counter()
        for _ in range(repeats):
            model.class_view(images)
    return (time.perf_counter() - started) / (repeats * batch)


def _classifier(model: Model) -> Any:
    spec = model.card.preprocessing
    mean, std = np.asarray(spec.mean), np.asarray(spec.std)

    def classifier_fn(images: np.ndarray) -> np.ndarray:
        batch = torch.tensor(((np.asarray(images) - mean) / std).transpose(0, 3, 1, 2), dtype=torch.float32)
        with torch.no_grad():
            probability = torch.sigmoid(model.network(batch)).numpy()
        return np.concatenate([1 - probability, probability], axis=1)

    return classifier_fn


def earlier_lime(model: Model, picture: np.ndarray, samples: int) -> float:
    """The earlier tool's LIME call (lime's defaults: quickshift; hide_color=0 as it set it), fp32."""
    from lime import lime_image

    started = time.perf_counter()
    lime_image.LimeImageExplainer().explain_instance(picture, _classifier(model), top_labels=2, hide_color=0,
                                                     num_samples=samples, batch_size=10)
    return time.perf_counter() - started


def earlier_shap(model: Model, picture: np.ndarray, evaluations: int) -> float:
    """The earlier tool's SHAP call: Partition explainer, blur(64,64) image masker, batch_size=8, fp32."""
    import shap

    masker = shap.maskers.Image("blur(64,64)", picture.shape)
    explainer = shap.Explainer(_classifier(model), masker, output_names=["fake", "real"])
    started = time.perf_counter()
    explainer(picture[None].astype(np.float32), max_evals=evaluations, batch_size=8,
              outputs=shap.Explanation.argsort.flip[:1])
    return time.perf_counter() - started


def reference_params(name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The method's parameters with 4x the calls, or None when it has no call budget."""
    method = get_method(name)
    declared = {param.name: param for param in method.params}
    for key, how in BUDGET_PARAMS.items():
        if key in declared:
            value = params[key]
            scaled = value * REFERENCE_SCALE if how == "times" else max(1, value // 2)
            if declared[key].maximum is not None:
                scaled = min(scaled, int(declared[key].maximum))
            return {**params, key: scaled}
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--methods", help="comma-separated registry names (default: every method)")
    parser.add_argument("--skip", default="", help="comma-separated methods left out of this run")
    parser.add_argument("--precision", default="auto", help="the models' precision policy (default auto)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    torch.manual_seed(0)
    sample = load_input(speech_bytes(), name="speech.wav")
    skip = set(filter(None, args.skip.split(",")))
    names = args.methods.split(",") if args.methods else (METHODS or [name for name, method in REGISTRY.items()
                                                                       if method.family != "control"])
    lines = ["| model | row | seconds | model calls | precision | overhead vs bare forward | vs earlier tool | "
             "rank corr vs reference | deletion AUC - reference's |", "|---|---|---|---|---|---|---|---|---|"]

    def add(*cells: object) -> None:
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
        print(lines[-1], flush=True)

    for architecture in args.models.split(","):
        card = seed_card(MODELS[architecture])
        model = Model(card, getattr(torchvision.models, architecture)(num_classes=1).eval())
        policy = model.set_precision(args.precision)
        print(f"{architecture}: {policy.precision} ({policy.reason}), channels_last {policy.channels_last}",
              flush=True)
        prediction = model.predict(sample)
        window = prediction.decisive_window or 0
        inputs = window_input(sample, card.preprocessing, window).tensor
        item = BenchInput(sample.name, inputs, model.classes.index(prediction.label))
        per_image = {"fp32": forward_seconds(model, inputs, 10, 3, reduced=False),
                     policy.precision: forward_seconds(model, inputs, 10, 3, reduced=True)}
        single = forward_seconds(model, inputs, 1, 5, reduced=True)
        add(architecture, "bare forward fp32, batch 10", f"{per_image['fp32']:.4f} per image", 1, "fp32", "1.00",
            "", "", "")
        if policy.reduced:
            add(architecture, f"bare forward {policy.precision}, batch 10", f"{per_image[policy.precision]:.4f} per "
                f"image", 1, policy.precision, f"{per_image[policy.precision] / per_image['fp32']:.2f} of fp32",
                "", "", "")
        add(architecture, f"bare forward {policy.precision}, one image", f"{single:.4f}", 1, policy.precision,
            "1.00", "", "", "")
        clip = np.asarray(sample.waveform[: int(card.preprocessing.window_seconds * sample.sample_rate)])
        started = time.perf_counter()
        for _ in range(3):
            window_tensor(clip, card.preprocessing)
        render = (time.perf_counter() - started) / 3
        add(architecture, "spectrogram render of one window", f"{render:.4f}", 0, "", "", "", "", "")
        explain(model, sample, "gradcam")  # warm-up: first-call allocations
        started = time.perf_counter()
        record = explain(model, sample, "gradcam").record()
        end_to_end = time.perf_counter() - started
        add(architecture, "Grad-CAM end to end (verdict known)", f"{end_to_end:.4f}", record["model_calls"],
            record["precision"],
            f"{end_to_end / (single + render):.2f} x (one forward + render); "
            f"{(end_to_end - render) / single:.2f} x one forward", "", "", "")
        picture = np.asarray(_picture(model, inputs), dtype=np.float64)
        theirs = {"lime": earlier_lime(model, picture, 1000 // scale),
                  "shap": earlier_shap(model, picture, 1000 // scale)}
        for name, label in (("lime", "earlier tool's lime_image"), ("shap", "earlier tool's shap Partition")):
            add(architecture, label, f"{theirs[name]:.2f}", 1000 // scale, "fp32",
                f"{theirs[name] / (1000 // scale * per_image['fp32']):.2f}", "1.00", "", "")
        for name in names:
            method = get_method(name)
            if name in skip or method.suits(model) is not None or method.takes == "recording":
                continue  # the tile methods are measured on the demo audio models below
            params = method.resolve_params({})
            if args.quick:
                for key in ("samples", "max_evals", "steps"):
                    if key in params:
                        minimum = next(p.minimum for p in method.params if p.name == key) or 1
                        params[key] = max(params[key] // scale, int(minimum))
            attribution(model, name, item, params)  # warm-up
            candidate, seconds, used = attribution(model, name, item, params)
            calls = method.model_calls(model, params)
            overhead = seconds / (max(calls, 1) * per_image.get(used, per_image["fp32"]))
            ratio = f"{seconds / theirs[name]:.3f}" if name in theirs else ""
            bigger = reference_params(name, params)
            if bigger is None and used == "fp32":
                fidelity = "1 (is the reference)", "0"
            else:
                with reduced_allowed(name, False):
                    reference, _, _ = attribution(model, name, item, bigger or params)
                result = compare(model, name, item, candidate, reference)
                fidelity = f"{result.rank:.3f}", f"{result.auc_difference:+.3f}"
            add(architecture, method.label, f"{seconds:.3f}", calls, used, f"{overhead:.2f}", ratio, *fidelity)
    tile_names = [name for name in names if get_method(name).takes == "recording" and name not in skip]
    if tile_names:
        tile_rows(add, tile_names, args.precision, scale)
    table = "\n".join(lines)
    print()
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n")


def tile_rows(add: Any, names: list[str], precision: str, scale: int) -> None:
    """The tile methods on each of :data:`TILE_MODELS` with the bundled partially fake clip (see the docstring)."""
    from xaiscope.inputs.bundled import SAMPLES_DIR
    from xaiscope.models import load_model

    sample = load_input(SAMPLES_DIR / "audio" / "partially_fake.wav")
    for model_name in TILE_MODELS:
        model = load_model(model_name)
        policy = model.set_precision(precision)
        window = model.predict(sample).decisive_window or 0
        inputs = window_input(sample, model.card.preprocessing, window).tensor
        batch = model.prepare_inputs(inputs.expand(16, *inputs.shape[1:]).contiguous())
        with torch.inference_mode(), model.forward_precision(reduced_ok=False):
            model.class_view(batch)
            started = time.perf_counter()
            for _ in range(3):
                model.class_view(batch)
        bare = (time.perf_counter() - started) / 48
        add(model_name, f"bare forward fp32, batch 16 ({model.input_kind})", f"{bare:.4f} per input", 1, "fp32",
            "1.00", "", "", "")
        explain(model, sample, "tile_occlusion", window=window, time_tiles=1, band_tiles=1)  # warm-up: imports
        for name in names:
            method = get_method(name)
            params = method.resolve_params({})
            if "samples" in params:
                params["samples"] = max(params["samples"] // scale, 20)
            started = time.perf_counter()
            explanation = explain(model, sample, name, window=window, **params)
            seconds = time.perf_counter() - started
            record = explanation.record()
            per_call = seconds / explanation.model_calls
            add(model_name, f"{method.label}, replacement {record['params']['replacement']}", f"{seconds:.2f}",
                explanation.model_calls, record["precision"], f"{per_call / bare:.2f} ({per_call:.4f} s per call)",
                "", "", "")
        model.set_precision(policy.requested)


def _picture(model: Model, inputs: torch.Tensor) -> np.ndarray:
    """The ``(H, W, 3)`` picture in [0, 1] the earlier tool's calls perturb."""
    from xaiscope.preprocessing.codec import codec_for

    return codec_for(model.card.preprocessing).to_picture(inputs)


if __name__ == "__main__":
    main()
