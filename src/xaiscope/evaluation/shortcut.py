"""The audio silence shortcut (Müller et al. 2021, "Speech is silver, silence is golden"): does the verdict, or the
map, rest on the leading and trailing silence of the clip rather than on the speech?

On the explained window's clip (as the model heard it), frames are ``hop_length`` samples apart like the picture's
columns; a frame is *quiet* when its RMS level is more than ``threshold_db`` below the clip's loudest frame. The
leading and trailing runs of quiet frames are the clip's edge silence. Three scores, all **lower is better**:

* ``trim_change``: |P(class | clip) - P(class | clip with its edge silence cut)|, the trimmed clip going through the
  card's preprocessing (its pad rule included), i.e. how much the verdict depends on the silence being there;
* ``pad_change``: |P(class | clip) - P(class | clip with ``pad_seconds`` of digital silence added at both ends)|;
* ``silence_share``: the share of the positive attribution on the edge-silence columns (compare with
  ``silence_fraction`` in the details, the share a map blind to silence would give).

Cost: 3 model calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from xaiscope.errors import EvaluationError
from xaiscope.evaluation.base import Case, Metric, MetricValue, Param, positive_part
from xaiscope.explainers.base import Method
from xaiscope.inputs.sample import AudioSample
from xaiscope.preprocessing import AudioSpec, audio_clip_tensor, window_clip
from xaiscope.preprocessing.spectrogram import fft_size_for

if TYPE_CHECKING:
    from xaiscope.models.model import Model


def edge_silence(clip: np.ndarray, spec: AudioSpec, threshold_db: float) -> tuple[int, int, int]:
    """Leading and trailing quiet frames of ``clip`` ``(n,)`` and its frame count (frames of the picture)."""
    import librosa

    n_fft = fft_size_for(len(clip), spec)
    padded = np.pad(clip, (0, max(n_fft - len(clip), 0)))
    rms = librosa.feature.rms(y=padded, frame_length=n_fft, hop_length=spec.hop_length, center=True)[0]
    level = 20 * np.log10(np.maximum(rms, 1e-10) / max(float(rms.max()), 1e-10))
    loud = np.flatnonzero(level > -threshold_db)
    frames = len(rms)
    if len(loud) == 0:
        return frames, 0, frames
    return int(loud[0]), int(frames - 1 - loud[-1]), frames


class SilenceShortcutMetric(Metric):
    name = "silence_shortcut"
    label = "Silence shortcut"
    summary = ("How much the verdict (trimming or padding the edge silence) and the map (its share on that silence) "
               "rest on leading/trailing silence; lower is better.")
    category = "shortcut"
    direction = "lower"
    outputs = ("trim_change", "pad_change", "silence_share")
    modalities = ("audio",)
    reference = "Müller et al. 2021, Speech is silver, silence is golden: what do ASVspoof-trained models really learn?"
    params = (
        Param("threshold_db", float, 40.0, "A frame is quiet when this many dB below the loudest frame.", 5.0, 120.0),
        Param("pad_seconds", float, 0.5, "Digital silence added at each end for pad_change.", 0.0, 10.0),
    )

    def model_calls(self, model: Model, method: Method, method_params: dict[str, Any], params: dict[str, Any]) -> int:
        return 3

    def compute(self, case: Case, params: dict[str, Any]) -> MetricValue:
        spec, sample = case.model.card.preprocessing, case.sample
        if not isinstance(spec, AudioSpec) or not isinstance(sample, AudioSample):
            raise EvaluationError(f"{self.label} scores recordings only.", "Leave it out for X-ray models.")
        clip, _, _ = window_clip(sample, spec, case.window_index)
        lead, trail, frames = edge_silence(clip, spec, params["threshold_db"])
        hop = spec.hop_length
        start = max(0, lead * hop - hop // 2)
        end = min(len(clip), (frames - trail) * hop - hop // 2) if trail else len(clip)
        trimmed = clip[start:end] if end - start >= hop else clip
        pad = np.zeros(round(params["pad_seconds"] * spec.sample_rate), np.float32)
        padded = np.concatenate([pad, clip, pad])
        batch = torch.cat([case.inputs, audio_clip_tensor(trimmed, spec)[None], audio_clip_tensor(padded, spec)[None]])
        probability = case.probabilities(batch)[:, case.target]
        width = case.attribution.shape[1]
        frame_of_column = np.minimum(((np.arange(width) + 0.5) / width * frames).astype(int), frames - 1)
        silent = (frame_of_column < lead) | (frame_of_column >= frames - trail)
        positive = positive_part(case.attribution)
        total = positive.sum()
        share = float(positive[:, silent].sum() / total) if total > 0 else float("nan")
        seconds = hop / spec.sample_rate
        return MetricValue(
            {"trim_change": float(abs(probability[0] - probability[1])),
             "pad_change": float(abs(probability[0] - probability[2])), "silence_share": share},
            details={"lead_s": round(lead * seconds, 4), "trail_s": round(trail * seconds, 4),
                     "silence_fraction": float(silent.mean()), "p_original": float(probability[0]),
                     "p_trimmed": float(probability[1]), "p_padded": float(probability[2])})


SHORTCUT_METRICS: tuple[type[Metric], ...] = (SilenceShortcutMetric,)
