"""Training a raw-waveform network (RawNet2) on the same data folders as the picture networks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.data.builders import make_for
from xaiscope.data import DataOptions, ModelInputDataset, TensorCache, open_split
from xaiscope.errors import ConfigError
from xaiscope.inputs import load_input
from xaiscope.models import load_model
from xaiscope.preprocessing import model_inputs
from xaiscope.preprocessing.spec import WaveformSpec
from xaiscope.training import load_config, make_config, train

#: A RawNet2 of a few thousand parameters: 4 sinc filters of 33 taps, blocks of 4 and 8 channels, an 8-unit GRU.
TINY_RAWNET2 = {"sinc_filters": 4, "first_conv": 32, "block_filters": [4, 8], "gru_node": 8, "nb_gru_layer": 1,
                "nb_fc_node": 8}


@pytest.fixture(scope="module")
def waveform_run(tmp_path_factory: pytest.TempPathFactory):
    """Two epochs of a tiny RawNet2 on a FoR-like tree, configured from a TOML file (arch_options as an inline
    table), with a tensor cache."""
    base = tmp_path_factory.mktemp("waveform")
    data = make_for(base / "for", {"training": 6, "validation": 3, "testing": 3})
    options = ", ".join(f"{key} = {json.dumps(value)}" for key, value in TINY_RAWNET2.items())
    config_file = base / "run.toml"
    config_file.write_text(
        f'data = "{data}"\n[model]\narch = "rawnet2"\narch_options = {{{options}}}\n'
        '[preprocessing]\nwindow_seconds = 1.0\nhop_seconds = 0.5\nnormalize = true\n'
        f'[optimisation]\nepochs = 2\nbatch_size = 4\nlr = 0.003\n[run]\noutput = "{base / "out"}"\n'
        f'cache_dir = "{base / "cache"}"\nnum_workers = 0\nprogress = false\n', encoding="utf-8")
    config = load_config(config_file)
    return data, config, train(config)


def test_waveform_run_saves_a_waveform_card_with_the_network_size(waveform_run):
    _, config, result = waveform_run
    assert json.loads(config.arch_options) == TINY_RAWNET2
    card = load_model(result.checkpoint).card
    assert card.architecture == "rawnet2" and card.input_kind == "waveform" and card.cam_target_layer is None
    assert card.source == "xaiscope"
    assert card.preprocessing == WaveformSpec(sample_rate=16000, window_seconds=1.0, hop_seconds=0.5, pad="repeat",
                                              aggregation="max", normalize=True)
    network = card.source_options["network"]
    assert {key: network[key] for key in TINY_RAWNET2} == TINY_RAWNET2 and network["sample_rate"] == 16000
    assert len(result.history) == 2 and np.isfinite(result.history[-1]["train_loss"])
    assert {"accuracy", "roc_auc", "eer"} <= set(card.provenance["metrics"]["testing"])
    assert card.calibration is not None and card.familiarity is not None  # fitted on the validation split


def test_waveform_checkpoint_loads_and_predicts_through_the_store(waveform_run):
    data, _, result = waveform_run
    model = load_model(result.checkpoint)
    sample = load_input(next((data / "testing" / "fake").glob("*.wav")))
    rows = model_inputs(sample, model.card.preprocessing).tensor
    assert rows.shape[1:] == (16000,) and rows.dtype == torch.float32
    prediction = model.predict(sample)
    assert prediction.label in ("fake", "real") and len(prediction.windows) == len(rows)
    with torch.no_grad():
        logits = model.network(rows)
    assert logits.shape == (len(rows), 1)


def test_training_windows_are_the_inference_rows(waveform_run, tmp_path: Path):
    """The dataset's training row of a clip is one of the rows predict builds, through the one pipeline, and the
    tensor cache gives it back unchanged."""
    data, _, result = waveform_run
    spec = load_model(result.checkpoint).card.preprocessing
    split = open_split(data, "training", DataOptions())
    cache = TensorCache(tmp_path / "cache", spec)
    dataset = ModelInputDataset(split, spec, mode="train", seed=0, cache=cache)
    for index in range(len(split.records)):
        item = dataset[index]
        assert item.tensor is not None and item.tensor.shape == (1, 16000)
        rows = model_inputs(load_input(split.records[index].path), spec).tensor
        assert any(torch.equal(item.tensor[0], row) for row in rows)
        again = dataset[index]
        assert again.tensor is not None and torch.equal(again.tensor, item.tensor)
    assert cache.hits == len(split.records)


def test_waveform_network_options_are_checked(tmp_path: Path):
    with pytest.raises(ConfigError, match="gru_nodes"):
        train(make_config({"data": str(make_for(tmp_path / "for", {"training": 2, "validation": 1})),
                           "arch": "rawnet2", "arch_options": '{"gru_nodes": 8}', "epochs": 1, "progress": False,
                           "num_workers": 0, "output": str(tmp_path / "out")}))
    with pytest.raises(ConfigError, match="JSON"):
        make_config({"data": "x", "arch": "rawnet2", "arch_options": "{gru_node: 8"})
    with pytest.raises(ConfigError, match="no options"):
        train(make_config({"data": str(tmp_path / "for"), "arch": "mobilenet_v3_small",
                           "arch_options": '{"gru_node": 8}', "epochs": 1, "progress": False, "num_workers": 0,
                           "output": str(tmp_path / "out2")}))
