"""Model inputs for training come from the inference pipeline; the window rule; the spec-keyed cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from tests.data.builders import make_for
from xaiscope.data import ModelInputDataset, TensorCache, collate, open_split, spec_hash
from xaiscope.inputs import load_input
from xaiscope.preprocessing import AudioSpec, XraySpec, model_inputs, select_window_input

SPEC = AudioSpec(image_size=48, n_mels=48, n_fft=512, hop_length=256, window_seconds=0.5, hop_seconds=0.25)


def _long_clip_split(tmp_path: Path):
    root = make_for(tmp_path / "for", {"training": 2}, seconds=(1.7,))
    return open_split(root, "training")


def test_select_window_input_is_the_inference_row(tmp_path: Path):
    sample = load_input(_long_clip_split(tmp_path).records[0].path)
    whole = model_inputs(sample, SPEC)
    assert len(whole.windows) == 6  # 1.7 s, 0.5 s windows every 0.25 s, the last flush with the end
    for index in (0, 3, 5):
        one, count = select_window_input(sample, SPEC, lambda n, index=index: index)
        assert count == 6 and one.windows == (whole.windows[index],)
        assert torch.equal(one.tensor[0], whole.tensor[index])


def test_training_draws_one_inference_window_per_epoch(tmp_path: Path):
    split = _long_clip_split(tmp_path)
    dataset = ModelInputDataset(split, SPEC, mode="train", seed=3)
    whole = model_inputs(load_input(split.records[0].path), SPEC).tensor
    chosen = []
    for epoch in range(1, 7):
        dataset.set_epoch(epoch)
        item = dataset[0]
        assert item.tensor.shape == (1, 3, 48, 48)
        window = dataset.window_choice(0, len(whole))
        assert torch.equal(item.tensor[0], whole[window])
        chosen.append(window)
    assert len(set(chosen)) > 1  # the draw changes from epoch to epoch
    again = ModelInputDataset(split, SPEC, mode="train", seed=3)
    again.set_epoch(4)
    assert again.window_choice(0, len(whole)) == chosen[3]  # reproducible: same seed, epoch and index
    assert torch.equal(again[0].tensor[0], whole[chosen[3]])


def test_evaluation_uses_every_window(tmp_path: Path):
    split = _long_clip_split(tmp_path)
    item = ModelInputDataset(split, SPEC, mode="eval")[1]
    assert torch.equal(item.tensor, model_inputs(load_input(split.records[1].path), SPEC).tensor)


def test_cache_serves_identical_tensors_and_is_keyed_by_spec_and_file(tmp_path: Path):
    split = _long_clip_split(tmp_path)
    cache = TensorCache(tmp_path / "cache", SPEC)
    cold = ModelInputDataset(split, SPEC, mode="eval", cache=cache)[0].tensor
    assert cache.hits == 0
    warm = ModelInputDataset(split, SPEC, mode="eval", cache=cache)[0].tensor
    assert cache.hits == len(warm) and torch.equal(cold, warm)  # bit-identical after the uint8 round trip
    training = ModelInputDataset(split, SPEC, mode="train", seed=1, cache=cache)
    training.set_epoch(2)
    assert torch.equal(training[0].tensor[0], cold[training.window_choice(0, len(cold))])

    other = AudioSpec(**{**SPEC.__dict__, "n_mels": 32})
    assert spec_hash(other) != spec_hash(SPEC)
    assert TensorCache(tmp_path / "cache", other).window_count(split.records[0].path) is None

    path = split.records[0].path
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))  # the file "changed"
    assert cache.window_count(path) is None


def test_cache_round_trip_for_xray(tmp_path: Path, chexpert_root: Path):
    split = open_split(chexpert_root, "testing")
    spec = XraySpec(image_size=64)
    cache = TensorCache(tmp_path / "cache", spec)
    first = ModelInputDataset(split, spec, mode="train", cache=cache)[0].tensor
    second = ModelInputDataset(split, spec, mode="train", cache=cache)[0].tensor
    assert cache.hits == 1 and torch.equal(first, second)
    stored = next(cache.folder.glob("*-w0.npy"))
    assert np.load(stored).dtype == np.uint8  # 12 KB for a 64-pixel picture instead of 48 KB of float32


def test_collate_drops_unreadable_items(for_root: Path):
    split = open_split(for_root, "training")
    dataset = ModelInputDataset(split, SPEC, mode="eval")
    broken = next(index for index, record in enumerate(split.records) if record.path.name == "broken.wav")
    batch = collate([dataset[broken], dataset[broken + 1], dataset[broken + 2]])
    assert len(batch) == 2 and batch.failures[0][0] == broken and "broken.wav" in batch.failures[0][1]
    assert batch.rows.tolist() == [len(row) for row in (dataset[broken + 1].tensor, dataset[broken + 2].tensor)]
    assert batch.inputs.shape[0] == int(batch.rows.sum())
