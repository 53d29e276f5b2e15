"""Spectrogram renderers side by side: pixel difference and speed of ``seed-notebook`` against ``direct``.

Usage: .venv/bin/python benchmarks/renderers.py [--clips 40] [--seconds 3]

Both renderers draw the same mel matrices of synthetic speech-like clips (a gliding harmonic tone with
syllable-rate amplitude modulation and noise). The report gives the mean absolute difference of the two
pictures after the model's 224 x 224 resize (0-255 scale), the time per clip of each renderer alone and with
the mel computation, and the speed ratio, all measured in this one run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image

from xaiscope.preprocessing.spec import AudioSpec
from xaiscope.preprocessing.spectrogram import mel_db, render_direct, render_seed_notebook


def speechlike(seconds: float, seed: int, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    times = np.arange(int(seconds * rate)) / rate
    base = rng.uniform(100, 250)
    glide = base * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * times))
    phase = 2 * np.pi * np.cumsum(glide) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(3, 5) * times))
    return (0.2 * voiced * envelope + 0.01 * rng.standard_normal(len(times))).astype(np.float32)


def at_model_size(picture: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(picture).resize((224, 224), Image.Resampling.BILINEAR), dtype=np.float64)


def timed(function, items) -> tuple[float, list]:
    started = time.perf_counter()
    results = [function(item) for item in items]
    return (time.perf_counter() - started) / len(items), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    spec = AudioSpec(renderer="seed-notebook", pad="none")
    clips = [speechlike(args.seconds, seed) for seed in range(args.clips)]
    render_seed_notebook(mel_db(clips[0], spec))  # warm imports and caches outside the timing
    mel_time, mels = timed(lambda clip: mel_db(clip, spec), clips)
    seed_time, seed_pictures = timed(render_seed_notebook, mels)
    direct_time, direct_pictures = timed(render_direct, mels)
    differences = [np.abs(at_model_size(a) - at_model_size(b)).mean() for a, b in zip(seed_pictures, direct_pictures,
                                                                                     strict=True)]
    print(f"{args.clips} clips of {args.seconds:g} s; picture sizes: seed-notebook {seed_pictures[0].shape}, "
          f"direct {direct_pictures[0].shape}")
    print(f"mean |seed-notebook - direct| at 224x224: {np.mean(differences):.2f} / 255 "
          f"(min {np.min(differences):.2f}, max {np.max(differences):.2f})")
    print("| step | ms per clip |")
    print("|---|---|")
    print(f"| mel spectrogram | {mel_time * 1e3:.2f} |")
    print(f"| seed-notebook render | {seed_time * 1e3:.2f} |")
    print(f"| direct render | {direct_time * 1e3:.3f} |")
    print(f"render speed-up direct vs seed-notebook: {seed_time / direct_time:.0f}x; "
          f"with the mel step: {(mel_time + seed_time) / (mel_time + direct_time):.1f}x")


if __name__ == "__main__":
    main()
