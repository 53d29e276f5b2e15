"""One training epoch and one evaluation pass, on one process's shard of a split."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from xaiscope.data.torch_dataset import Batch
from xaiscope.models.card import ModelCard
from xaiscope.models.model import TwoLogitView, combine_windows


@dataclass
class Precision:
    """Mixed precision and memory format of a run (only ever on CUDA).

    Attributes:
        dtype: the autocast dtype (``torch.bfloat16`` / ``torch.float16``), or None for full float32.
        channels_last: convert picture inputs ``(N, C, H, W)`` (and the network) to channels-last; other inputs (a
            waveform's ``(N, n_samples)``) stay as they are.
    """

    device: torch.device
    dtype: torch.dtype | None = None
    channels_last: bool = False

    @classmethod
    def choose(cls, device: torch.device, amp: str, channels_last: bool) -> Precision:
        """bf16 where the GPU supports it (``auto``), fp16 otherwise; nothing on the CPU."""
        if device.type != "cuda":
            return cls(device)
        dtype = None
        if amp == "bf16" or (amp == "auto" and torch.cuda.is_bf16_supported()):
            dtype = torch.bfloat16
        elif amp in ("fp16", "auto"):
            dtype = torch.float16
        return cls(device, dtype, channels_last)

    @property
    def name(self) -> str:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32") if self.dtype else "fp32"

    def autocast(self) -> AbstractContextManager[Any]:
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.dtype)

    def inputs(self, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.to(self.device, non_blocking=True)
        return tensor.contiguous(memory_format=torch.channels_last) if self.channels_last and tensor.dim() == 4 \
            else tensor


def loss_function(num_outputs: int, class_weights: torch.Tensor | None) -> nn.Module:
    """BCE on the one logit of a binary model (``pos_weight`` = weight of class 1 / class 0), else cross-entropy.

    Returns:
        A module mapping ``(logits (N, num_outputs), labels (N,) int64)`` to a ``(N,)`` per-sample loss.
    """
    if num_outputs == 1:
        pos_weight = None if class_weights is None else (class_weights[1] / class_weights[0]).reshape(1)
        return _BinaryLoss(pos_weight)
    return nn.CrossEntropyLoss(weight=class_weights, reduction="none")


class _BinaryLoss(nn.Module):
    pos_weight: torch.Tensor | None

    def __init__(self, pos_weight: torch.Tensor | None) -> None:
        super().__init__()
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return nn.functional.binary_cross_entropy_with_logits(
            logits[:, 0].float(), labels.float(), pos_weight=self.pos_weight, reduction="none")


@dataclass
class EpochStats:
    """What one process did in one training epoch."""

    loss_sum: float = 0.0
    samples: int = 0
    steps: int = 0
    seconds: float = 0.0
    indices: list[int] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)


def train_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, loss_fn: nn.Module,
                precision: Precision, scaler: torch.amp.GradScaler, *, join: AbstractContextManager[Any],
                progress: Any, task: Any) -> EpochStats:
    """Train ``model`` on this process's shard once.

    Args:
        model: the network (DDP-wrapped when distributed), in train mode; ``(B, 3, S, S)`` -> ``(B, outputs)``.
        loader: yields :class:`~xaiscope.data.torch_dataset.Batch` with one row per sample.
        join: ``Join([ddp])`` when distributed (uneven shards), else a null context.
        progress, task: a progress bar and its task, advanced by the samples of each batch.

    Returns:
        Loss sum and sample count (for the mean), steps, seconds, the record indices trained on and the files
        that failed to load.
    """
    stats = EpochStats()
    started = time.perf_counter()
    with join:
        for batch in loader:
            assert isinstance(batch, Batch)
            stats.failures.extend(batch.failures)
            if len(batch) == 0:
                progress.advance(task, len(batch.failures))
                continue
            inputs = precision.inputs(batch.inputs)
            labels = batch.labels.to(precision.device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with precision.autocast():
                logits = model(inputs)
            losses = loss_fn(logits.float(), labels)
            loss = losses.mean()
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            stats.loss_sum += float(losses.detach().sum())
            stats.samples += len(batch)
            stats.steps += 1
            stats.indices.extend(batch.indices.tolist())
            progress.advance(task, len(batch) + len(batch.failures))
    stats.seconds = time.perf_counter() - started
    return stats


@dataclass
class Predictions:
    """Verdicts on one process's shard: ``labels (N,)``, ``probabilities (N, C)``, ``indices (N,)``."""

    labels: np.ndarray
    probabilities: np.ndarray
    indices: np.ndarray
    failures: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @classmethod
    def merge(cls, parts: list[Predictions]) -> Predictions:
        """Concatenate the shards of every process, ordered by record index."""
        indices = np.concatenate([part.indices for part in parts])
        order = np.argsort(indices, kind="stable")
        return cls(labels=np.concatenate([part.labels for part in parts])[order],
                   probabilities=np.concatenate([part.probabilities for part in parts])[order],
                   indices=indices[order], failures=[failure for part in parts for failure in part.failures],
                   seconds=max((part.seconds for part in parts), default=0.0))

    def loss(self) -> float:
        """Mean negative log-likelihood of the true class under the verdict's probabilities."""
        if len(self.labels) == 0:
            return float("nan")
        chosen = self.probabilities[np.arange(len(self.labels)), self.labels]
        return float(-np.log(np.clip(chosen, 1e-7, 1.0)).mean())


@torch.inference_mode()
def predict(network: nn.Module, loader: DataLoader, card: ModelCard, precision: Precision, *,
            progress: Any, task: Any) -> Predictions:
    """Verdict probabilities for every sample of ``loader`` (eval-mode data: all windows of each clip).

    Args:
        network: the bare network (not DDP), ``(R, 3, S, S)`` -> ``(R, card.num_outputs)``.

    Returns:
        :class:`Predictions` with ``probabilities`` of shape ``(N, len(card.classes))``.
    """
    started = time.perf_counter()
    view = TwoLogitView(network) if card.num_outputs == 1 else network
    was_training = network.training
    network.eval()
    labels, rows, indices, failures = [], [], [], []
    for batch in loader:
        failures.extend(batch.failures)
        if len(batch):
            with precision.autocast():
                logits = view(precision.inputs(batch.inputs))
            window_probabilities = torch.softmax(logits.float(), dim=1).cpu()
            for chunk in torch.split(window_probabilities, batch.rows.tolist()):
                rows.append(combine_windows(chunk, card).probabilities)
            labels.extend(batch.labels.tolist())
            indices.extend(batch.indices.tolist())
        progress.advance(task, len(batch) + len(batch.failures))
    network.train(was_training)
    classes = len(card.classes)
    return Predictions(labels=np.asarray(labels, np.int64),
                       probabilities=torch.stack(rows).numpy().astype(np.float64) if rows else np.zeros((0, classes)),
                       indices=np.asarray(indices, np.int64), failures=failures,
                       seconds=time.perf_counter() - started)
