"""From sample to tensor: windows, padding rules, X-ray resizing, and the spec's JSON round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import audio_bytes, chest_image, png_bytes, tone
from xaiscope.errors import CardError
from xaiscope.inputs import load_input
from xaiscope.preprocessing import (
    AudioSpec,
    XraySpec,
    count_windows,
    iter_model_inputs,
    model_inputs,
    plan_windows,
    spec_from_dict,
    spec_to_dict,
)
from xaiscope.preprocessing.pipeline import _pad_clip as pad_clip


def test_plan_windows_cover_the_recording():
    spec = AudioSpec(window_seconds=2.0, hop_seconds=1.0)
    spans = plan_windows(16000 * 5 + 400, 16000, spec)
    assert spans[0] == (0, 32000)
    assert all(end - start == 32000 for start, end in spans)
    assert spans[-1][1] == 16000 * 5 + 400
    assert [start for start, _ in spans[:4]] == [0, 16000, 32000, 48000]


def test_short_recording_is_one_window():
    assert plan_windows(1000, 16000, AudioSpec()) == [(0, 1000)]


def test_pad_rules():
    clip = np.arange(1, 11, dtype=np.float32)
    spec = AudioSpec(window_seconds=25 / 16000)
    np.testing.assert_array_equal(pad_clip(clip, spec)[:12], np.concatenate([clip, clip[:2]]))
    assert len(pad_clip(clip, spec)) == 25
    zeros = pad_clip(clip, AudioSpec(window_seconds=25 / 16000, pad="zeros"))
    assert len(zeros) == 25 and (zeros[10:] == 0).all()
    assert len(pad_clip(clip, AudioSpec(pad="none"))) == 10


def test_audio_model_input_shapes_and_windows():
    sample = load_input(audio_bytes(tone(5.5, 22050), 22050))
    spec = AudioSpec(window_seconds=2.0, hop_seconds=1.0)
    batch = model_inputs(sample, spec)
    assert batch.tensor.shape == (count_windows(sample, spec), 3, 224, 224)
    assert batch.tensor.dtype == torch.float32 and torch.isfinite(batch.tensor).all()
    assert batch.windows[0].start_s == 0.0 and batch.windows[-1].end_s == pytest.approx(5.5, abs=1e-3)
    batches = list(iter_model_inputs(sample, spec, batch_size=2))
    assert [len(b.tensor) for b in batches] == [2, 2, 1]
    assert torch.equal(torch.cat([b.tensor for b in batches]), batch.tensor)


def test_recording_with_silent_passage_gives_finite_input():
    signal = np.concatenate([tone(1.0), np.zeros(48000, np.float32)])
    batch = model_inputs(load_input(audio_bytes(signal, 16000, "WAV", "FLOAT")), AudioSpec())
    assert torch.isfinite(batch.tensor).all()


def test_xray_input_is_three_equal_normalised_channels():
    sample = load_input(png_bytes((chest_image(300, 250) * 255).astype(np.uint8)))
    batch = model_inputs(sample, XraySpec())
    assert batch.tensor.shape == (1, 3, 224, 224) and batch.windows == ()
    std = torch.tensor(XraySpec().std).view(3, 1, 1)
    mean = torch.tensor(XraySpec().mean).view(3, 1, 1)
    unit = batch.tensor[0] * std + mean
    assert torch.allclose(unit[0], unit[1], atol=1e-5) and torch.allclose(unit[1], unit[2], atol=1e-5)


def test_spec_json_round_trip():
    for spec in (AudioSpec(renderer="seed-notebook", window_seconds=3.0), XraySpec(image_size=256)):
        assert spec_from_dict(spec_to_dict(spec)) == spec


def test_bad_spec_is_a_card_error():
    with pytest.raises(CardError):
        spec_from_dict({"kind": "audio", "renderer": "watercolour"})
    with pytest.raises(CardError):
        spec_from_dict({"kind": "audio", "colour": 1})
    with pytest.raises(CardError):
        spec_from_dict({"kind": "video"})
