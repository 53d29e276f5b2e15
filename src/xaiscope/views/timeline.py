"""A waveform model's explanation: the ``(1, n_samples)`` attribution drawn over the seconds of its window.

This is the honest view of a raw-waveform map: one value per sample, shown with the waveform it explains. (The
time-frequency plane shared by every audio model is a later step.)
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from xaiscope.preprocessing.spec import PreprocessingSpec, WaveformSpec


def smoothed_importance(attribution: np.ndarray, bins: int = 200) -> np.ndarray:
    """``(1, n)`` signed map -> ``(bins,)`` summed attribution per stretch of time (sign kept)."""
    values = np.asarray(attribution, dtype=np.float64).reshape(-1)
    edges = np.linspace(0, len(values), min(bins, len(values)) + 1).astype(int)
    return np.add.reduceat(values, edges[:-1])


def time_map_png(explanation: Any, spec: PreprocessingSpec) -> bytes:
    """A PNG: the waveform (from the explanation's picture strip) and the attribution per stretch of time, on seconds
    of the recording (red = for the explained class, blue = against)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rate = spec.sample_rate if isinstance(spec, WaveformSpec) else 1
    start = explanation.window.start_s if explanation.window is not None else 0.0
    count = explanation.attribution.shape[-1]
    importance = smoothed_importance(explanation.attribution)
    centres = start + (np.arange(len(importance)) + 0.5) * count / len(importance) / rate
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 3.5), sharex=True)
    amplitude = explanation.picture[0, :, 0].astype(np.float64) / 255.0
    top.plot(start + np.arange(count) / rate, amplitude, color="0.4", linewidth=0.5)
    top.set_ylabel("|amplitude|")
    top.set_title(f"{explanation.label}: {explanation.target_class}")
    bottom.bar(centres, importance, width=count / len(importance) / rate,
               color=np.where(importance >= 0, "tab:red", "tab:blue"))
    bottom.set_ylabel("attribution")
    bottom.set_xlabel("seconds")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return buffer.getvalue()
