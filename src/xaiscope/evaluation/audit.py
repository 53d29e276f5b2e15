"""Audit a model's explanations over a whole data set: streamed, resumable, sharded across processes.

::

    inputs = folder_inputs(Path("cases/"))                       # or split_inputs("/data/for-norm", "testing")
    store = AuditStore(Path("audit/"))
    run_audit(model, inputs, ["gradcam", "random"], ["deletion", "insertion"], store)   # per-input records
    aggregate = merge_audit(store)                                 # one pass over the records, in input order

**Streaming.** Inputs are listed (paths only), then loaded, explained and scored one at a time through
:func:`~xaiscope.evaluation.evaluate`; each input's scores, curves and not-applicable reasons go to its own record
``records/<index>.json``, written atomically (a temporary file, flushed and fsynced, then renamed), and are dropped
from memory. Peak memory is one input's work, whatever the number of inputs; the merge reads the records back one
at a time and keeps only running sums and one float per input and score column (needed for the paired tests).

**Resume.** ``settings.json`` in the folder fingerprints what the scores depend on: the model (card and a hash of
its weights), methods and metrics with their resolved parameters, seed, target, the data source and the list of
inputs. A rerun with the same settings skips every input that has a record (a crash or Ctrl-C loses at most the
input in progress); a rerun with other settings is refused, naming what changed (``restart=True`` starts over).

**Sharding.** Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set), each process takes every ``world_size``-th input
still to do, in input order (the training's process-group set-up: gloo on the CPU, NCCL on GPUs, the same
rendezvous flags). Records do not depend on which process wrote them, so the merged scores equal a one-process
run's. Rank 0 merges and writes the report after a barrier. The output folder must be one every process can read
(a shared file system on several machines).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xaiscope.errors import EvaluationError, XaiscopeError
from xaiscope.evaluation.ground_truth import GroundTruth, load_ground_truth, mask_paths
from xaiscope.evaluation.registry import get_metric
from xaiscope.evaluation.results import EvaluationResult
from xaiscope.evaluation.runner import evaluate
from xaiscope.explainers.registry import get_method
from xaiscope.models.model import Model

#: Extensions of the inputs a data folder is searched for.
INPUT_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".png", ".jpg", ".jpeg", ".dcm", ".dicom")

#: ``progress(inputs_done, inputs_to_do, model_calls)`` after each input of this process.
AuditProgress = Callable[[int, int, int], None]


@dataclass(frozen=True)
class AuditInput:
    """One input of an audit (a path: nothing is decoded until its turn).

    Attributes:
        index: position in the audit's input list (names its record).
        path: the file.
        key: its path relative to the data folder (its name in tables and its ground-truth key).
        label: its class when the data set says so (a FoR or CheXpert split, a folder per class), else None.
    """

    index: int
    path: Path
    key: str
    label: str | None = None


@dataclass(frozen=True)
class AuditSource:
    """The inputs of an audit and where they come from (stored in the settings)."""

    inputs: list[AuditInput]
    description: dict[str, Any]
    ground_truth: Mapping[str, GroundTruth]


def folder_inputs(folder: Path, limit: int | None = None, modality: str | None = None) -> AuditSource:
    """Every input file under ``folder`` (recursive, sorted), less masks named in its ``ground_truth.json``.

    Args:
        limit: keep the first ``limit`` files.
        modality: keep only files of this modality (by extension: recordings for ``audio``, pictures for ``xray``).
    """
    from xaiscope.data.records import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS

    if not folder.is_dir():
        raise EvaluationError(f"The data folder {folder} does not exist.", "Give a folder of recordings or X-rays.")
    masks = mask_paths(folder)
    suffixes = {"audio": AUDIO_EXTENSIONS, "xray": IMAGE_EXTENSIONS}.get(modality or "", INPUT_SUFFIXES)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                   and p.resolve() not in masks)
    files = files[:limit] if limit else files
    inputs = [AuditInput(index, path, path.relative_to(folder).as_posix()) for index, path in enumerate(files)]
    return AuditSource(inputs, {"kind": "folder", "path": str(folder.resolve())}, load_ground_truth(folder))


def split_inputs(root: Path, split: str, options: Any = None, limit: int | None = None) -> AuditSource:
    """The records of one split of a FoR, CheXpert or folder-per-class data set (:func:`xaiscope.data.open_split`),
    with their labels; ground truth from ``ground_truth.json`` in the data set folder, keyed by relative path."""
    from xaiscope.data import open_split

    labelled = open_split(root, split, options)
    records = labelled.records[:limit] if limit else labelled.records
    inputs = []
    for index, record in enumerate(records):
        try:
            key = record.path.relative_to(labelled.root).as_posix()
        except ValueError:
            key = record.path.as_posix()
        inputs.append(AuditInput(index, record.path, key, labelled.classes[record.label]))
    truths = load_ground_truth(labelled.root) if (labelled.root / "ground_truth.json").is_file() else {}
    return AuditSource(inputs, {"kind": labelled.kind, "path": str(labelled.root.resolve()), "split": labelled.split,
                                "classes": list(labelled.classes), "rules": labelled.rules}, truths)


def weights_hash(model: Model) -> str:
    """sha256 of the network's parameters and buffers (names, shapes and bytes), so changed weights are noticed."""
    digest = hashlib.sha256()
    for name, tensor in model.network.state_dict().items():
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def audit_settings(model: Model, source: AuditSource, methods: Mapping[str, Mapping[str, Any]],
                   metrics: Mapping[str, Mapping[str, Any]], *, seed: int, target: int | str | None) -> dict[str, Any]:
    """What every score of an audit depends on (JSON-ready): the fingerprint a resumed run must match.

    Methods and metrics are stored with every parameter resolved (defaults included).
    """
    resolved_methods = {get_method(name).name: get_method(name).resolve_params(dict(params))
                        for name, params in methods.items()}
    resolved_metrics = {get_metric(name).name: get_metric(name).resolve_params(dict(params))
                        for name, params in metrics.items()}
    listing = hashlib.sha256("\n".join(f"{item.key}\t{item.label}" for item in source.inputs).encode()).hexdigest()
    truths = hashlib.sha256(json.dumps(sorted(source.ground_truth), ensure_ascii=False).encode()).hexdigest()
    return json.loads(json.dumps({
        "model": {"name": model.name, "card": model.card.to_dict(), "weights_sha256": weights_hash(model)},
        "methods": resolved_methods, "metrics": resolved_metrics, "seed": seed,
        "precision": {"model": model.precision_policy.record(),
                      "methods": {name: model.precision if get_method(name).reduced_precision_ok else "fp32"
                                  for name in resolved_methods}},
        "target": None if target is None else str(target), "data": source.description,
        "inputs": {"count": len(source.inputs), "sha256": listing}, "ground_truth_sha256": truths,
    }, default=str))


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            found += _differences(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
        return found
    if old == new:
        return []
    return [f"{prefix}: {json.dumps(old, default=str)[:60]} -> {json.dumps(new, default=str)[:60]}"]


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        descriptor = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class AuditStore:
    """An audit's folder: ``settings.json`` and one ``records/<index>.json`` per scored input.

    Args:
        folder: the output folder (created).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.records = self.folder / "records"

    @property
    def settings_path(self) -> Path:
        return self.folder / "settings.json"

    def settings(self) -> dict[str, Any] | None:
        """The stored settings, or None for a new folder."""
        if not self.settings_path.is_file():
            return None
        loaded: dict[str, Any] = json.loads(self.settings_path.read_text(encoding="utf-8"))
        return loaded

    def open(self, settings: dict[str, Any], *, restart: bool = False) -> None:
        """Start a new audit, or continue the one in the folder if its settings are the same.

        Raises:
            EvaluationError: the folder holds an audit with other settings (and ``restart`` is False).
        """
        stored = self.settings()
        if stored is not None and stored != settings and not restart:
            changed = _differences(stored, settings)
            listed = "; ".join(changed[:6]) + (f"; and {len(changed) - 6} more" if len(changed) > 6 else "")
            raise EvaluationError(
                f"{self.folder} holds an audit with other settings ({listed}); resuming it would mix scores.",
                "Rerun with the same arguments to resume it, choose another --out, or add --restart to "
                "discard its scores and start over.")
        if restart:
            shutil.rmtree(self.records, ignore_errors=True)
        self.records.mkdir(parents=True, exist_ok=True)
        for leftover in self.records.glob(".*.tmp"):  # an input interrupted while being written
            leftover.unlink(missing_ok=True)
        if stored != settings:
            _atomic_write(self.settings_path, json.dumps(settings, indent=2, ensure_ascii=False))

    def path(self, index: int) -> Path:
        return self.records / f"{index:07d}.json"

    def done(self) -> set[int]:
        """Indices of the inputs that have a record."""
        if not self.records.is_dir():
            return set()
        return {int(path.stem) for path in self.records.glob("*.json") if path.stem.isdigit()}

    def write(self, index: int, record: dict[str, Any]) -> None:
        """Store one input's record atomically (all of it or nothing)."""
        _atomic_write(self.path(index), json.dumps(record, ensure_ascii=False, allow_nan=True))

    def read(self, index: int) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.path(index).read_text(encoding="utf-8"))
        return loaded

    def iter_records(self, count: int) -> Iterator[dict[str, Any]]:
        """The records of inputs ``0 .. count - 1``, in input order, one at a time.

        Raises:
            EvaluationError: a record is missing (an unfinished run, or a folder not shared by every machine).
        """
        missing = [index for index in range(count) if not self.path(index).is_file()]
        if missing:
            raise EvaluationError(
                f"{len(missing)} of {count} inputs have no record in {self.records} (first: #{missing[0]}).",
                "Rerun the same command to finish them; on several machines, --out must be a folder all of them "
                "share.")
        for index in range(count):
            yield self.read(index)


def result_to_record(item: AuditInput, result: EvaluationResult, seconds: float) -> dict[str, Any]:
    """One input's :class:`~xaiscope.evaluation.results.EvaluationResult` as a JSON-ready record."""
    return {
        "index": item.index, "input": item.key, "label": item.label, "seconds": seconds,
        "model_calls": result.model_calls, "expected_model_calls": result.expected_model_calls,
        "explanations": [{key: value for key, value in entry.items() if key != "sample"}
                         for entry in result.explanations],
        "scores": [[s.method, s.metric, s.output, s.value, s.seconds, s.model_calls] for s in result.scores],
        "curves": [[c.method, c.metric, c.x.tolist(), c.y.tolist()] for c in result.curves],
        "not_applicable": [[e["method"], e["metric"], e["reason"]] for e in result.not_applicable],
        "skipped": [[e["method"], e["metric"], e["reason"]] for e in result.skipped],
        "details": [{key: value for key, value in entry.items() if key != "sample"} for entry in result.details],
        "error": None,
    }


@dataclass
class AuditRun:
    """What one process did: inputs scored now, found done already, failed to load; model calls; seconds."""

    scored: int = 0
    already_done: int = 0
    failed: int = 0
    model_calls: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def run_audit(model: Model, source: AuditSource, methods: Mapping[str, Mapping[str, Any]],
              metrics: Mapping[str, Mapping[str, Any]], store: AuditStore, *, seed: int = 0,
              target: int | str | None = None, rank: int = 0, world_size: int = 1,
              progress: AuditProgress | None = None, stop_after: int | None = None,
              done: set[int] | None = None) -> AuditRun:
    """Score this process's share of the inputs still without a record, one input at a time.

    The store must be opened (:meth:`AuditStore.open`) with this audit's settings first.

    Args:
        rank, world_size: this process's place; it takes every ``world_size``-th input still to do.
        progress: ``progress(done, to_do, model_calls)`` after each input.
        stop_after: stop (as if interrupted) after scoring this many inputs (tests of resuming).
        done: the inputs already scored, as rank 0 saw them before any process started (so that every process
            deals the same list of inputs still to do); default: read from the store.

    Returns:
        What was done. An input that cannot be loaded gets a record with its ``error`` (counted, not fatal).
    """
    started = time.perf_counter()
    done = store.done() if done is None else done
    pending = [item for item in source.inputs if item.index not in done]
    mine = pending[rank::world_size]
    run = AuditRun(already_done=len(done))
    from xaiscope.inputs import load_input

    for position, item in enumerate(mine):
        if stop_after is not None and run.scored >= stop_after:
            raise KeyboardInterrupt
        begun = time.perf_counter()
        try:
            sample = load_input(item.path, name=item.key, modality=model.card.modality)
        except XaiscopeError as error:
            run.failed += 1
            run.failures.append(f"{item.key}: {error.problem}")
            store.write(item.index, {"index": item.index, "input": item.key, "label": item.label,
                                     "error": error.problem})
            continue
        truth = source.ground_truth.get(item.key, source.ground_truth.get(item.path.name))
        result = evaluate(model, [sample], dict(methods), dict(metrics),
                          ground_truth=None if truth is None else [truth], seed=seed, target=target)
        store.write(item.index, {**result_to_record(item, result, time.perf_counter() - begun), "rank": rank})
        run.scored += 1
        run.model_calls += result.model_calls
        del sample, result
        if progress is not None:
            progress(position + 1, len(mine), run.model_calls)
    run.seconds = time.perf_counter() - started
    return run
