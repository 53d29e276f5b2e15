"""Recognise a data set folder and index one of its splits: :func:`open_split`."""

from __future__ import annotations

from pathlib import Path

from xaiscope.data.chexpert import chexpert_split, is_chexpert_layout
from xaiscope.data.fakeorreal import for_split, is_for_layout
from xaiscope.data.folders import folder_split, split_folders
from xaiscope.data.options import DataOptions
from xaiscope.data.records import LabelledSplit, canonical_split
from xaiscope.errors import ClassMismatchError, DataError, DataNotFoundError, NoSamplesError


def find_root(path: Path) -> Path:
    """``path`` itself, or its only sub-folder when the archive unpacked one level deeper (``for-norm/for-norm``).

    Raises:
        DataNotFoundError: ``path`` is not an existing folder.
    """
    if not path.is_dir():
        raise DataNotFoundError(f"The data folder '{path}' does not exist or is not a folder.",
                                "Check the data set path (the `data` key or --data when training, DATA for "
                                "eval-model).")
    if is_chexpert_layout(path) or is_for_layout(path) or split_folders(path):
        return path
    children = [child for child in path.iterdir() if child.is_dir() and not child.name.startswith(".")]
    if len(children) == 1 and (is_chexpert_layout(children[0]) or is_for_layout(children[0])):
        return children[0]
    return path


def detect_kind(root: Path) -> str:
    """``chexpert`` (train.csv / valid.csv), ``for`` (split/fake + split/real), else ``folders``."""
    if is_chexpert_layout(root):
        return "chexpert"
    if is_for_layout(root):
        return "for"
    return "folders"


def open_split(path: Path | str, split: str, options: DataOptions | None = None, *,
               require_samples: bool = True) -> LabelledSplit:
    """Index one split of a data set.

    Args:
        path: the data set folder (FoR version folder, CheXpert-v1.0-small, or a folder-per-class tree).
        split: ``training``, ``validation`` or ``testing`` (``train``, ``val``, ``test``... accepted).
        options: how to read it; defaults to :class:`DataOptions`'s defaults.
        require_samples: raise :class:`NoSamplesError` when no record is left.

    Raises:
        DataError subclasses: missing folder or CSV, unrecognised layout, no samples.
    """
    options = options or DataOptions()
    name = canonical_split(split)
    if name is None:
        raise DataError(f"'{split}' is not a split name.", "Use training, validation or testing.")
    root = find_root(Path(path).expanduser())
    kind = detect_kind(root) if options.kind == "auto" else options.kind
    readers = {"for": for_split, "chexpert": chexpert_split, "folders": folder_split}
    if kind not in readers:
        raise DataError(f"Unknown data set kind '{kind}'.", "Use auto, for, chexpert or folders.")
    labelled = readers[kind](root, name, options)
    if require_samples and not labelled.records:
        counts = labelled.report.counts
        skipped = f" ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))} skipped)" if counts else ""
        raise NoSamplesError(f"The {name} split of '{root}' holds no usable samples{skipped}.",
                             "Check the folder and the label rules (uncertainty, blank, frontal_only, "
                             "val_fraction), or see the skipped rows listed in the report.")
    return labelled


def check_same_classes(first: LabelledSplit, other: LabelledSplit) -> None:
    """Refuse splits whose class lists differ (a folder-per-class split with a class folder missing).

    Raises:
        ClassMismatchError
    """
    if first.classes != other.classes:
        raise ClassMismatchError(f"The {first.split} split has classes {list(first.classes)} but the "
                                 f"{other.split} split has {list(other.classes)}.",
                                 "Every split needs the same class folders (an empty folder is fine).")
