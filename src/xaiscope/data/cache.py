"""An optional on-disk cache of model-input tensors, keyed so that it can never serve a stale picture.

Where: ``<cache_dir>/<spec hash>/<file key>.json`` (how many windows the file has) and
``<cache_dir>/<spec hash>/<file key>-w<index>.npy`` (one window's tensor).

* The **spec hash** is the sha256 of the card's preprocessing spec (every field, as JSON with sorted keys),
  this cache's format version and xaiscope's version. Any change of sample rate, FFT, mel, renderer, window,
  padding, image size or normalisation, or a new xaiscope release, gives a new folder.
* The **file key** is the sha256 of the file's absolute path, size in bytes and modification time in
  nanoseconds: an edited or replaced file is a new key.

Picture tensors are stored as the uint8 picture they were computed from, ``round((t * std + mean) * 255)``, and
rebuilt with the same float32 arithmetic as :mod:`xaiscope.preprocessing`, which gives back the identical
tensor (checked on every write: a tensor that does not round-trip is stored as float32 instead). A 224-pixel
window costs 150 KB. Every other input kind (a waveform window, a features matrix) is stored as float32 (a 2-s
window at 16 kHz: 128 KB). Writes go to a temporary name and are renamed into place, so concurrent workers and
ranks never read half a file. Reads use ``numpy.load(allow_pickle=False)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from xaiscope.preprocessing import AudioSpec, PreprocessingSpec, XraySpec, spec_to_dict

CACHE_FORMAT = 1


def spec_hash(spec: PreprocessingSpec) -> str:
    """sha256 hex digest of the spec, the cache format and xaiscope's version."""
    from xaiscope import __version__

    text = json.dumps({"spec": spec_to_dict(spec), "format": CACHE_FORMAT, "xaiscope": __version__},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class TensorCache:
    """Model-input tensors of one spec, per file and window.

    Args:
        directory: the cache root (created when missing).
        spec: the preprocessing spec the tensors are built with.
    """

    def __init__(self, directory: Path, spec: PreprocessingSpec) -> None:
        self.spec = spec
        self.folder = Path(directory).expanduser() / spec_hash(spec)[:24]
        self.folder.mkdir(parents=True, exist_ok=True)
        description = self.folder / "spec.json"
        if not description.exists():
            _atomic_write(description, (json.dumps(spec_to_dict(spec), indent=2) + "\n").encode())
        self._mean: np.ndarray | None = None
        self._std: np.ndarray | None = None
        if isinstance(spec, AudioSpec | XraySpec):  # pictures are stored as the uint8 picture they came from
            self._mean = np.asarray(spec.mean, np.float32)[:, None, None]
            self._std = np.asarray(spec.std, np.float32)[:, None, None]
        self.hits = 0
        self.misses = 0

    @staticmethod
    def file_key(path: Path) -> str:
        """sha256 of the absolute path, size and modification time (ns) of ``path``."""
        status = path.stat()
        text = f"{path.resolve()}|{status.st_size}|{status.st_mtime_ns}"
        return hashlib.sha256(text.encode()).hexdigest()

    def window_count(self, path: Path) -> int | None:
        """How many windows ``path`` has under this spec, if known."""
        try:
            meta = json.loads((self.folder / f"{self.file_key(path)}.json").read_text())
            return int(meta["windows"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def get(self, path: Path, window: int) -> torch.Tensor | None:
        """The cached float32 tensor of one window (``(3, S, S)`` for a picture), or None (a miss)."""
        try:
            array = np.load(self.folder / f"{self.file_key(path)}-w{window}.npy", allow_pickle=False)
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return torch.from_numpy(self._decode(array))

    def put(self, path: Path, window: int, tensor: torch.Tensor, windows: int) -> None:
        """Store one window's tensor (``(3, S, S)`` for a picture) and the file's window count."""
        key = self.file_key(path)
        values = tensor.detach().cpu().numpy().astype(np.float32, copy=False)
        stored: np.ndarray = values
        if self._mean is not None and self._std is not None:
            encoded = np.round((values * self._std + self._mean) * 255.0)
            if encoded.min() >= 0 and encoded.max() <= 255 and np.array_equal(
                    self._decode(encoded.astype(np.uint8)), values):
                stored = encoded.astype(np.uint8)
        buffer_path = self.folder / f"{key}-w{window}.npy"
        with _temporary(buffer_path) as temporary:
            np.save(temporary, stored, allow_pickle=False)
        meta = self.folder / f"{key}.json"
        if not meta.exists():
            _atomic_write(meta, json.dumps({"windows": int(windows)}).encode())

    def _decode(self, array: np.ndarray) -> np.ndarray:
        if array.dtype != np.uint8 or self._mean is None or self._std is None:
            return np.ascontiguousarray(array, dtype=np.float32)
        unit = array.astype(np.float32) / 255.0
        return np.ascontiguousarray((unit - self._mean) / self._std, dtype=np.float32)


class _temporary:
    """Context manager: a unique temporary path beside ``target``, renamed onto it on success."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")

    def __enter__(self) -> BinaryIO:
        self.handle = self.path.open("wb")
        return self.handle

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self.handle.close()
        if kind is None:
            os.replace(self.path, self.target)
        else:
            self.path.unlink(missing_ok=True)


def _atomic_write(target: Path, data: bytes) -> None:
    temporary = _temporary(target)
    with temporary as handle:
        handle.write(data)
