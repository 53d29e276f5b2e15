"""Pieces of the demo builder that need no build-time source: picture drawing, augmentation, bookkeeping."""

from __future__ import annotations

import numpy as np

from tools.demo.augment import augment
from tools.demo.chest import SIZE, chest_picture, mask_group
from tools.demo.models import peak_in_mask
from tools.demo.texts import sentences
from tools.demo.tools import Missing, install_commands


def _lung_mask() -> np.ndarray:
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    left = ((cols - 0.33 * SIZE) / (0.12 * SIZE)) ** 2 + ((rows - 0.5 * SIZE) / (0.3 * SIZE)) ** 2 < 1
    right = ((cols - 0.67 * SIZE) / (0.12 * SIZE)) ** 2 + ((rows - 0.5 * SIZE) / (0.3 * SIZE)) ** 2 < 1
    return left | right


def test_opacity_mask_lies_in_the_lungs_and_normal_has_none() -> None:
    lungs = _lung_mask()
    picture, lesion = chest_picture(lungs, np.random.default_rng(0), opacities=1)
    assert picture.shape == (SIZE, SIZE) and picture.dtype == np.uint8
    assert lesion.sum() > 50
    assert (lesion & ~lungs).sum() < 0.2 * lesion.sum()  # jitter moves the lungs a little
    _, none = chest_picture(lungs, np.random.default_rng(0), opacities=0)
    assert not none.any()


def test_augment_keeps_length_and_level() -> None:
    rng = np.random.default_rng(1)
    clip = (0.3 * np.sin(np.arange(32000) / 16000 * 2 * np.pi * 220)).astype(np.float32)
    for _ in range(5):
        out, steps = augment(clip, 16000, rng)
        assert out.shape == clip.shape and out.dtype == np.float32
        assert np.max(np.abs(out)) <= 0.9 and steps[-1].startswith("peak")


def test_sentences_of_splits_are_disjoint() -> None:
    parts = [set(sentences(30, 0, part)) for part in range(3)]
    assert all(len(part) == 30 for part in parts)
    assert not (parts[0] & parts[1]) and not (parts[1] & parts[2]) and not (parts[0] & parts[2])


def test_mask_groups_drop_view_indices() -> None:
    assert mask_group("16745_2_2.PNG") == "16745"
    assert mask_group("case_76_1-3.png") == "case_76"
    assert mask_group("covid-19-pneumonia-14-L.png") == "covid-19-pneumonia-14-l"


def test_peak_in_mask_maps_model_space_to_mask_space() -> None:
    attribution = np.zeros((128, 128))
    attribution[10, 100] = 1
    mask = np.zeros((256, 256), bool)
    mask[15:30, 195:210] = True
    assert peak_in_mask(attribution, mask)
    assert not peak_in_mask(attribution, ~mask)


def test_install_commands_name_every_missing_package() -> None:
    commands = install_commands(Missing(debian=("flite",), python=("piper-tts",)))
    flat = [" ".join(command) for command in commands]
    assert any("apt-get install" in line and "flite" in line for line in flat)
    assert any("pip install" in line and "piper-tts" in line for line in flat)
