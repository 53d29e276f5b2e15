"""``xaiscope train``: data set in, a checkpoint and its card out, on one process or many.

A run folder (``output``, default ``runs/<name>``) holds:

* ``<name>.safetensors`` + ``<name>.json``: the best epoch's weights (by ``monitor`` on the validation split) and
  their card (label order, preprocessing spec, data and split sizes, hyper-parameters, validation and test
  metrics), each written atomically;
* ``last.pt``: the resumable training state after the last finished epoch (see :mod:`.checkpointing`);
* ``metrics.jsonl``: one JSON object per finished epoch;
* ``config.toml``: the resolved configuration;
* ``<name>.testing.metrics.json`` and ``<name>.testing.roc.png``: the best epoch on the testing split;
* ``samples/epoch_NNN.json`` (with ``record_samples``): the record indices each process trained on.

Only rank 0 writes or prints. Every rank takes the same decisions (best epoch, early stop) from the same
gathered validation predictions.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from xaiscope.data import DataOptions, LabelledSplit, ModelInputDataset, TensorCache, check_same_classes, open_split
from xaiscope.data.torch_dataset import collate
from xaiscope.errors import DataNotFoundError, ResumeError
from xaiscope.models.architectures import (
    architecture_info,
    architecture_options,
    build_network,
    cam_target_layer_for,
    canonical_architecture,
)
from xaiscope.models.card import ModelCard
from xaiscope.models.model import Model
from xaiscope.models.store import save_checkpoint
from xaiscope.preprocessing.spec import spec_input_kind
from xaiscope.training import checkpointing
from xaiscope.training.config import RESUMABLE_CHANGES, TrainConfig, build_spec
from xaiscope.training.distributed import (
    DistContext,
    ShardSampler,
    barrier,
    broadcast_object,
    gather_objects,
    setup,
    teardown,
)
from xaiscope.training.loop import Precision, Predictions, loss_function, predict, train_epoch
from xaiscope.training.metrics import classification_metrics, improved, monitor_value
from xaiscope.training.network import (
    apply_freeze,
    head_path,
    load_initial_weights,
    set_train_mode,
    starting_card,
)
from xaiscope.training.progress import console, progress_bar

EpochCallback = Callable[[int, dict[str, Any]], None]

WINDOW_RULE = ("training: one window per clip per epoch, drawn uniformly (seeded by seed, epoch, index) among the "
               "windows inference scans; evaluation: every window, combined by the card's aggregation")


@dataclass
class TrainResult:
    """What a finished (or early-stopped) run produced."""

    output: Path
    checkpoint: Path
    card: ModelCard
    history: list[dict[str, Any]]
    best_epoch: int
    stopped_early: bool
    test_metrics: dict[str, Any] | None = None
    unreadable: list[str] = field(default_factory=list)


@dataclass
class _Splits:
    training: LabelledSplit
    validation: LabelledSplit
    testing: LabelledSplit | None


def _open_splits(config: TrainConfig) -> _Splits:
    options: DataOptions = config.data_options()
    training = open_split(config.data, "training", options)
    validation = open_split(config.data, "validation", options)
    check_same_classes(training, validation)
    testing = None
    if config.eval_test:
        try:
            testing = open_split(config.data, "testing", options, require_samples=False)
            check_same_classes(training, testing)
        except DataNotFoundError:
            testing = None
        if testing is not None and not testing.records:
            testing = None
    return _Splits(training, validation, testing)


def _loader(dataset: ModelInputDataset, sampler: ShardSampler, config: TrainConfig, context: DistContext) -> DataLoader:
    return DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, num_workers=config.num_workers,
                      collate_fn=collate, pin_memory=context.device.type == "cuda",
                      persistent_workers=False)


def _class_weights(split: LabelledSplit) -> torch.Tensor:
    counts = np.asarray(list(split.class_counts().values()), dtype=np.float64)
    weights = counts.sum() / (len(counts) * np.maximum(counts, 1.0))
    return torch.tensor(weights, dtype=torch.float32)


def _signature(config: TrainConfig) -> dict[str, Any]:
    values = config.to_dict()
    ignored = set(RESUMABLE_CHANGES)
    if config.scheduler == "cosine":
        ignored.discard("epochs")
    return {key: value for key, value in values.items() if key not in ignored}


def _cpu_state(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().cpu().clone() for key, value in network.state_dict().items()}


class Trainer:
    """One training run (see the module docstring); :func:`train` is the entry point."""

    def __init__(self, config: TrainConfig, context: DistContext, on_epoch_end: EpochCallback | None = None) -> None:
        self.config = config
        self.context = context
        self.on_epoch_end = on_epoch_end
        self.started = time.perf_counter()
        self.splits = _open_splits(config)
        training = self.splits.training
        self.classes = training.classes
        self.modality = training.modality
        self.architecture = canonical_architecture(config.arch)
        self.name = config.name or f"{self.modality}_{self.architecture}_{training.kind}"
        self.output = Path(config.output or Path("runs") / self.name).expanduser()
        base_card = starting_card(config.init)
        self.spec = build_spec(config, self.modality, base_card.preprocessing if base_card else None)
        self.num_outputs = 1 if len(self.classes) == 2 else len(self.classes)
        self.network_options = architecture_options(self.architecture, config.network_options())
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)
        network = build_network(self.architecture, self.num_outputs, self.network_options)
        self.head = head_path(self.architecture, network, self.num_outputs)
        self.start_report = load_initial_weights(network, config.init, architecture=self.architecture,
                                                 head=self.head, classes=self.classes)
        self.cam_layer = cam_target_layer_for(self.architecture, network)
        self.trainable = apply_freeze(network, config.freeze, self.head)
        self.precision = Precision.choose(context.device, config.amp, config.channels_last)
        network.to(context.device)
        if self.precision.channels_last:
            network.to(memory_format=torch.channels_last)
        self.network = network
        self.model: torch.nn.Module = network
        if context.distributed:
            device_ids = [context.device.index] if context.device.type == "cuda" else None
            self.model = torch.nn.parallel.DistributedDataParallel(network, device_ids=device_ids)
        if config.optimizer == "sgd":
            self.optimizer: torch.optim.Optimizer = torch.optim.SGD(
                self.trainable, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
        else:
            self.optimizer = torch.optim.AdamW(self.trainable, lr=config.lr, weight_decay=config.weight_decay)
        self.scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=config.epochs)
                          if config.scheduler == "cosine" else torch.optim.lr_scheduler.ConstantLR(
                              self.optimizer, factor=1.0, total_iters=0))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision.dtype == torch.float16)
        weights = _class_weights(training).to(context.device) if config.balance_classes else None
        self.loss_fn = loss_function(self.num_outputs, weights).to(context.device)
        cache = TensorCache(Path(config.cache_dir), self.spec) if config.cache_dir else None
        self.datasets = {
            "training": ModelInputDataset(training, self.spec, mode="train", seed=config.seed, cache=cache),
            "validation": ModelInputDataset(self.splits.validation, self.spec, mode="eval", cache=cache),
        }
        if self.splits.testing is not None:
            self.datasets["testing"] = ModelInputDataset(self.splits.testing, self.spec, mode="eval", cache=cache)
        self.epoch = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.bad_epochs = 0
        self.history: list[dict[str, Any]] = []
        self.unreadable: dict[str, str] = {}
        self.best_validation: dict[str, Any] = {}

    # --- state ------------------------------------------------------------------------------------------------

    def card(self, metrics: dict[str, Any], status: str) -> ModelCard:
        """The card of the best weights, with everything known so far in its provenance."""
        splits = {name: split.summary() for name, split in
                  (("training", self.splits.training), ("validation", self.splits.validation),
                   ("testing", self.splits.testing)) if split is not None}
        training = self.splits.training
        provenance = {
            "source": "trained with `xaiscope train`",
            "status": status,
            "data": {"kind": training.kind, "root": str(training.root), "options": self.config.data_options().to_dict(),
                     "rules": training.rules, "splits": splits, "unreadable_files": len(self.unreadable),
                     "unreadable_examples": sorted(self.unreadable.values())[:20], "window_rule": WINDOW_RULE},
            "hyperparameters": self.config.to_dict(),
            "training": {
                "start": self.start_report.to_dict(), "freeze": self.config.freeze, "epochs_run": self.epoch,
                "best_epoch": self.best_epoch, "monitor": self.config.monitor, "world_size": self.context.world_size,
                "backend": self.context.backend, "device": str(self.context.device), "precision": self.precision.name,
                "seconds": round(time.perf_counter() - self.started, 1),
                "samples_per_second": self.history[-1]["samples_per_second"] if self.history else None,
                "torch": torch.__version__, "python": platform.python_version(), "xaiscope": _version(),
            },
            "metrics": metrics,
        }
        return ModelCard(
            name=self.name, modality=self.modality, architecture=self.architecture, classes=self.classes,
            num_outputs=self.num_outputs, preprocessing=self.spec, alert_class=training.alert_class,
            cam_target_layer=self.cam_layer, input_kind=spec_input_kind(self.spec),
            source=architecture_info(self.architecture).source,
            source_options={"network": self.network_options} if self.network_options else {},
            description=f"{self.architecture} trained by xaiscope on {training.kind} data ({training.root.name}), "
                        f"classes {', '.join(self.classes)} in output order.",
            provenance=provenance)

    def _state(self) -> dict[str, Any]:
        return {
            "network": _cpu_state(self.network), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(), "epoch": self.epoch,
            "best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs,
            "history": self.history, "config": self.config.to_dict(), "rng": checkpointing.rng_state(),
            "unreadable": self.unreadable, "best_validation": self.best_validation,
            # The best weights travel in the state (unless they are this epoch's), so resuming needs no other file.
            "best_network": None if self.best_epoch == self.epoch else self.best_state,
        }

    def resume(self) -> bool:
        """Load ``last.pt`` (read by rank 0, sent to the others) when resuming; returns whether it did."""
        path = self.output / checkpointing.STATE_FILE
        state = None
        if self.context.is_main and self.config.resume and path.is_file():
            state = checkpointing.load_state(path)
        state = broadcast_object(state, self.context)
        if state is None:
            return False
        saved = {key: value for key, value in state["config"].items()}
        differing = sorted(key for key, value in _signature(self.config).items() if saved.get(key) != value)
        if differing:
            raise ResumeError(f"'{path}' was written with other settings ({', '.join(differing)} differ), so the "
                              "run cannot continue from it.",
                              "Restore those settings, give a new --output, or pass --no-resume to start over.")
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.best, self.best_epoch = state["epoch"], state["best"], state["best_epoch"]
        self.bad_epochs, self.history = state["bad_epochs"], list(state["history"])
        self.unreadable = dict(state.get("unreadable", {}))
        self.best_validation = dict(state.get("best_validation", {}))
        checkpointing.restore_rng_state(state["rng"])
        if self.best_epoch:
            self.best_state = state["best_network"] if state.get("best_network") is not None else state["network"]
        return True

    # --- epochs -----------------------------------------------------------------------------------------------

    def _evaluate(self, split: str, progress: Any) -> tuple[Predictions, dict[str, Any]]:
        dataset = self.datasets[split]
        sampler = ShardSampler(len(dataset), self.context.rank, self.context.world_size, shuffle=False)
        task = progress.add_task(f"{split}", total=len(sampler))
        part = predict(self.network, _loader(dataset, sampler, self.config, self.context), self.card_stub,
                       self.precision, progress=progress, task=task)
        merged = Predictions.merge(gather_objects(part, self.context))
        for index, message in merged.failures:
            self.unreadable.setdefault(f"{split}:{index}", message)
        metrics = classification_metrics(merged.labels, merged.probabilities, self.classes,
                                         self.splits.training.alert_class, with_eer=self.modality == "audio")
        metrics["loss"] = merged.loss()
        metrics["unreadable"] = len(merged.failures)
        return merged, metrics

    @property
    def card_stub(self) -> ModelCard:
        return ModelCard(name=self.name, modality=self.modality, architecture=self.architecture, classes=self.classes,
                         num_outputs=self.num_outputs, preprocessing=self.spec, input_kind=spec_input_kind(self.spec),
                         alert_class=self.splits.training.alert_class)

    def run_epoch(self, progress: Any) -> dict[str, Any]:
        """Train one epoch, validate, keep the best weights, save the state; returns the log entry."""
        config, context = self.config, self.context
        epoch = self.epoch + 1
        dataset = self.datasets["training"]
        dataset.set_epoch(epoch)
        sampler = ShardSampler(len(dataset), context.rank, context.world_size, shuffle=True, seed=config.seed)
        sampler.set_epoch(epoch)
        set_train_mode(self.network, config.freeze, self.head)
        task = progress.add_task(f"epoch {epoch}/{config.epochs}", total=len(sampler))
        if context.distributed:
            from torch.distributed.algorithms.join import Join

            joinable: Any = self.model  # DistributedDataParallel, which is Joinable
            join: Any = Join([joinable])
        else:
            join = nullcontext()
        stats = train_epoch(self.model, _loader(dataset, sampler, config, context), self.optimizer, self.loss_fn,
                            self.precision, self.scaler, join=join, progress=progress, task=task)
        gathered = gather_objects((stats.loss_sum, stats.samples, stats.indices, stats.failures, stats.seconds),
                                  context)
        loss_sum = sum(part[0] for part in gathered)
        samples = sum(part[1] for part in gathered)
        seen = [index for part in gathered for index in part[2]]
        failures = [failure for part in gathered for failure in part[3]]
        seconds = max(part[4] for part in gathered)
        for index, message in failures:
            self.unreadable.setdefault(f"training:{index}", message)
        lr = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step()
        _, validation = self._evaluate("validation", progress)
        value = monitor_value(validation, config.monitor)
        is_best = improved(config.monitor, value, self.best, config.min_delta)
        self.epoch = epoch
        if is_best:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
            self.best_state = _cpu_state(self.network)
            self.best_validation = validation
        else:
            self.bad_epochs += 1
        entry = {
            "epoch": epoch, "lr": lr, "train_loss": loss_sum / max(samples, 1), "train_samples": samples,
            "train_unique": len(set(seen)), "train_duplicates": len(seen) - len(set(seen)),
            "train_unreadable": len(failures), "samples_per_second": round(samples / max(seconds, 1e-9), 2),
            "seconds": round(seconds, 2), "world_size": context.world_size,
            "validation": {key: validation[key] for key in
                           ("loss", "accuracy", "roc_auc", "f1_macro", "eer", "eer_threshold", "samples",
                            "confusion_matrix") if key in validation},
            "monitor": config.monitor, "best": is_best, "best_epoch": self.best_epoch,
        }
        self.history.append(entry)
        if context.is_main:
            self.output.mkdir(parents=True, exist_ok=True)
            if is_best:
                self._save_best({"validation": validation}, f"training in progress (best of {epoch} epochs)")
            checkpointing.save_state(self.output, self._state())
            checkpointing.write_metrics_log(self.output, self.history)
            if config.record_samples:
                (self.output / "samples").mkdir(exist_ok=True)
                checkpointing.write_json(self.output / "samples" / f"epoch_{epoch:03d}.json",
                                         {"epoch": epoch, "ranks": [part[2] for part in gathered],
                                          "dataset_size": len(dataset)})
            _print_epoch(entry)
        barrier(context)
        return entry

    def _save_best(self, metrics: dict[str, Any], status: str) -> Path:
        network = build_network(self.architecture, self.num_outputs, self.network_options)
        assert self.best_state is not None
        network.load_state_dict(self.best_state)
        return save_checkpoint(Model(self.card(metrics, status), network), self.output)

    def fit(self) -> TrainResult:
        config, context = self.config, self.context
        resumed = self.resume()
        if context.is_main:
            self.output.mkdir(parents=True, exist_ok=True)
            (self.output / "config.toml").write_text(config.to_toml(), encoding="utf-8")
            _print_start(self, resumed)
        stopped_early = False
        with progress_bar(config.progress and context.is_main) as progress:
            while self.epoch < config.epochs:
                if config.patience and self.bad_epochs >= config.patience:
                    stopped_early = True
                    break
                entry = self.run_epoch(progress)
                if self.on_epoch_end is not None:
                    self.on_epoch_end(self.epoch, entry)
            if config.patience and self.bad_epochs >= config.patience and self.epoch < config.epochs:
                stopped_early = True
            if self.best_state is None:
                self.best_state, self.best_epoch = _cpu_state(self.network), self.epoch
            self.network.load_state_dict(self.best_state)
            metrics: dict[str, Any] = {"validation": self.best_validation}
            test_metrics = None
            if "testing" in self.datasets:
                predictions, test_metrics = self._evaluate("testing", progress)
                metrics["testing"] = test_metrics
        status = f"finished: best epoch {self.best_epoch} of {self.epoch}" + (" (stopped early)" if stopped_early
                                                                                else "")
        card = self.card(metrics, status)
        checkpoint = self.output / f"{self.name}.safetensors"
        if context.is_main:
            checkpoint = self._save_best(metrics, status)
            if config.calibrate:
                card = _calibrate(checkpoint, config, card)
            if test_metrics is not None:
                from xaiscope.training.evaluate import write_report

                write_report(test_metrics, predictions, card, self.output, "testing")
            _print_end(self, test_metrics, checkpoint, stopped_early)
        barrier(context)
        return TrainResult(output=self.output, checkpoint=checkpoint, card=card, history=self.history,
                           best_epoch=self.best_epoch, stopped_early=stopped_early, test_metrics=test_metrics,
                           unreadable=sorted(self.unreadable.values()))


def train(config: TrainConfig, *, on_epoch_end: EpochCallback | None = None) -> TrainResult:
    """Run (or resume) a training run in this process; under torchrun, one rank of a data-parallel run.

    Args:
        config: the resolved configuration.
        on_epoch_end: called as ``on_epoch_end(epoch, log_entry)`` after each finished and saved epoch (a test
            may raise ``KeyboardInterrupt`` there to simulate Ctrl-C).

    Raises:
        XaiscopeError subclasses for every problem a user can cause; ``KeyboardInterrupt`` after saying which
        epochs are saved.
    """
    context = setup(config.device)
    trainer: Trainer | None = None
    try:
        trainer = Trainer(config, context, on_epoch_end)
        return trainer.fit()
    except KeyboardInterrupt:
        if context.is_main and trainer is not None:
            console.print(f"[yellow]Interrupted.[/yellow] {trainer.epoch} finished epoch(s) are saved in "
                          f"{trainer.output / checkpointing.STATE_FILE}; run the same command again to resume.")
        raise
    finally:
        teardown()


def _calibrate(checkpoint: Path, config: TrainConfig, card: ModelCard) -> ModelCard:
    """Fit the temperature and familiarity reference of the saved best weights (rank 0, on the CPU); the card
    beside the checkpoint is rewritten with them. A failure is reported and leaves the checkpoint uncalibrated."""
    from xaiscope.errors import XaiscopeError
    from xaiscope.models.store import load_model
    from xaiscope.trust.fit import calibrate

    console.print("  calibration: temperature and familiarity reference on the validation split")
    try:
        result = calibrate(load_model(str(checkpoint)), config.data, seed=config.seed,
                           log=lambda line: console.print(f"  {line}"))
    except XaiscopeError as error:
        console.print(f"  [yellow]calibration skipped:[/yellow] {error.problem} {error.hint}")
        return card
    calibration, familiarity = result.calibration, result.familiarity
    ece = calibration["validation"]["ece"]
    console.print(f"  temperature {calibration['temperature']:.3g}: validation ECE {ece['before']:.4f} -> "
                  f"{ece['after']:.4f}; familiarity by {familiarity['method']}, thresholds "
                  f"{familiarity['thresholds'][familiarity['method']]}")
    return card.with_updates(calibration=calibration, familiarity=familiarity, input_range=result.input_range)


def _version() -> str:
    from xaiscope import __version__

    return __version__


def _print_start(trainer: Trainer, resumed: bool) -> None:
    splits = trainer.splits
    sizes = ", ".join(f"{split.split} {len(split)}" for split in (splits.training, splits.validation, splits.testing)
                      if split is not None)
    console.print(f"[bold]{trainer.name}[/bold]: {trainer.architecture} on {splits.training.kind} "
                  f"({splits.training.root}); classes {list(trainer.classes)}; {sizes}")
    skipped = {**splits.training.report.counts}
    for split in (splits.validation, splits.testing):
        if split is not None:
            for key, value in split.report.counts.items():
                skipped[key] = skipped.get(key, 0) + value
    if skipped:
        console.print("  skipped while indexing: " + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())))
    console.print(f"  {trainer.context.world_size} process(es), {trainer.context.device}, "
                  f"precision {trainer.precision.name}, freeze {trainer.config.freeze}, start "
                  f"{trainer.start_report.source} (head {trainer.start_report.head}); output {trainer.output}")
    if resumed:
        console.print(f"  resumed after epoch {trainer.epoch} (best so far: epoch {trainer.best_epoch})")


def _print_epoch(entry: dict[str, Any]) -> None:
    validation = entry["validation"]
    parts = [f"epoch {entry['epoch']}", f"train loss {entry['train_loss']:.4f}",
             f"{entry['samples_per_second']:.1f} samples/s", f"val loss {validation['loss']:.4f}",
             f"val acc {validation['accuracy']:.3f}"]
    if validation.get("roc_auc") is not None:
        parts.append(f"val AUC {validation['roc_auc']:.3f}")
    if validation.get("eer") is not None:
        parts.append(f"val EER {validation['eer']:.3f}")
    if entry["train_unreadable"]:
        parts.append(f"{entry['train_unreadable']} unreadable")
    console.print("  " + ", ".join(parts) + (" [green]best[/green]" if entry["best"] else ""))


def _print_end(trainer: Trainer, test: dict[str, Any] | None, checkpoint: Path, stopped_early: bool) -> None:
    console.print(f"[bold]Done[/bold]{' (stopped early)' if stopped_early else ''}: best epoch "
                  f"{trainer.best_epoch} of {trainer.epoch}; wrote {checkpoint} and its card.")
    if test is not None:
        from xaiscope.training.metrics import format_confusion

        auc = "n/a" if test.get("roc_auc") is None else f"{test['roc_auc']:.3f}"
        eer = f", EER {test['eer']:.3f}" if test.get("eer") is not None else ""
        console.print(f"  testing: accuracy {test['accuracy']:.3f}, ROC-AUC {auc}{eer} ({test['samples']} samples)")
        console.print(format_confusion(test))
    if trainer.unreadable:
        console.print(f"  [yellow]{len(trainer.unreadable)} unreadable file(s)[/yellow] were skipped, e.g. "
                      f"{sorted(trainer.unreadable.values())[0]}")
