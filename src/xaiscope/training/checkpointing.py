"""The resumable training state (``last.pt``) and the per-epoch metrics log, both written atomically.

``last.pt`` is a plain ``torch.save`` of tensors, numbers, strings, lists, tuples and dicts only, so it loads
with ``torch.load(weights_only=True)`` (no code runs): the network's and optimizer's state_dicts, the scheduler
and gradient scaler states, the finished epoch, the early-stopping bookkeeping, the metrics history, the run's
config and every random generator's state (Python, NumPy, torch CPU and CUDA). It is rewritten after each
finished epoch (to a temporary file, flushed to disk, then renamed), so a crash or Ctrl-C at any moment leaves
either the previous or the new state, and never loses a finished epoch.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xaiscope.errors import ResumeError

STATE_FILE = "last.pt"
METRICS_LOG = "metrics.jsonl"
STATE_VERSION = 1


def rng_state() -> dict[str, Any]:
    """Every random generator's state, as tensors and plain values."""
    kind, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    version, python_state, gauss = random.getstate()
    return {
        "python": [version, list(python_state), gauss],
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(position), int(has_gauss),
                  float(cached)],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`rng_state`."""
    version, python_state, gauss = state["python"]
    random.setstate((version, tuple(python_state), gauss))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fsync_replace(temporary: Path, target: Path) -> None:
    with temporary.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, target)


def save_state(directory: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``directory/last.pt`` atomically; returns the path."""
    target = directory / STATE_FILE
    temporary = directory / f".{STATE_FILE}.{os.getpid()}.tmp"
    torch.save({"version": STATE_VERSION, **state}, temporary)
    _fsync_replace(temporary, target)
    return target


def load_state(path: Path) -> dict[str, Any]:
    """Read a ``last.pt`` with ``weights_only=True``.

    Raises:
        ResumeError: unreadable or of another version.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types on a damaged file
        raise ResumeError(f"The training state '{path}' cannot be read ({type(error).__name__}: {error}).",
                          "Delete it (or pass --no-resume) to start the run over.") from error
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise ResumeError(f"'{path}' is not a training state of this xaiscope version.",
                          "Pass --no-resume (or delete it) to start the run over.")
    return state


def write_metrics_log(directory: Path, history: list[dict[str, Any]]) -> Path:
    """Rewrite ``metrics.jsonl`` (one JSON object per finished epoch) atomically from the full history."""
    target = directory / METRICS_LOG
    temporary = directory / f".{METRICS_LOG}.{os.getpid()}.tmp"
    temporary.write_text("".join(json.dumps(entry) + "\n" for entry in history), encoding="utf-8")
    _fsync_replace(temporary, target)
    return target


def write_json(path: Path, data: Any) -> None:
    """Write indented JSON atomically."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
