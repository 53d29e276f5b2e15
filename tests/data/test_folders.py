"""Generic folder-per-class data sets, with and without split folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import chest_image
from tests.data.builders import jpeg_bytes, make_for
from xaiscope.data import DataOptions, open_split
from xaiscope.errors import DataLayoutError


def _xray_classes(root: Path, per_class: int = 10) -> Path:
    for name in ("normal", "abnormal"):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            (root / name / f"{index}.jpg").write_bytes(jpeg_bytes(chest_image(80, 80, seed=index)))
    return root


def test_folders_without_splits_are_split_by_hash(tmp_path: Path):
    root = _xray_classes(tmp_path / "xr")
    options = DataOptions(val_fraction=0.2, test_fraction=0.2)
    splits = {name: open_split(root, name, options, require_samples=False)
              for name in ("training", "validation", "testing")}
    paths = [record.path for split in splits.values() for record in split.records]
    assert len(paths) == len(set(paths)) == 20  # every file in exactly one split
    training = splits["training"]
    assert training.kind == "folders" and training.modality == "xray"
    assert training.classes == ("abnormal", "normal") and training.alert_class == "abnormal"
    again = open_split(root, "training", options)
    assert [r.path for r in again.records] == [r.path for r in training.records]


def test_folders_with_split_folders_and_audio(tmp_path: Path):
    root = make_for(tmp_path / "speech", {"train": 2, "val": 1})
    split = open_split(root, "validation", DataOptions(kind="folders"))
    assert split.modality == "audio" and split.classes == ("fake", "real") and len(split) == 2
    assert split.alert_class == "fake"


def test_one_class_folder_is_refused(tmp_path: Path):
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "a.jpg").write_bytes(jpeg_bytes(chest_image(80, 80)))
    with pytest.raises(DataLayoutError, match="one folder per class"):
        open_split(tmp_path, "training")
