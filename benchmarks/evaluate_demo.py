"""The evaluation table for two models: every method and metric, with the seconds each took.

Usage:
    .venv/bin/python benchmarks/evaluate_demo.py [--models A,B] [--inputs 3] [--methods ...] [--quick]
        [--markdown FILE] [--out DIR]

``--models`` takes model names or ``.safetensors`` paths (the demo models, once they exist), or
``random:<seed key>`` for a seed architecture with random, seeded weights (the default:
``random:audio_mobilenetv2,random:xray_alexnet``). Inputs are generated, never downloaded: speech-like harmonic
clips with leading and trailing silence for audio models (a fake interval marked in the middle), synthetic chest
radiographs with a bright "lesion" blob for X-ray models (its mask is the ground truth). Per model it prints the
Markdown table of ``xaiscope evaluate`` (mean [bootstrap 95% CI]; seconds per input for the explanation and for each
metric). With random weights the scores only show that the pipeline runs and what it costs: random networks have
nothing to explain, and the random-map control row is the chance level to compare with.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
import torch

from xaiscope.evaluation import evaluate
from xaiscope.evaluation.report import markdown, write_report
from xaiscope.inputs import load_input
from xaiscope.models import Model, build_network, load_model, seed_card


def speech_clip(seed: int, seconds: float = 2.0, rate: int = 16000) -> bytes:
    import soundfile

    rng = np.random.default_rng(seed)
    times = np.arange(int(seconds * rate)) / rate
    pitch = 120 + 40 * rng.random()
    phase = 2 * np.pi * np.cumsum(pitch * (1 + 0.2 * np.sin(2 * np.pi * 0.7 * times))) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * times))
    envelope = ((times > 0.3) & (times < seconds - 0.3)).astype(float)  # leading and trailing silence
    signal = 0.2 * voiced * envelope + 0.001 * rng.standard_normal(len(times))
    buffer = io.BytesIO()
    soundfile.write(buffer, signal.astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def chest_with_lesion(seed: int, height: int = 320, width: int = 280) -> tuple[bytes, np.ndarray]:
    from PIL import Image

    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    body = np.exp(-(((cols - width / 2) / (0.45 * width)) ** 4))
    lungs = sum(np.exp(-(((cols - cx) / (0.15 * width)) ** 2 + ((rows - 0.5 * height) / (0.3 * height)) ** 2))
                for cx in (0.33 * width, 0.67 * width))
    centre = (rng.uniform(0.35, 0.65) * height, rng.choice([0.33, 0.67]) * width)
    lesion = np.exp(-((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / (2 * (0.05 * width) ** 2))
    image = np.clip(0.8 * body - 0.5 * lungs + 0.5 * lesion + 0.05 * rng.standard_normal((height, width)), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray((image * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue(), lesion > 0.5


def build(name: str) -> Model:
    if name.startswith("random:"):
        card = seed_card(name.split(":", 1)[1])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            network = build_network(card.architecture, card.num_outputs)
        return Model(card.with_updates(name=name), network)
    return load_model(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="random:audio_mobilenetv2,random:xray_alexnet")
    parser.add_argument("--inputs", type=int, default=3)
    parser.add_argument("--methods", default="gradcam,guided_backprop,integrated_gradients,lime,shap,random")
    parser.add_argument("--quick", action="store_true", help="cheaper method and metric settings (a smoke run)")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument("--out", type=Path, help="write every model's full output (CSV, JSON, plots) here")
    args = parser.parse_args()
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    method_params = {"lime": {"samples": 100 if args.quick else 1000, "segmentation": "slic", "segments": 50},
                     "shap": {"max_evals": 100 if args.quick else 1000},
                     "integrated_gradients": {"steps": 8 if args.quick else 32}}
    methods = {name: method_params.get(name, {}) for name in args.methods.split(",")}
    metrics = {"deletion": {"steps": 10 if args.quick else 20}, "insertion": {"steps": 10 if args.quick else 20},
               "deletion_lerf": {"steps": 10 if args.quick else 20},
               "randomisation": {"steps": 2 if args.quick else 5}, "random_logit": {},
               "pointing_game": {}, "relevance_mass": {}, "relevance_rank": {},
               "max_sensitivity": {"samples": 2 if args.quick else 5}, "sparseness": {}, "silence_shortcut": {}}
    tables = []
    for name in args.models.split(","):
        model = build(name)
        samples, truths = [], []
        for index in range(args.inputs):
            if model.card.modality == "audio":
                samples.append(load_input(speech_clip(index), name=f"speech{index}.wav"))
                truths.append((0.8, 1.2))
            else:
                data, mask = chest_with_lesion(index)
                samples.append(load_input(data, name=f"chest{index}.png"))
                truths.append(mask)
        started = time.perf_counter()
        result = evaluate(model, samples, methods, metrics, ground_truth=truths, seed=0)
        seconds = time.perf_counter() - started
        table = f"### {name} ({model.card.architecture}, {model.card.modality})\n\n{markdown(result)}\n" \
                f"Total: {seconds:.1f} s, {result.model_calls} model calls.\n"
        print(table, flush=True)
        tables.append(table)
        if args.out:
            write_report(result, args.out / name.replace(":", "_"))
    if args.markdown:
        args.markdown.write_text("\n".join(tables))


if __name__ == "__main__":
    main()
