"""Carry a map from a model's own input space onto the plane's cells (:mod:`xaiscope.plane.grid`).

* A mel picture ``(H, W)`` (:class:`~xaiscope.preprocessing.AudioSpec`): row ``r`` shows the mel band whose centre
  is at band coordinate ``n_mels - (r + 0.5) / H * n_mels`` (top row = highest band), column ``c`` the time
  :func:`~xaiscope.preprocessing.column_times` gives; each plane cell takes the map's value at its band's centre
  frequency and its frame's time, linearly interpolated between rows and columns (held constant beyond the first
  and last). The plane shows the map's *density*; scores that compare shares (relevance mass) are unchanged by a
  uniform rescaling.
* A waveform map ``(1, n)``: the attribution of the samples of each frame's hop (centred on the frame) is summed and
  spread evenly over the bands: a map over samples has no frequency resolution, and the view says so.
* A features matrix: Hugging Face's AST filter bank ``(frames, mel bins)`` (Kaldi mel scale from 20 Hz, 10 ms
  frames) and Whisper's log-mel ``(mel bins, frames)`` (Slaney mel scale, 10 ms frames) are placed like a mel
  picture; other extractors' matrices have no stated geometry and are not projected (None).
"""

from __future__ import annotations

import numpy as np

from xaiscope.plane.grid import PlaneGrid
from xaiscope.preprocessing.spec import AudioSpec, FeaturesSpec, PreprocessingSpec, WaveformSpec


def resample_map(values: np.ndarray, source_hz: np.ndarray, source_s: np.ndarray, grid: PlaneGrid, n_samples: int,
                 start_s: float) -> np.ndarray:
    """A map over (frequency, time) sampled at ``source_hz`` rows and ``source_s`` columns -> the plane's cells.

    Args:
        values: ``(R, C)`` map, row ``i`` at ``source_hz[i]``, column ``j`` at ``source_s[j]`` (any order of rows).
        grid: the plane's grid; ``n_samples``, ``start_s``: the clip the plane covers.

    Returns:
        ``(n_bands, n_frames)`` float32, linear interpolation in time then frequency.
    """
    order = np.argsort(source_hz, kind="stable")
    rows, hz = np.asarray(values, np.float64)[order], np.asarray(source_hz, np.float64)[order]
    times = grid.frame_times(n_samples, start_s)
    over_time = np.stack([np.interp(times, source_s, row) for row in rows])  # (R, n_frames)
    centres = grid.band_centres_hz
    return np.stack([np.interp(centres, hz, column) for column in over_time.T], axis=1).astype(np.float32)


def picture_rows_hz(height: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """``(height,)`` Hz at the centre of each row of a mel picture (top row = highest band)."""
    import librosa

    centres = librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin, fmax=fmax)[1:-1]
    band = n_mels - (np.arange(height) + 0.5) / height * n_mels - 0.5  # fractional band index at each row
    return np.interp(band, np.arange(n_mels), centres)


def picture_to_plane(attribution: np.ndarray, spec: AudioSpec, grid: PlaneGrid, n_samples: int,
                     start_s: float) -> np.ndarray:
    """``(H, W)`` map over a mel picture of a clip of ``n_samples`` -> ``(n_bands, n_frames)``."""
    from xaiscope.preprocessing.pipeline import column_times

    height, width = attribution.shape
    rows_hz = picture_rows_hz(height, spec.n_mels, spec.fmin, spec.fmax or spec.sample_rate / 2)
    return resample_map(attribution, rows_hz, column_times(n_samples, start_s, spec, width), grid, n_samples,
                        start_s)


def waveform_to_plane(attribution: np.ndarray, grid: PlaneGrid) -> np.ndarray:
    """``(1, n)`` or ``(n,)`` map over samples -> ``(n_bands, n_frames)``: per frame, the sum over the samples
    nearest its centre, divided evenly among the bands."""
    samples = np.asarray(attribution, np.float64).reshape(-1)
    frames = np.minimum((np.arange(len(samples)) + grid.hop_length // 2) // grid.hop_length,
                        grid.n_frames(len(samples)) - 1)
    per_frame = np.bincount(frames, weights=samples, minlength=grid.n_frames(len(samples)))
    return np.repeat(per_frame[None] / grid.n_bands, grid.n_bands, axis=0).astype(np.float32)


def _kaldi_mel_centres(n_bins: int, low: float, high: float) -> np.ndarray:
    """Centre frequencies of a Kaldi filter bank (mel = 1127 ln(1 + f / 700))."""
    low_mel, high_mel = 1127 * np.log1p(low / 700), 1127 * np.log1p(high / 700)
    mels = low_mel + (np.arange(n_bins) + 1) * (high_mel - low_mel) / (n_bins + 1)
    return 700 * np.expm1(mels / 1127)


def features_to_plane(attribution: np.ndarray, spec: FeaturesSpec, grid: PlaneGrid, n_samples: int,
                      start_s: float) -> np.ndarray | None:
    """A map over a known extractor's matrix -> ``(n_bands, n_frames)``, or None when its geometry is not known."""
    import librosa

    config = spec.extractor_config
    rate = spec.sample_rate
    if spec.extractor == "ASTFeatureExtractor" and attribution.ndim == 2:
        bins = int(config.get("num_mel_bins") or attribution.shape[1])
        hz = _kaldi_mel_centres(bins, 20.0, rate / 2)
        times = start_s + (np.arange(attribution.shape[0]) * 0.010 + 0.0125)  # 25 ms frames every 10 ms
        return resample_map(attribution.T, hz, times, grid, n_samples, start_s)
    if spec.extractor == "WhisperFeatureExtractor" and attribution.ndim == 2:
        hop = int(config.get("hop_length") or 160)
        hz = librosa.mel_frequencies(n_mels=attribution.shape[0] + 2, fmin=0.0, fmax=rate / 2)[1:-1]
        times = start_s + np.arange(attribution.shape[1]) * hop / rate
        return resample_map(attribution, hz, times, grid, n_samples, start_s)
    return None


def to_plane(attribution: np.ndarray, spec: PreprocessingSpec, grid: PlaneGrid, n_samples: int,
             start_s: float) -> tuple[np.ndarray | None, str]:
    """A model-input-space map of an audio model -> (plane values or None, how they got there)."""
    if isinstance(spec, AudioSpec):
        return picture_to_plane(attribution, spec, grid, n_samples, start_s), "mel picture"
    if isinstance(spec, WaveformSpec):
        return waveform_to_plane(attribution, grid), "waveform time"
    if isinstance(spec, FeaturesSpec):
        return features_to_plane(attribution, spec, grid, n_samples, start_s), "features"
    return None, "not audio"
