"""Cost estimates before a run, from what the same model and method recently cost on this server.

After each run the app records its wall seconds and model calls (:meth:`CostBook.record`). The estimate for
``calls`` model calls of a method on a model is then, from that method's recent runs on that model: a line
``fixed + per_call x calls`` fitted through the last runs once they span two sizes, else ``calls x`` the moving
average of seconds per call (weight :data:`RECENT_WEIGHT` on the newest run). Before the method has run on the
model, the average of its family's runs on that model stands in, then a timing of the bare model (one batch of 8,
under the model's lock, once per model) times the family's overhead factor. A model's identity is its name and its
weights file with its modification time, so two models of one name in different folders never share an estimate.

The first run of a method in a server process also pays one-off start-up work (importing its library, compiling
its numba kernels: about 11 s for SHAP's Partition explainer on the project's 2-core machine, where a 100-call
run then takes 3 s). That run is kept only until the method's next run replaces it, and an estimate based on it
says so.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

#: Weight of the newest run in the moving average (0.5: the last run counts half, the one before a quarter...).
RECENT_WEIGHT = 0.5
#: Seconds per call assumed while a model is too busy to be timed (a MobileNetV2 call on a 2-core CPU).
BUSY_GUESS = 0.05
#: Runs kept per model and method for the fixed + per-call line.
KEPT_RUNS = 8
#: Seconds per call of a method relative to a bare batched forward pass, until the method has run once.
FAMILY_OVERHEAD = {"cam": 3.0, "gradient": 3.0, "perturbation": 1.2}


@dataclass(frozen=True)
class Estimate:
    """A cost estimate: ``seconds`` for ``calls`` model calls, and where the per-call figure came from."""

    calls: int
    seconds: float
    per_call: float
    basis: str


def model_identity(model: Any) -> tuple[Any, ...]:
    """``(name, weights path, modification time)``, or ``(name, id)`` for a model built in memory."""
    weights = getattr(model, "weights_path", None)
    if weights is not None:
        try:
            return model.name, str(weights), weights.stat().st_mtime
        except OSError:
            pass
    return model.name, id(model)


class CostBook:
    """Recent costs per model and method; thread-safe, shared by every session of a server.

    Per key (model identity + method, and model identity + family) it keeps the moving average of seconds per
    call and the last :data:`KEPT_RUNS` runs' ``(calls, seconds)``. Once those runs span two sizes or more, the
    estimate is the line ``seconds = fixed + per_call x calls`` fitted through them (LIME and SHAP pay a fixed
    part, segmentation and fitting, that a pure per-call figure would multiply); otherwise calls x the average.
    """

    def __init__(self, recent_weight: float = RECENT_WEIGHT) -> None:
        self.recent_weight = recent_weight
        self._per_call: dict[tuple[Any, ...], tuple[float, int]] = {}  # key -> (average, runs)
        self._runs: dict[tuple[Any, ...], list[tuple[int, float]]] = {}  # key -> recent (calls, seconds)
        self._bare: dict[tuple[Any, ...], float] = {}
        self._started: set[str] = set()  # methods that have run at least once in this process
        self._warm_up: set[tuple[Any, ...]] = set()  # keys whose only run so far was a first run in the process
        self._lock = threading.Lock()

    def record(self, model: Any, method: str, family: str, seconds: float, calls: int) -> None:
        """Fold one finished run (its wall seconds and model calls) into the averages."""
        if calls <= 0 or seconds <= 0:
            return
        per_call = seconds / calls
        identity = model_identity(model)
        with self._lock:
            first_in_process = method not in self._started
            self._started.add(method)
            for key in ((*identity, "method", method), (*identity, "family", family)):
                old, runs = self._per_call.get(key, (per_call, 0))
                if runs == 0 or key in self._warm_up:  # nothing yet, or only a start-up run: replace it
                    new, runs = per_call, 0
                    self._runs[key] = []
                else:
                    new = self.recent_weight * per_call + (1 - self.recent_weight) * old
                self._per_call[key] = (new, runs + 1)
                self._runs[key] = [*self._runs.get(key, []), (calls, seconds)][-KEPT_RUNS:]
                if first_in_process and runs == 0:
                    self._warm_up.add(key)
                else:
                    self._warm_up.discard(key)

    def estimate(self, model: Any, method: str, family: str, calls: int) -> Estimate:
        """Seconds that ``calls`` model calls of ``method`` (of ``family``) on ``model`` should take now."""
        identity = model_identity(model)
        mine_key, kin_key = (*identity, "method", method), (*identity, "family", family)
        with self._lock:
            mine, kin = self._per_call.get(mine_key), self._per_call.get(kin_key)
            runs = list(self._runs.get(mine_key, []))
            warm_up = mine_key in self._warm_up if mine is not None else kin_key in self._warm_up
        caveat = " (its first run here, which included start-up work: probably too high)" if warm_up else ""
        if mine is not None:
            line = _fit_line(runs)
            count = f"{min(mine[1], 9)}{'+' if mine[1] > 9 else ''}"
            if line is not None:
                fixed, per_call = line
                return Estimate(calls, fixed + calls * per_call, per_call,
                                f"fitted to its last {len(runs)} runs here ({fixed:.1f} s fixed)")
            per_call, basis = mine[0], f"from its last {count} run(s) here{caveat}"
        elif kin is not None:
            per_call, basis = kin[0], f"from recent {family} runs here{caveat}"
        else:
            bare = self.bare_seconds(model)
            if bare is None:
                per_call, basis = BUSY_GUESS, "a rough guess: the model is busy with another session, so not timed yet"
            else:
                per_call = bare * FAMILY_OVERHEAD.get(family, 1.0)
                basis = "from a timing of the model (no run of this method yet)"
        return Estimate(calls, calls * per_call, per_call, basis)

    def bare_seconds(self, model: Any, batch: int = 8) -> float | None:
        """Seconds per image of a bare batched forward pass (measured once per model, under its lock), or None
        while another session holds the lock (a page never waits for a long explanation just to show a cost)."""
        identity = model_identity(model)
        with self._lock:
            if identity in self._bare:
                return self._bare[identity]
        from xaiscope.preprocessing.codec import input_shape

        images = torch.zeros(batch, *input_shape(model.card.preprocessing))  # any input kind, not only pictures
        if not model.lock.acquire(blocking=False):
            return None
        try:
            with torch.inference_mode():
                model.class_view(images[:1])
                started = time.perf_counter()
                model.class_view(images)
                seconds = (time.perf_counter() - started) / batch
        finally:
            model.lock.release()
        with self._lock:
            self._bare.setdefault(identity, seconds)
            return self._bare[identity]


def _fit_line(runs: list[tuple[int, float]]) -> tuple[float, float] | None:
    """Least-squares ``seconds = fixed + per_call x calls`` through ``runs``, or None when the runs span one size
    only or the fit is not physical (a negative part)."""
    if len({calls for calls, _ in runs}) < 2:
        return None
    calls = np.array([c for c, _ in runs], dtype=float)
    seconds = np.array([s for _, s in runs], dtype=float)
    per_call, fixed = np.polyfit(calls, seconds, 1)
    if per_call <= 0 or fixed < 0:
        return None
    return float(fixed), float(per_call)


#: The server's book, shared by every session.
COSTS = CostBook()
