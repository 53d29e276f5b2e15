"""FoR layout: label order, nested archive folder, ignored and missing files, errors a user can cause."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.data.builders import make_for
from xaiscope.data import DataOptions, detect_kind, find_root, open_split
from xaiscope.errors import DataLayoutError, DataNotFoundError, NoSamplesError, XaiscopeError


def test_for_split_label_order_and_counts(for_root: Path):
    split = open_split(for_root, "training")
    assert split.kind == "for" and split.modality == "audio"
    assert split.classes == ("fake", "real")  # ImageFolder's alphabetical order: index 1 = real
    assert split.alert_class == "fake"
    assert split.root.name == "for-norm" and split.root.parent.name == "for-norm"  # descended into the archive
    assert split.class_counts() == {"fake": 7, "real": 6}  # 6 clips + broken.wav (found unreadable only on load)
    assert all(record.label == 0 for record in split.records if record.path.parent.name == "fake")
    assert split.report.counts["ignored_files"] == 1 and "README.txt" in split.report.examples[0]


def test_split_aliases_and_sizes(for_root: Path):
    assert len(open_split(for_root, "val")) == 6
    assert len(open_split(for_root, "test")) == 6
    with pytest.raises(XaiscopeError, match="not a split name"):
        open_split(for_root, "holdout")


def test_max_samples_is_reproducible(for_root: Path):
    first = open_split(for_root, "training", DataOptions(max_samples=5))
    second = open_split(for_root, "training", DataOptions(max_samples=5))
    assert len(first) == 5 and [r.path for r in first.records] == [r.path for r in second.records]


def test_missing_folder_split_and_class(tmp_path: Path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        open_split(tmp_path / "nowhere", "training")
    root = make_for(tmp_path / "for", {"training": 1, "validation": 1})
    with pytest.raises(DataNotFoundError, match="testing"):
        open_split(root, "testing", DataOptions(kind="for"))
    shutil.rmtree(root / "validation" / "real")
    with pytest.raises(DataLayoutError, match="real"):
        open_split(root, "validation", DataOptions(kind="for"))


def test_empty_split_is_a_clear_error(tmp_path: Path):
    for split in ("training", "validation"):
        for name in ("fake", "real"):
            (tmp_path / split / name).mkdir(parents=True)
    assert detect_kind(find_root(tmp_path)) == "for"
    with pytest.raises(NoSamplesError, match="no usable samples"):
        open_split(tmp_path, "training")
    assert len(open_split(tmp_path, "training", require_samples=False)) == 0
