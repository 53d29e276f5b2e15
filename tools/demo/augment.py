"""Audio augmentation of the demo corpus: gain, noise, band limiting by resampling, lossy codec round trips.

The same random chain, from the same distribution, is applied to real and synthetic clips, so none of these
traits tells the classes apart.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile

from xaiscope.inputs.audio import resample


def codec_round_trip(samples: np.ndarray, rate: int, codec: str) -> np.ndarray:
    """Encode to ``mp3`` or ``ogg`` (Vorbis) with libsndfile and decode again; same length as the input."""
    buffer = io.BytesIO()
    if codec == "mp3":
        soundfile.write(buffer, samples, rate, format="MP3", subtype="MPEG_LAYER_III")
    else:
        soundfile.write(buffer, samples, rate, format="OGG", subtype="VORBIS")
    buffer.seek(0)
    decoded, _ = soundfile.read(buffer, dtype="float32")
    decoded = decoded if decoded.ndim == 1 else decoded.mean(axis=1)
    out = np.zeros_like(samples)
    out[: min(len(decoded), len(samples))] = decoded[: len(samples)]
    return out


def augment(samples: np.ndarray, rate: int, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """A random augmentation chain; returns the new samples (same rate and length) and the steps in words."""
    steps: list[str] = []
    out = samples.astype(np.float32)
    draw = rng.random()
    if draw < 0.35:
        low = int(rng.choice([8000, 11025]))
        out = resample(resample(out, rate, low), low, rate)[: len(samples)]
        steps.append(f"band-limited via {low} Hz")
    if rng.random() < 0.5:
        snr = float(rng.uniform(15, 40))
        power = float(np.mean(out**2)) or 1e-8
        out = out + rng.standard_normal(len(out)).astype(np.float32) * np.sqrt(power / 10 ** (snr / 10))
        steps.append(f"white noise at {snr:.0f} dB SNR")
    codec_draw = rng.random()
    if codec_draw < 0.2:
        out = codec_round_trip(np.clip(out, -1, 1), rate, "mp3")
        steps.append("mp3 round trip")
    elif codec_draw < 0.4:
        out = codec_round_trip(np.clip(out, -1, 1), rate, "ogg")
        steps.append("ogg vorbis round trip")
    peak = float(np.max(np.abs(out))) or 1.0
    level = float(rng.uniform(-20, -1))
    out = out / peak * 10 ** (level / 20)
    steps.append(f"peak {level:.0f} dBFS")
    return out.astype(np.float32), steps
