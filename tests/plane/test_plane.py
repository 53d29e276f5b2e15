"""The time-frequency plane: tile masking and resynthesis, a known answer for every audio method on it, and maps
from the model's own input space carried onto it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.conftest import audio_bytes, tone
from xaiscope.explainers import explain, methods
from xaiscope.inputs import load_input
from xaiscope.models.card import ModelCard
from xaiscope.models.model import Model
from xaiscope.plane import ClipMasker, PlaneGrid, TileLayout
from xaiscope.plane.project import picture_to_plane, waveform_to_plane
from xaiscope.preprocessing.spec import AudioSpec, WaveformSpec
from xaiscope.views.audio import AudioView
from xaiscope.views.export import explanation_files

GRID = PlaneGrid.for_rate(16000)
#: Resynthesis error of an unchanged STFT, float32 (stated in xaiscope.plane.tiles).
RESYNTHESIS_ERROR = 1e-5


def noise(seconds: float, seed: int = 0, level: float = 0.2) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * 16000))).astype(np.float32)


def test_the_grid_is_stated_and_every_bin_has_one_band():
    assert (GRID.n_fft, GRID.hop_length, GRID.n_bands) == (512, 160, 64)
    assert len(GRID.band_of_bin) == GRID.n_bins and np.all(np.diff(GRID.band_of_bin) >= 0)
    assert GRID.band_edges_hz[0] == 0 and GRID.band_edges_hz[-1] == 8000
    assert GRID.frame_times(16000, 1.0)[:2].tolist() == [1.0, 1.01]


@pytest.mark.parametrize("replacement", ["silence", "noise", "band-mean"])
def test_hiding_nothing_gives_the_clip_back_and_hiding_everything_leaves_only_the_replacement(replacement):
    clip = noise(1.3) + tone(1.3, 16000, 440, amplitude=0.3).astype(np.float32)
    masker = ClipMasker(clip, GRID, replacement, seed=3)
    everything = np.ones(masker.n_cells, bool)
    assert np.abs(masker.resynthesise(everything) - clip).max() < RESYNTHESIS_ERROR
    hidden = masker.resynthesise(~everything)
    only_replacement = GRID.istft(masker.filler, len(clip))
    assert np.abs(hidden - only_replacement).max() < RESYNTHESIS_ERROR
    if replacement == "silence":
        assert np.abs(hidden).max() < RESYNTHESIS_ERROR
    else:  # quieter than the clip, never silent
        assert 0 < np.sqrt(np.mean(hidden ** 2)) < np.sqrt(np.mean(clip ** 2))


def test_hiding_one_tile_changes_only_its_band_and_time():
    clip = noise(1.0)
    masker = ClipMasker(clip, GRID, "silence")
    layout = TileLayout(*masker.n_cells, band_tiles=4, time_tiles=4)
    kept = np.ones(layout.count, bool)
    kept[5] = False  # band group 1, time group 1
    changed = GRID.band_db(clip - masker.resynthesise(layout.cells(kept)), top_db=200) > -60
    assert changed[layout.labels == 5].mean() > 0.95
    far = (np.abs(np.arange(layout.n_bands)[:, None] // 16 - 1) > 1) | (np.abs(np.arange(layout.n_frames) // 26 - 1)
                                                                         > 1)[None]
    assert changed[far].mean() < 0.01


class BandSpan(nn.Module):
    """Waveform ``(N, n)`` -> 2 logits from the energy of plane bands ``bands`` in frames ``frames`` only."""

    def __init__(self, bands: tuple[int, int], frames: tuple[int, int]) -> None:
        super().__init__()
        self.bins = slice(int(GRID.bin_edges[bands[0]]), int(GRID.bin_edges[bands[1]]))
        self.frames = slice(*frames)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(inputs, GRID.n_fft, GRID.hop_length, window=torch.hann_window(GRID.n_fft), center=True,
                              pad_mode="constant", return_complex=True)
        energy = torch.log(spectrum[:, self.bins, self.frames].abs().pow(2).mean(dim=(1, 2)) + 1e-6)[:, None]
        return torch.cat([-energy, energy], dim=1)


#: Parameters that keep the known-answer test quick; the tiles fall on the model's band and span (8 x 8 tiles).
FAST = {"integrated_gradients": {"steps": 16}, "smoothgrad": {"samples": 8},
        "tile_lime": {"samples": 200, "time_tiles": 8, "band_tiles": 8},
        "tile_kernel_shap": {"samples": 200, "time_tiles": 8, "band_tiles": 8},
        "tile_occlusion": {"time_tiles": 8, "band_tiles": 8}}


def test_every_model_agnostic_and_gradient_method_finds_the_band_and_span_a_waveform_model_hears():
    spec = WaveformSpec(window_seconds=1.6, hop_seconds=0.8, normalize=False)
    frames = GRID.n_frames(25600)  # 161
    span = np.flatnonzero(np.minimum(np.arange(frames) * 8 // frames, 7) == 3)  # the 4th of 8 time tiles
    model = Model(ModelCard(name="bandspan", modality="audio", architecture="bandspan", classes=("off", "on"),
                            num_outputs=2, preprocessing=spec, alert_class="on", input_kind="waveform"),
                  BandSpan((40, 48), (int(span[0]), int(span[-1]) + 1)))
    sample = load_input(audio_bytes(noise(1.6), 16000), name="noise.wav")
    region = np.zeros((64, frames), bool)
    region[40:48, span[0]:span[-1] + 1] = True  # 1.6 % of the plane
    ran = []
    for choice in methods(model=model, controls=False):
        if not choice.available:
            continue
        explanation = explain(model, sample, choice.plugin.name, target="on", **FAST.get(choice.plugin.name, {}))
        assert explanation.plane is not None and explanation.plane.values.shape == (64, frames)
        positive = explanation.plane.positive()
        share = positive[region].sum() / positive.sum()
        assert share > 0.8, (choice.plugin.name, share)
        ran.append(choice.plugin.name)
    assert set(ran) == {"integrated_gradients", "smoothgrad", "guided_backprop", "gradient_x_input",
                        "tile_lime", "tile_kernel_shap", "tile_occlusion"}


def test_tile_methods_declare_their_calls_and_record_the_plane():
    spec = WaveformSpec(window_seconds=1.0, hop_seconds=0.5, normalize=True)
    model = Model(ModelCard(name="bandspan", modality="audio", architecture="bandspan", classes=("off", "on"),
                            num_outputs=2, preprocessing=spec, alert_class="on", input_kind="waveform"),
                  BandSpan((10, 20), (20, 60)))
    sample = load_input(audio_bytes(noise(0.7), 16000), name="short.wav")  # repeated up to one window
    for name, params in (("tile_occlusion", {"time_tiles": 4, "band_tiles": 2}),
                         ("tile_lime", {"samples": 30}), ("tile_kernel_shap", {"samples": 40})):
        explanation = explain(model, sample, name, **params)
        assert explanation.model_calls == explanation.expected_model_calls, name
        record = explanation.record()
        assert record["space"] == "plane" and record["plane"]["n_bands"] == 64 and record["plane"]["origin"] == "plane"
        assert record["plane"]["real_end_s"] == pytest.approx(0.7)
        files = explanation_files(explanation, sample, spec)
        assert {"timefreq.png", "plane.npy", "listen.wav", "record.json"} <= set(files)
        view = AudioView.build(explanation)
        assert np.all(view.time_importance()[view.times > 0.7 + 1e-9] == 0)  # padding is not the recording


def test_a_mel_picture_map_lands_on_the_seconds_and_hertz_it_shows():
    spec = AudioSpec(window_seconds=2.0, hop_seconds=1.0, image_size=128)
    n_samples = 32000
    picture_map = np.zeros((128, 128), np.float32)
    picture_map[:, 64:] = 1.0  # the second half of the window, every band
    on_plane = picture_to_plane(picture_map, spec, GRID, n_samples, start_s=3.0)
    times = GRID.frame_times(n_samples, 3.0)
    assert on_plane[:, times > 4.1].min() == pytest.approx(1.0) and on_plane[:, times < 3.9].max() == 0.0
    picture_map = np.zeros((128, 128), np.float32)
    picture_map[:16] = 1.0  # the top rows: the highest mel bands
    on_plane = picture_to_plane(picture_map, spec, GRID, n_samples, start_s=0.0)
    high = GRID.band_centres_hz > 6000
    assert on_plane[high].mean() > 0.9 and on_plane[GRID.band_centres_hz < 4000].max() == 0.0


def test_a_map_over_samples_is_summed_per_frame_and_spread_over_bands():
    samples = np.zeros((1, 16000), np.float32)
    samples[0, 8000:8160] = 1.0
    on_plane = waveform_to_plane(samples, GRID)
    assert on_plane.sum() == pytest.approx(160.0)
    assert np.allclose(on_plane[:, 50], 80 / 64) and np.allclose(on_plane[:, 51], 80 / 64)
    assert on_plane[:, :50].sum() == 0 and on_plane[:, 52:].sum() == 0


def test_evaluate_scores_localisation_on_the_plane_for_a_waveform_model():
    from xaiscope.evaluation import evaluate

    spec = WaveformSpec(window_seconds=1.6, hop_seconds=0.8, normalize=False)
    frames = GRID.n_frames(25600)
    span = np.flatnonzero(np.minimum(np.arange(frames) * 8 // frames, 7) == 3)
    model = Model(ModelCard(name="bandspan", modality="audio", architecture="bandspan", classes=("off", "on"),
                            num_outputs=2, preprocessing=spec, alert_class="on", input_kind="waveform"),
                  BandSpan((0, 64), (int(span[0]), int(span[-1]) + 1)))  # every band, one time span
    sample = load_input(audio_bytes(noise(1.6), 16000), name="noise.wav")
    interval = (float(span[0]) / 100, float(span[-1]) / 100)
    result = evaluate(model, [sample], {"tile_occlusion": {"time_tiles": 8, "band_tiles": 2},
                                        "gradient_x_input": {}}, ["relevance_mass", "pointing_game", "sparseness"],
                      ground_truth=[interval], target="on")
    for method in ("tile_occlusion", "gradient_x_input"):
        assert result.mean(method, "relevance_mass") > 0.9, method
        assert result.mean(method, "pointing_game") == 1.0
        assert np.isfinite(result.mean(method, "sparseness"))
    assert not result.skipped and not result.not_applicable
    assert result.model_calls == result.expected_model_calls


def test_metrics_that_perturb_the_model_input_say_why_they_skip_a_plane_map(audio_region_model, speech_sample):
    from xaiscope.evaluation import evaluate

    result = evaluate(audio_region_model, [speech_sample], {"tile_occlusion": {"time_tiles": 4, "band_tiles": 2}},
                      ["deletion", "sparseness"], target=1)
    assert [entry["metric"] for entry in result.skipped] == ["deletion"]
    assert "time-frequency plane" in result.skipped[0]["reason"]
    assert np.isfinite(result.mean("tile_occlusion", "sparseness"))
    assert result.model_calls == result.expected_model_calls
