"""Cheap checks of a recording, before the model runs: speech share, bandwidth, clipping, sample rate, duration.

**Voice activity** (documented, simple, deterministic). The recording is resampled to 16 kHz and cut into
32 ms frames (512 samples, Hann window) every 16 ms. A frame counts as *speech* when all three hold:

* **loud enough**: its energy is within :data:`ACTIVE_RANGE_DB` (40 dB) of the recording's loud frames (the
  95th percentile of frame energies) and above :data:`ABSOLUTE_FLOOR_DBFS` (-65 dBFS);
* **not noise-like**: its spectral flatness (geometric over arithmetic mean of the power spectrum, 100 Hz to
  7.6 kHz) is below :data:`MAX_FLATNESS` (0.35); white noise is about 0.56, voiced speech 0.01 to 0.2;
* **not a single tone**: the three strongest FFT bins hold less than :data:`MAX_PEAK_SHARE` (70 %) of its
  energy; a pure tone puts about 95 % there, voiced speech spreads over its harmonics and formants.

The *speech share* is the fraction of frames that count as speech. Unvoiced fricatives and pauses fall below
it: the demo corpus's 452 training clips (2 s, real and synthetic, noise added) have shares from 0.40 up, the
bundled held-out flite clip 0.30; white noise, tones, DC and silence have 0. A recording is flagged below the
card's ``min_speech_share`` (never more than 0.25), so speech padded with three times its length of silence is.

**Bandwidth**: the highest frequency at which the long-term average spectrum (at the file's own rate, over the
speech frames, or every frame when there are none) is within 50 dB of its peak.

**Clipping**: the share of samples in runs of three or more consecutive samples at the recording's peak, when
that peak is at full scale (>= 0.98).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaiscope.inputs.audio import resample
from xaiscope.inputs.sample import AudioSample
from xaiscope.preprocessing.spec import AudioSpec
from xaiscope.trust.checks import Check, ok, warning

ANALYSIS_RATE = 16000
FRAME = 512
HOP = 256
ACTIVE_RANGE_DB = 40.0
ABSOLUTE_FLOOR_DBFS = -65.0
MAX_FLATNESS = 0.35
MAX_PEAK_SHARE = 0.70
BANDWIDTH_RANGE_DB = 50.0
#: Frames analysed per chunk, so a 60-minute recording never holds its whole spectrogram in memory.
_CHUNK_FRAMES = 4096

#: What a card without a stored training range is checked against (the bundled and earlier-tool cards state
#: their own in ``input_range``).
DEFAULT_AUDIO_RANGE: dict[str, Any] = {
    "min_speech_share": 0.25,
    "min_bandwidth_hz": 3000.0,
    "sample_rate_hz": [8000, 48000],
    "duration_s": [1.0, 600.0],
    "max_clipped_share": 0.001,
    "source": "xaiscope defaults for speech (no training range stored in the card)",
}


def frame_features(waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame energy (dBFS), spectral flatness and peak share of a 16 kHz recording.

    Args:
        waveform: ``(n,)`` float32 at :data:`ANALYSIS_RATE`.

    Returns:
        ``energy_db (F,)``, ``flatness (F,)`` and ``peak_share (F,)``; ``F >= 1`` (a recording shorter than a
        frame is zero-padded to one).
    """
    if len(waveform) < FRAME:
        waveform = np.pad(waveform, (0, FRAME - len(waveform)))
    count = 1 + (len(waveform) - FRAME) // HOP
    window = np.hanning(FRAME).astype(np.float32)
    frequencies = np.fft.rfftfreq(FRAME, 1.0 / ANALYSIS_RATE)
    band = (frequencies >= 100) & (frequencies <= 7600)
    energies, flatness, peaks = [], [], []
    for first in range(0, count, _CHUNK_FRAMES):
        indices = np.arange(first, min(first + _CHUNK_FRAMES, count))[:, None] * HOP + np.arange(FRAME)[None, :]
        frames = waveform[indices]
        energies.append(10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20))
        power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2 + 1e-20
        in_band = power[:, band]
        flatness.append(np.exp(np.mean(np.log(in_band), axis=1)) / np.mean(in_band, axis=1))
        top = np.sort(power, axis=1)[:, -3:].sum(axis=1)
        peaks.append(top / power.sum(axis=1))
    return np.concatenate(energies), np.concatenate(flatness), np.concatenate(peaks)


def speech_frames(waveform_16k: np.ndarray) -> np.ndarray:
    """Boolean ``(F,)``: which frames count as speech (see the module docstring)."""
    energy, flatness, peak_share = frame_features(waveform_16k)
    loud = np.percentile(energy, 95)
    active = (energy > loud - ACTIVE_RANGE_DB) & (energy > ABSOLUTE_FLOOR_DBFS)
    return active & (flatness < MAX_FLATNESS) & (peak_share < MAX_PEAK_SHARE)


def speech_share(sample: AudioSample) -> float:
    """Fraction of the recording's frames that count as speech, in [0, 1]."""
    return float(speech_frames(resample(sample.waveform, sample.sample_rate, ANALYSIS_RATE)).mean())


def bandwidth_hz(sample: AudioSample) -> float:
    """Highest frequency within :data:`BANDWIDTH_RANGE_DB` of the long-term spectrum's peak, at the file's rate."""
    rate = sample.sample_rate
    size = 1 << int(np.ceil(np.log2(max(rate * 0.032, 64))))
    waveform = sample.waveform
    if len(waveform) < size:
        waveform = np.pad(waveform, (0, size - len(waveform)))
    count = 1 + (len(waveform) - size) // (size // 2)
    window = np.hanning(size).astype(np.float32)
    total = np.zeros(size // 2 + 1)
    for first in range(0, count, _CHUNK_FRAMES):
        indices = (np.arange(first, min(first + _CHUNK_FRAMES, count))[:, None] * (size // 2)
                   + np.arange(size)[None, :])
        total += (np.abs(np.fft.rfft(waveform[indices] * window, axis=1)) ** 2).sum(axis=0)
    level = 10 * np.log10(total + 1e-20)
    # Smooth over about 100 Hz so that one strong harmonic or a notch does not move the edge.
    width = max(round(100 / (rate / size)), 1)
    smooth = np.convolve(level, np.ones(width) / width, mode="same")
    above = np.nonzero(smooth >= smooth.max() - BANDWIDTH_RANGE_DB)[0]
    return float(above[-1] * rate / size) if len(above) else 0.0


def clipped_share(waveform: np.ndarray) -> float:
    """Share of samples in runs of >= 3 consecutive samples at a full-scale peak (0 when the peak is < 0.98)."""
    magnitude = np.abs(waveform)
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak < 0.98:
        return 0.0
    at_peak = magnitude >= peak * 0.999
    # Run lengths of consecutive True values.
    edges = np.diff(np.concatenate([[0], at_peak.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    lengths = ends - starts
    return float(lengths[lengths >= 3].sum() / len(waveform))


def audio_measurements(sample: AudioSample) -> dict[str, float]:
    """Every measurement the audio checks use (also what training stores as its range)."""
    return {"speech_share": round(speech_share(sample), 4), "bandwidth_hz": round(bandwidth_hz(sample), 1),
            "clipped_share": round(clipped_share(sample.waveform), 6), "sample_rate_hz": float(sample.sample_rate),
            "duration_s": round(sample.duration, 3)}


def check_audio(sample: AudioSample, input_range: dict[str, Any] | None, spec: AudioSpec | None = None,
                ) -> list[Check]:
    """Run every audio check against the card's training range (or :data:`DEFAULT_AUDIO_RANGE`).

    The duration check is the one rule for short recordings: one shorter than the model's analysis window is
    padded (looped, zero-padded or stretched, by ``spec.pad``), so it warns below the shortest training recording
    when the card states one, else below the window.

    Returns:
        One :class:`Check` per measurement, in a fixed order: speech share, bandwidth, clipping, sample rate,
        duration.
    """
    expected = {**DEFAULT_AUDIO_RANGE, **(input_range or {})}
    found = audio_measurements(sample)
    checks: list[Check] = []
    share, minimum = found["speech_share"], float(expected["min_speech_share"])
    value = f"{share:.0%} of {found['duration_s']:.1f} s"
    if share < minimum:
        what = ("no frame sounds like speech (silence, noise or a steady tone)" if share == 0 else
                "most of it is silence, noise or a steady tone")
        checks.append(warning("speech share", value, f">= {minimum:.0%}",
                              f"Only {share:.0%} of the recording sounds like speech: {what}. The model learned "
                              "from speech; its verdict on this input means little. Trim the recording to the "
                              "speech, or check that the right file was chosen."))
    else:
        checks.append(ok("speech share", value, f">= {minimum:.0%}"))
    band, min_band = found["bandwidth_hz"], float(expected["min_bandwidth_hz"])
    if band < min_band:
        checks.append(warning("bandwidth", f"{band / 1000:.1f} kHz", f">= {min_band / 1000:.1f} kHz",
                              f"The recording carries sound only up to {band / 1000:.1f} kHz, narrower than the "
                              f"model's training recordings (>= {min_band / 1000:.1f} kHz): a telephone, codec or "
                              "low-rate export. Detectors often call narrow-band speech fake; use the original "
                              "full-band recording if there is one."))
    else:
        checks.append(ok("bandwidth", f"{band / 1000:.1f} kHz", f">= {min_band / 1000:.1f} kHz"))
    clipped, max_clipped = found["clipped_share"], float(expected["max_clipped_share"])
    if clipped > max_clipped:
        checks.append(warning("clipping", f"{clipped:.2%} of samples", f"<= {max_clipped:.2%}",
                              f"{clipped:.2%} of the samples sit at full scale (clipped): the recording was "
                              "overdriven, which adds distortion the model may read as synthesis. Use an "
                              "unclipped recording."))
    else:
        checks.append(ok("clipping", f"{clipped:.2%} of samples", f"<= {max_clipped:.2%}"))
    low, high = (float(v) for v in expected["sample_rate_hz"])
    rate = found["sample_rate_hz"]
    text = f"{rate / 1000:g} kHz"
    if not low <= rate <= high:
        checks.append(warning("sample rate", text, f"{low / 1000:g} to {high / 1000:g} kHz",
                              f"The recording's sample rate ({text}) is outside the model's training range "
                              f"({low / 1000:g} to {high / 1000:g} kHz); it is resampled, but content the "
                              "training data never had (or lacks) may change the verdict."))
    else:
        checks.append(ok("sample rate", text, f"{low / 1000:g} to {high / 1000:g} kHz"))
    # Only a short recording is out of range: a long one is scanned in windows of the training clips' length.
    stated = "duration_s" in (input_range or {})
    low = float(expected["duration_s"][0]) if stated or spec is None else spec.window_seconds
    duration = found["duration_s"]
    if duration < low:
        how = {"repeat": "looped until it fills", "zeros": "padded with silence to fill",
               "none": "stretched to fill"}.get(spec.pad if spec else "", "padded to fill")
        window = f"the {spec.window_seconds:g}-s analysis window" if spec else "the analysis window"
        shortest = f"any training recording ({low:g} s)" if stated else window
        checks.append(warning("duration", f"{duration:.2f} s", f">= {low:g} s",
                              f"The recording lasts {duration:.2f} s, shorter than {shortest}: it is {how} "
                              f"{window}, so the verdict rests on less evidence than the model expects. Treat it "
                              "with extra caution, or use a longer recording."))
    else:
        checks.append(ok("duration", f"{duration:.2f} s", f">= {low:g} s"))
    return checks
