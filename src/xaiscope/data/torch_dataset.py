"""A labelled split as a torch ``Dataset`` of model inputs built by the inference pipeline.

Every tensor comes from :func:`xaiscope.inputs.load_input` (decoding) and :mod:`xaiscope.preprocessing`
(``model_inputs`` / ``select_window_input``) with the model card's spec, so training sees exactly the inputs
inference will build: mel pictures, waveform windows or feature matrices, as the spec says.

**Window rule for recordings longer than the spec's window** (stated once, used everywhere):

* ``mode="train"``: one window per clip per epoch, drawn uniformly among the very windows inference would
  scan (:func:`~xaiscope.preprocessing.plan_windows`), with a generator seeded by ``(seed, epoch, index)``: the
  choice is reproducible, the same in every worker and rank, and changes from epoch to epoch so that every part
  of a long clip is seen over training. A clip up to one window long is its one window (padded by the spec's
  ``pad`` rule). A clip's label is assumed to hold for each of its windows (true for FoR, whose files are
  wholly fake or wholly real).
* ``mode="eval"``: every window, as :meth:`xaiscope.models.Model.predict` does; the evaluation then combines
  the windows' probabilities by the card's aggregation, so evaluation metrics are the metrics of the verdicts
  ``xaiscope predict`` prints.

A file that cannot be decoded is never fatal: its item carries ``tensor=None`` and the error message, the
collate function drops it and lists it, and the training loop counts and reports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from xaiscope.data.cache import TensorCache
from xaiscope.data.records import LabelledSplit
from xaiscope.errors import XaiscopeError
from xaiscope.inputs import AudioSample, load_input
from xaiscope.preprocessing import PreprocessingSpec, model_inputs, select_window_input
from xaiscope.preprocessing.spec import AUDIO_SPECS


@dataclass(frozen=True)
class Item:
    """One sample's model input.

    Attributes:
        tensor: ``(W, *row)`` float32, one row per window (``W`` = 1 in training mode or for an X-ray): ``(3, S, S)``
            pictures, ``(n_samples,)`` waveforms, or the spec's other input kind; None when the file could not be
            used.
        label: class index.
        index: position of the record in the split.
        error: why the file could not be used, else None.
    """

    tensor: torch.Tensor | None
    label: int
    index: int
    error: str | None = None


class ModelInputDataset(Dataset[Item]):
    """Model inputs of a :class:`~xaiscope.data.records.LabelledSplit` (window rule in the module docstring).

    Args:
        split: the indexed split.
        spec: the model card's preprocessing spec (its kind must match the split's modality).
        mode: ``train`` (one window per clip per epoch) or ``eval`` (every window).
        seed: seed of the per-epoch window draw.
        cache: optional on-disk tensor cache for ``spec``.
    """

    def __init__(self, split: LabelledSplit, spec: PreprocessingSpec, *, mode: str = "train", seed: int = 0,
                 cache: TensorCache | None = None) -> None:
        if mode not in ("train", "eval"):
            raise ValueError(f"mode must be 'train' or 'eval', not {mode!r}")
        if (split.modality == "audio") != isinstance(spec, AUDIO_SPECS):
            raise ValueError(f"a {split.modality} split needs a {'audio' if split.modality == 'audio' else 'xray'} "
                             "spec")
        self.split = split
        self.spec = spec
        self.mode = mode
        self.seed = seed
        self.cache = cache
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.split.records)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose windows ``train`` mode draws (call before iterating a DataLoader)."""
        self.epoch = epoch

    def window_choice(self, index: int, windows: int) -> int:
        """The window drawn for record ``index`` this epoch, among ``windows``."""
        return int(np.random.default_rng([self.seed, self.epoch, index]).integers(windows))

    def __getitem__(self, index: int) -> Item:
        record = self.split.records[index]
        try:
            tensor = self._tensor(index)
        except (XaiscopeError, OSError) as error:
            problem = getattr(error, "problem", None) or str(error)
            return Item(None, record.label, index, f"{record.path}: {problem}")
        return Item(tensor, record.label, index)

    def _tensor(self, index: int) -> torch.Tensor:
        path = self.split.records[index].path
        one_window = self.mode == "train" or not isinstance(self.spec, AUDIO_SPECS)
        cache = self.cache
        if cache is not None:
            count = cache.window_count(path)
            if count is not None:
                wanted = [self.window_choice(index, count)] if self.mode == "train" else list(range(count))
                found = [cache.get(path, window) for window in wanted]
                rows = [row for row in found if row is not None]
                if len(rows) == len(found):
                    return torch.stack(rows)
        sample = load_input(path, modality=self.split.modality)
        if one_window and isinstance(self.spec, AUDIO_SPECS) and isinstance(sample, AudioSample):
            built, count = select_window_input(sample, self.spec, lambda n: self.window_choice(index, n))
            if cache is not None:
                cache.put(path, built.windows[0].index, built.tensor[0], count)
            return built.tensor
        tensor = model_inputs(sample, self.spec).tensor
        if cache is not None:
            for window, row in enumerate(tensor):
                cache.put(path, window, row, len(tensor))
        return tensor


@dataclass
class Batch:
    """A collated batch of :class:`Item` objects, unusable files left out.

    Attributes:
        inputs: ``(R, *row)``: every usable sample's rows, sample after sample (``(R, 3, S, S)`` pictures,
            ``(R, n_samples)`` waveforms).
        rows: ``(B,)`` int64, how many rows each sample has (1 in training mode).
        labels: ``(B,)`` int64 class indices.
        indices: ``(B,)`` int64 record positions.
        failures: ``(record position, message)`` for each file that could not be used.
    """

    inputs: torch.Tensor
    rows: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor
    failures: list[tuple[int, str]]

    def __len__(self) -> int:
        return len(self.labels)

    def pin_memory(self) -> Batch:
        """Called by ``DataLoader(pin_memory=True)``."""
        self.inputs = self.inputs.pin_memory()
        return self


def collate(items: list[Item]) -> Batch:
    """Concatenate usable items; list the failed ones."""
    usable = [(item, item.tensor) for item in items if item.tensor is not None]
    failures = [(item.index, item.error or "unusable") for item in items if item.tensor is None]
    inputs = torch.cat([tensor for _, tensor in usable]) if usable else torch.zeros(0)
    return Batch(inputs=inputs,
                 rows=torch.tensor([len(tensor) for _, tensor in usable], dtype=torch.int64),
                 labels=torch.tensor([item.label for item, _ in usable], dtype=torch.int64),
                 indices=torch.tensor([item.index for item, _ in usable], dtype=torch.int64),
                 failures=failures)
