"""Data sets for training and evaluation: FoR, CheXpert-v1.0-small and folder-per-class trees.

::

    from xaiscope.data import DataOptions, ModelInputDataset, open_split
    split = open_split("/data/for-norm", "training")            # LabelledSplit: records, classes, report
    dataset = ModelInputDataset(split, card.preprocessing, mode="train")

Indexing (:func:`open_split`) lists files and applies the label rules; loading (:class:`ModelInputDataset`)
decodes through :func:`xaiscope.inputs.load_input` and builds tensors through :mod:`xaiscope.preprocessing`.
Bad CSV rows, missing and unreadable files are counted and reported, never fatal.
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.data.cache import TensorCache, spec_hash
    from xaiscope.data.chexpert import OBSERVATIONS, chexpert_classes, observation_slug
    from xaiscope.data.fakeorreal import FOR_CLASSES
    from xaiscope.data.layout import check_same_classes, detect_kind, find_root, open_split
    from xaiscope.data.options import DataOptions
    from xaiscope.data.records import SPLITS, DataReport, LabelledSplit, Record, canonical_split
    from xaiscope.data.torch_dataset import Batch, Item, ModelInputDataset, collate

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
