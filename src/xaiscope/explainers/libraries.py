"""Living with third-party libraries' global state, safely for a server where several threads explain at once.

* shap's explainers and Quantus draw from numpy's *global* generator. :func:`seeded_global_numpy` seeds it for one
  block and restores the caller's state afterwards, under one process-wide lock, so two threads explaining two
  models (each under its own model lock) cannot reseed each other's draws.
* lime and pytorch-grad-cam draw their own tqdm bars through a module attribute; xaiscope reports progress itself
  by counting model calls. :func:`replaced` swaps such an attribute for a block and puts the original back when
  the last concurrent user leaves.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

_NUMPY_GLOBAL = threading.RLock()
_PATCHES = threading.Lock()
_patched: dict[tuple[int, str], tuple[Any, int]] = {}


@contextlib.contextmanager
def seeded_global_numpy(seed: int) -> Iterator[None]:
    """Seed numpy's global generator for a library that draws from it, then restore the caller's state.

    Holds a process-wide lock for the whole block: only one such block runs at a time in a process.
    """
    with _NUMPY_GLOBAL:
        saved = np.random.get_state()
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(saved)


@contextlib.contextmanager
def replaced(owner: Any, attribute: str, value: Any) -> Iterator[None]:
    """Set ``owner.attribute = value`` for the block; the original returns when the last concurrent block ends."""
    key = (id(owner), attribute)
    with _PATCHES:
        original, users = _patched.get(key, (getattr(owner, attribute), 0))
        _patched[key] = (original, users + 1)
        setattr(owner, attribute, value)
    try:
        yield
    finally:
        with _PATCHES:
            original, users = _patched[key]
            if users == 1:
                del _patched[key]
                setattr(owner, attribute, original)
            else:
                _patched[key] = (original, users - 1)


def no_progress_bar(iterable: Any, *_args: Any, **_kwargs: Any) -> Any:
    """A stand-in for ``tqdm(iterable, ...)`` that draws nothing."""
    return iterable
