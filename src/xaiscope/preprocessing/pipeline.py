"""The one definition of how a sample becomes model input, used by inference and training alike.

:func:`model_inputs` is the only path from a :class:`~xaiscope.inputs.Sample` to a tensor. For audio it
resamples to the spec's rate, cuts the recording into analysis windows (:func:`plan_windows`), pads a short
recording by the spec's rule, and turns each window into the model's input kind: a mel-spectrogram picture
(:class:`AudioSpec`), the samples themselves (:class:`WaveformSpec`) or the model's own feature extractor's matrix
(:class:`FeaturesSpec`); for X-rays it quantises and resizes the gray image, then replicates and normalises it
(:class:`XraySpec`) or scales it to [-1024, 1024] (:class:`XrayGraySpec`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from xaiscope.caching import LruCache
from xaiscope.inputs.audio import resample
from xaiscope.inputs.sample import AudioSample, Sample, XraySample
from xaiscope.preprocessing.picture import picture_tensor
from xaiscope.preprocessing.spec import (
    AudioSpec,
    FeaturesSpec,
    PreprocessingSpec,
    WaveformSpec,
    WindowedSpec,
    XrayGraySpec,
    XraySpec,
)
from xaiscope.preprocessing.spectrogram import clip_picture, fft_size_for


@dataclass(frozen=True)
class Window:
    """One analysis window of a recording, in seconds of the original recording."""

    index: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class ModelInput:
    """Model-ready tensors for one sample.

    Attributes:
        tensor: one row per window (one row for an X-ray), float32: ``(N, 3, S, S)`` normalised pictures,
            ``(N, n_samples)`` waveforms, ``(N, *matrix)`` features or ``(N, 1, S, S)`` gray X-rays.
        windows: the audio windows in the order of ``tensor``'s rows; empty for an X-ray.
    """

    tensor: torch.Tensor
    windows: tuple[Window, ...]


def plan_windows(n_samples: int, sample_rate: int, spec: WindowedSpec) -> list[tuple[int, int]]:
    """Where the analysis windows of a recording start and end.

    A recording no longer than ``spec.window_seconds`` is one window. A longer one gets windows of exactly that
    length every ``spec.hop_seconds``; if the last regular window stops before the end, one more window is
    placed flush with the end, so every sample is covered and no window is padded.

    Returns:
        ``(start, end)`` sample indices, at ``sample_rate``.
    """
    window = max(round(spec.window_seconds * sample_rate), 1)
    hop = max(round(spec.hop_seconds * sample_rate), 1)
    if n_samples <= window:
        return [(0, n_samples)]
    spans = [(start, start + window) for start in range(0, n_samples - window + 1, hop)]
    if spans[-1][1] < n_samples:
        spans.append((n_samples - window, n_samples))
    return spans


def _pad_clip(clip: np.ndarray, spec: WindowedSpec) -> np.ndarray:
    """Apply the spec's rule to a clip shorter than one window (see :class:`AudioSpec`)."""
    window = round(spec.window_seconds * spec.sample_rate)
    if len(clip) >= window or spec.pad == "none":
        return clip
    if spec.pad == "repeat":
        return np.resize(clip, window).astype(np.float32, copy=False)
    return np.pad(clip, (0, window - len(clip)))


def audio_clip_tensor(clip: np.ndarray, spec: AudioSpec) -> torch.Tensor:
    """One clip (already at ``spec.sample_rate``) -> ``(3, image_size, image_size)``; used by training too."""
    picture = clip_picture(_pad_clip(clip, spec), spec)
    return picture_tensor(picture, spec.image_size, spec.mean, spec.std)


def xray_tensor(image: np.ndarray, spec: XraySpec | XrayGraySpec) -> torch.Tensor:
    """``(h, w)`` float image in [0, 1] -> ``(3, S, S)`` normalised (:class:`XraySpec`) or ``(1, S, S)`` in
    [low, high] after a centre crop to a square (:class:`XrayGraySpec`); used by training too."""
    quantised = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    if isinstance(spec, XraySpec):
        return picture_tensor(quantised, spec.image_size, spec.mean, spec.std)
    height, width = quantised.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    gray = picture_tensor(quantised[top:top + side, left:left + side], spec.image_size, (0.0,), (1.0,))[:1]
    return gray * (spec.high - spec.low) + spec.low


def window_tensor(clip: np.ndarray, spec: WindowedSpec) -> torch.Tensor:
    """One window (at ``spec.sample_rate``, before padding) -> one row of the model input.

    ``(3, S, S)`` picture for :class:`AudioSpec`, ``(n_samples,)`` for :class:`WaveformSpec` (zero mean, unit
    variance when ``normalize``), the extractor's matrix for :class:`FeaturesSpec`.
    """
    if isinstance(spec, AudioSpec):
        return audio_clip_tensor(clip, spec)
    padded = _pad_clip(clip, spec).astype(np.float32, copy=False)
    if isinstance(spec, WaveformSpec):
        if spec.normalize:
            padded = (padded - padded.mean()) / np.sqrt(padded.var() + 1e-7)
        return torch.from_numpy(np.ascontiguousarray(padded, dtype=np.float32))
    from xaiscope.preprocessing.features import extract_features

    return extract_features(padded, spec)


def iter_model_inputs(sample: Sample, spec: PreprocessingSpec, batch_size: int = 16) -> Iterator[ModelInput]:
    """Build the model input of ``sample`` batch by batch, so a long recording never sits in memory whole.

    Args:
        sample: a loaded input of the spec's modality.
        spec: the model card's preprocessing spec.
        batch_size: windows per yielded batch.

    Yields:
        :class:`ModelInput` batches of at most ``batch_size`` rows (see :class:`ModelInput` for the shapes); an
        X-ray gives one batch of one row.
    """
    if isinstance(spec, XraySpec | XrayGraySpec):
        if not isinstance(sample, XraySample):
            raise TypeError("an X-ray spec needs an XraySample")
        yield ModelInput(tensor=xray_tensor(sample.image, spec)[None], windows=())
        return
    if not isinstance(sample, AudioSample):
        raise TypeError("an audio spec needs an AudioSample")
    waveform, spans = _audio_windows(sample, spec)
    for first in range(0, len(spans), batch_size):
        batch = range(first, min(first + batch_size, len(spans)))
        rows = [window_tensor(waveform[spans[i][0]:spans[i][1]], spec) for i in batch]
        yield ModelInput(tensor=torch.stack(rows), windows=tuple(_window(i, spans[i], spec) for i in batch))


def _audio_windows(sample: AudioSample, spec: WindowedSpec) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The recording at the spec's rate and its window spans in samples (see :func:`plan_windows`)."""
    waveform = resample(sample.waveform, sample.sample_rate, spec.sample_rate)
    return waveform, plan_windows(len(waveform), spec.sample_rate, spec)


def _window(index: int, span: tuple[int, int], spec: WindowedSpec) -> Window:
    return Window(index, round(span[0] / spec.sample_rate, 4), round(span[1] / spec.sample_rate, 4))


def count_windows(sample: Sample, spec: PreprocessingSpec) -> int:
    """How many model-input rows :func:`iter_model_inputs` will produce for ``sample`` (for progress bars)."""
    if not isinstance(spec, AudioSpec | WaveformSpec | FeaturesSpec) or not isinstance(sample, AudioSample):
        return 1
    n_samples = int(np.ceil(len(sample.waveform) * float(spec.sample_rate) / sample.sample_rate))
    return len(plan_windows(n_samples, spec.sample_rate, spec))


def window_clip(sample: AudioSample, spec: WindowedSpec, index: int = 0) -> tuple[np.ndarray, int, Window]:
    """The samples of one analysis window as the model heard them (padded by the spec's rule).

    Returns:
        The clip ``(n,)`` float32 at ``spec.sample_rate``, how many of its samples are real recording (the rest
        is padding), and the window.

    Raises:
        IndexError: ``index`` is not a window of this sample.
    """
    waveform, spans = _audio_windows(sample, spec)
    return _clip_at(waveform, spans, index, spec)


def _clip_at(waveform: np.ndarray, spans: list[tuple[int, int]], index: int, spec: WindowedSpec,
             ) -> tuple[np.ndarray, int, Window]:
    if not 0 <= index < len(spans):
        raise IndexError(f"window {index} does not exist; this recording has {len(spans)} windows")
    start, end = spans[index]
    return _pad_clip(waveform[start:end], spec), end - start, _window(index, spans[index], spec)


def column_times(clip_samples: int, start_s: float, spec: AudioSpec, width: int) -> np.ndarray:
    """Seconds of the recording at the centre of each of ``width`` model-input columns.

    The picture spans the analysed clip (``clip_samples`` long after padding, starting at ``start_s``) from left to
    right, one STFT frame per ``hop_length`` samples, so column ``c`` is
    ``start_s + (c + 0.5) / width * frames * hop_length / sample_rate``.

    Returns:
        ``(width,)`` float64.
    """
    frames = 1 + max(clip_samples, fft_size_for(clip_samples, spec)) // spec.hop_length
    return start_s + (np.arange(width) + 0.5) / width * frames * spec.hop_length / spec.sample_rate


#: Recently built single-window inputs, keyed by (content SHA-256, spec, window): explaining the window that
#: decided a verdict does not render its spectrogram again.
_WINDOW_INPUTS: LruCache[ModelInput] = LruCache(capacity=24)


def remember_window_input(sample: Sample, spec: PreprocessingSpec, model_input: ModelInput) -> None:
    """Keep a one-row input ``(1, 3, S, S)`` that was built anyway (e.g. by a prediction) for :func:`window_input`."""
    index = model_input.windows[0].index if model_input.windows else 0
    _WINDOW_INPUTS.put((sample.sha256, spec, index), ModelInput(model_input.tensor.detach().clone(),
                                                                 model_input.windows))


def window_input(sample: Sample, spec: PreprocessingSpec, index: int = 0) -> ModelInput:
    """The model input of one analysis window: a tensor of one row (an X-ray has only window 0).

    Built once per content, spec and window (a recent one is reused); the caller gets its own tensor.

    Raises:
        IndexError: ``index`` is not a window of this sample.
    """
    found = _WINDOW_INPUTS.get((sample.sha256, spec, index))
    if found is not None:
        return ModelInput(found.tensor.clone(), found.windows)
    if isinstance(spec, XraySpec | XrayGraySpec) or not isinstance(sample, AudioSample):
        if index != 0:
            raise IndexError(f"an X-ray has one input, not window {index}")
        built = next(iter_model_inputs(sample, spec))
    else:
        clip, _, window = window_clip(sample, spec, index)
        built = ModelInput(tensor=window_tensor(clip, spec)[None], windows=(window,))
    remember_window_input(sample, spec, built)
    return built


def model_inputs(sample: Sample, spec: PreprocessingSpec) -> ModelInput:
    """The whole model input of ``sample`` at once: one row per window (see :func:`iter_model_inputs`)."""
    batches = list(iter_model_inputs(sample, spec))
    return ModelInput(tensor=torch.cat([batch.tensor for batch in batches]),
                      windows=tuple(window for batch in batches for window in batch.windows))


def select_window_input(sample: AudioSample, spec: WindowedSpec, pick: Callable[[int], int],
                        ) -> tuple[ModelInput, int]:
    """One analysis window of a recording, exactly the row :func:`iter_model_inputs` produces for it.

    Training uses this to draw a single window of a long clip (see :mod:`xaiscope.data.torch_dataset`) without
    building the others; the row is bit-for-bit the one inference would build for that window (through
    :func:`window_tensor`, whatever the spec's input kind).

    Args:
        sample: a loaded recording.
        spec: the model card's windowed spec (mel picture, waveform or features).
        pick: receives the number of windows ``n`` and returns the index to build, in ``[0, n)``.

    Returns:
        A :class:`ModelInput` whose tensor has one row (``(1, 3, S, S)`` for a picture, ``(1, n_samples)`` for a
        waveform, ``(1, *matrix)`` for features) with its one :class:`Window`, and the recording's total number of
        windows.
    """
    waveform, spans = _audio_windows(sample, spec)
    index = int(pick(len(spans)))
    clip, _, window = _clip_at(waveform, spans, index, spec)
    return ModelInput(tensor=window_tensor(clip, spec)[None], windows=(window,)), len(spans)
