"""Tiny training set-ups: a FoR-like tree and the config keys that keep a run to a few seconds on a CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.conftest import tone
from tests.data.builders import make_for, write_wav
from xaiscope.training import TrainConfig, make_config

#: A tiny network and small spectrograms: the architecture does not matter for these tests.
TINY: dict[str, Any] = {
    "arch": "mobilenet_v3_small", "image_size": 64, "n_mels": 64, "n_fft": 1024, "hop_length": 256,
    "window_seconds": 1.0, "hop_seconds": 0.5, "batch_size": 4, "lr": 3e-3, "num_workers": 0, "progress": False,
}


def tiny_config(data: Path, output: Path, **overrides: Any) -> TrainConfig:
    return make_config({**TINY, "data": str(data), "output": str(output), **overrides})


def make_for_17(root: Path) -> Path:
    """FoR tree with 17 training clips (8 fake, 9 real: not divisible by 2 processes), 3 + 3 validation, 2 + 2
    testing."""
    make_for(root, {"training": 8, "validation": 3, "testing": 2})
    write_wav(root / "training" / "real" / "real_extra.wav", tone(0.8, frequency=1234.0, seed=77))
    return root


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """One intra-op thread for these tests: on a small shared machine, OpenMP threads competing with other
    processes slow tiny models down by an order of magnitude (torchrun sets OMP_NUM_THREADS=1 for the same
    reason)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def for_data(tmp_path: Path) -> Path:
    """FoR tree, 8 clips per class for training (plus a corrupt one), 3 for validation and testing."""
    return make_for(tmp_path / "for", {"training": 8, "validation": 3, "testing": 3}, corrupt=True)
