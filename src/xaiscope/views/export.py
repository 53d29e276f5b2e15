"""Write an explanation to a folder: the files the CLI produces and the app offers for download."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from xaiscope.inputs import AudioSample, Sample, XraySample
from xaiscope.preprocessing.spec import XraySpec
from xaiscope.views.audio import AudioView
from xaiscope.views.overlay import lime_view, overlay, png_bytes, shap_view, to_gray
from xaiscope.views.summary import summarise


def explanation_files(explanation: Any, sample: Sample, spec: Any, *, opacity: float = 0.5,
                      keep: float = 0.2) -> dict[str, bytes]:
    """Every file of one explanation, by file name.

    * ``overlay.png``: a map in model-input space over the input — the full-resolution radiograph, or the
      model-input picture (spectrogram, gray X-ray, features matrix); for a waveform model's map over samples
      ``time.png``, the map over seconds instead;
    * ``attribution.npy``: the raw signed map in the method's space (``record.json`` states it: ``(H, W)`` model
      input, or ``(n_bands, n_frames)`` on the plane), float32;
    * ``record.json``: method, explained class and probability, parameters, model calls, seconds, summary, space;
    * audio: ``timefreq.png`` (the map on the time-frequency plane: seconds and Hz axes, colour bar, importance over
      time and frequency), ``plane.npy`` (its ``(n_bands, n_frames)`` values) and ``listen.wav``;
    * LIME: ``lime.png`` (top superpixels with boundaries); SHAP: ``shap.png`` (red/green superpixel display).
    """
    files: dict[str, bytes] = {}
    view = AudioView.build(explanation) \
        if isinstance(sample, AudioSample) and explanation.plane is not None else None
    if explanation.space == "input" and explanation.attribution.shape[0] == 1:  # a map over samples: plotted
        from xaiscope.views.timeline import time_map_png

        files["time.png"] = time_map_png(explanation, spec)
    elif explanation.space == "input":
        base = sample.display if isinstance(sample, XraySample) and isinstance(spec, XraySpec) \
            else to_gray(explanation.picture)
        files["overlay.png"] = png_bytes(overlay(base, explanation.attribution, opacity=opacity))
    files["attribution.npy"] = _npy(explanation.attribution)
    record = {**explanation.record(), "summary": summarise(explanation, view)}
    if view is not None:
        files["timefreq.png"] = view.figure_png(title=f"{explanation.model} · {explanation.label}: "
                                                      f"{explanation.target_class}")
        files["plane.npy"] = _npy(view.plane.values)
        files["listen.wav"] = view.listen_wav(keep)
        record["top_time_ranges_s"] = [vars(span) for span in view.top_time_ranges()]
        record["top_frequency_bands_hz"] = [vars(span) for span in view.top_frequency_bands()]
        record["listen_keep_fraction"] = keep
    if "segments" in explanation.extras and explanation.method == "lime":
        files["lime.png"] = png_bytes(lime_view(explanation.picture, explanation.attribution,
                                                explanation.extras["segments"]))
    if explanation.method == "shap":
        files["shap.png"] = png_bytes(shap_view(explanation.picture, explanation.attribution))
    files["record.json"] = (json.dumps(record, indent=2) + "\n").encode()
    return files


def write_explanation(explanation: Any, sample: Sample, spec: Any, folder: Path, **options: Any) -> list[Path]:
    """Write :func:`explanation_files` into ``folder`` (created if needed); returns the written paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in explanation_files(explanation, sample, spec, **options).items():
        path = folder / name
        path.write_bytes(content)
        written.append(path)
    return written


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array.astype(np.float32))
    return buffer.getvalue()
