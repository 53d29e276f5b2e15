"""The training configuration: one flat set of keys, read from TOML, each also a command-line flag.

Precedence: the defaults below < the TOML file < flags. In TOML, tables are only for grouping, so both of these
mean the same::

    data = "/data/for-norm"          |  [data_set]
    arch = "vgg16"                   |  data = "/data/for-norm"
                                     |  [model]
                                     |  arch = "vgg16"

Every key is a flag with dashes or underscores (``batch_size`` -> ``--batch-size`` or ``--batch_size``); booleans
also have a ``--no-`` form. An unknown key, a wrong type or a value out of range is a :class:`ConfigError` that
names the key and suggests close names. Preprocessing keys left unset come from the starting checkpoint's card
(``init``), else from the architecture's default (:func:`xaiscope.models.architectures.default_preprocessing`: the
product's :class:`~xaiscope.preprocessing.AudioSpec` / ``XraySpec`` for picture networks, a
:class:`~xaiscope.preprocessing.WaveformSpec` for waveform networks such as ``rawnet2``).

``arch_options`` sizes a waveform network (e.g. RawNet2's filters, sinc kernel and GRU); in TOML it may be an inline
table, ``arch_options = {gru_node = 128, nb_gru_layer = 1}``, on the command line a JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import sys
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from xaiscope.data.options import DataOptions
from xaiscope.errors import CardError, ConfigError
from xaiscope.preprocessing import PreprocessingSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _key(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run (see each field's help, shown by ``xaiscope train --help``)."""

    # --- data -------------------------------------------------------------------------------------------------
    data: str = _key("", "data set folder: a FoR version, CheXpert-v1.0-small, or one folder per class")
    dataset: Literal["auto", "for", "chexpert", "folders"] = _key("auto", "data set layout (auto recognises it)")
    modality: Literal["auto", "audio", "xray"] = _key("auto", "folders layout: audio or xray (auto: by extension)")
    observation: str = _key("Lung Opacity", "CheXpert observation column used as the label")
    uncertainty: Literal["ignore", "zeros", "ones"] = _key(
        "ignore", "CheXpert -1 labels: ignore (U-Ignore, drop), zeros (U-Zeros), ones (U-Ones)")
    blank: Literal["negative", "ignore"] = _key(
        "negative", "CheXpert blank labels (not mentioned in the report): negative (0) or ignore (drop the row)")
    frontal_only: bool = _key(False, "CheXpert: keep frontal views only")
    val_fraction: float = _key(0.05, "held-out validation share where the data set has no validation split")
    test_fraction: float = _key(0.1, "held-out test share for a folder-per-class set without split folders")
    split_seed: int = _key(0, "seed of the hash that assigns held-out groups")
    max_samples: int = _key(0, "at most this many samples per split, chosen reproducibly (0 = all)")
    alert_class: str = _key("", "class to warn about (default: fake, the CheXpert observation, or guessed)")
    # --- model ------------------------------------------------------------------------------------------------
    arch: str = _key("mobilenet_v2", "architecture: a torchvision classifier or a waveform network such as rawnet2 "
                                     "(see `xaiscope archs`)")
    arch_options: str = _key("", "a waveform network's size as a JSON object (TOML: an inline table), e.g. "
                                 "'{\"first_conv\": 128, \"gru_node\": 128}' for rawnet2; unset keys take the "
                                 "published sizes")
    name: str = _key("", "model name (default <modality>_<arch>_<data set kind>)")
    init: str = _key("random", "starting weights: random, or a local .pt/.pth state_dict or .safetensors file")
    freeze: Literal["backbone", "none"] = _key(
        "none", "backbone: train only the classification head (the earlier tool's way); none: fine-tune all")
    # --- preprocessing (unset: the starting checkpoint's card, else the product default) ----------------------
    image_size: int | None = _key(None, "side of the square model input")
    sample_rate: int | None = _key(None, "audio: resample to this rate")
    n_fft: int | None = _key(None, "audio: FFT size")
    hop_length: int | None = _key(None, "audio: STFT hop in samples")
    n_mels: int | None = _key(None, "audio: mel bands")
    top_db: float | None = _key(None, "audio: dynamic range kept below the peak, in dB")
    renderer: Literal["direct", "seed-notebook"] | None = _key(None, "audio: spectrogram renderer")
    window_seconds: float | None = _key(None, "audio: analysis window length")
    hop_seconds: float | None = _key(None, "audio: step between windows")
    pad: Literal["none", "repeat", "zeros"] | None = _key(None, "audio: rule for clips shorter than a window")
    aggregation: Literal["max", "mean"] | None = _key(None, "audio: how window probabilities become a verdict")
    normalize: bool | None = _key(None, "waveform networks: scale each window to zero mean and unit variance")
    # --- optimisation -----------------------------------------------------------------------------------------
    epochs: int = _key(10, "maximum number of epochs")
    batch_size: int = _key(32, "samples per step and per process")
    lr: float = _key(1e-3, "learning rate")
    weight_decay: float = _key(1e-4, "weight decay")
    optimizer: Literal["adamw", "sgd"] = _key("adamw", "optimizer")
    momentum: float = _key(0.9, "SGD momentum")
    scheduler: Literal["cosine", "constant"] = _key("cosine", "learning-rate schedule over the epochs")
    balance_classes: bool = _key(False, "weight the loss by inverse class frequency of the training split")
    monitor: Literal["loss", "roc_auc", "accuracy", "eer", "f1_macro"] = _key(
        "loss", "validation metric that picks the best epoch and drives early stopping")
    patience: int = _key(3, "stop after this many epochs without improvement (0 = never stop early)")
    min_delta: float = _key(0.0, "smallest change of the monitor that counts as an improvement")
    # --- run --------------------------------------------------------------------------------------------------
    output: str = _key("", "run folder (default runs/<name>)")
    seed: int = _key(0, "seed of weights, shuffling, window draws and dropout")
    device: Literal["auto", "cpu", "cuda"] = _key("auto", "auto uses CUDA when present")
    amp: Literal["auto", "bf16", "fp16", "off"] = _key(
        "auto", "mixed precision on CUDA (auto: bf16 where supported, else fp16); never on the CPU")
    channels_last: bool = _key(True, "channels-last memory format on CUDA")
    num_workers: int = _key(2, "data-loading worker processes per training process")
    cache_dir: str = _key("", "folder of cached model-input tensors (empty = no cache)")
    resume: bool = _key(True, "continue from <output>/last.pt when it exists (--no-resume starts over)")
    eval_test: bool = _key(True, "evaluate the best epoch on the testing split at the end")
    record_samples: bool = _key(False, "write which sample indices each process trained on, per epoch")
    calibrate: bool = _key(True, "at the end, fit the temperature and the familiarity reference on the validation "
                                 "split and store them in the card (xaiscope.trust)")
    progress: bool = _key(True, "show progress bars")

    def data_options(self) -> DataOptions:
        """The data keys as :class:`DataOptions`."""
        return DataOptions(kind=self.dataset, modality=self.modality, observation=self.observation,
                           uncertainty=self.uncertainty, blank=self.blank, frontal_only=self.frontal_only,
                           val_fraction=self.val_fraction, test_fraction=self.test_fraction,
                           split_seed=self.split_seed, max_samples=self.max_samples, alert_class=self.alert_class)

    def network_options(self) -> dict[str, Any]:
        """``arch_options`` as a dict (empty when unset).

        Raises:
            ConfigError: not a JSON object.
        """
        if not self.arch_options.strip():
            return {}
        try:
            value = json.loads(self.arch_options)
        except json.JSONDecodeError as error:
            raise ConfigError(f"The config key 'arch_options' is not valid JSON ({error}).",
                              "Give an object, e.g. arch_options = {gru_node = 128} in TOML.") from error
        if not isinstance(value, dict):
            raise ConfigError("The config key 'arch_options' must be an object.",
                              "Give an object, e.g. arch_options = {gru_node = 128} in TOML.")
        return value

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        """The resolved configuration as TOML (unset keys omitted)."""
        lines = []
        for key, value in self.to_dict().items():
            if value is not None:
                lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else json.dumps(value)}")
        return "\n".join(lines) + "\n"


#: Preprocessing keys and the spec kinds they apply to.
SPEC_KEYS: dict[str, tuple[str, ...]] = {
    "image_size": ("audio", "xray"), "sample_rate": ("audio", "waveform"), "n_fft": ("audio",),
    "hop_length": ("audio",), "n_mels": ("audio",), "top_db": ("audio",), "renderer": ("audio",),
    "window_seconds": ("audio", "waveform"), "hop_seconds": ("audio", "waveform"), "pad": ("audio", "waveform"),
    "aggregation": ("audio", "waveform"), "normalize": ("waveform",),
}


def config_keys() -> tuple[str, ...]:
    return tuple(item.name for item in fields(TrainConfig))


def _hints() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def _parts(hint: Any) -> tuple[type | None, tuple[Any, ...] | None, bool]:
    """(base type, Literal choices or None, whether None is allowed) of a field's type hint."""
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        arguments = [argument for argument in typing.get_args(hint) if argument is not type(None)]
        optional = len(arguments) < len(typing.get_args(hint))
        hint = arguments[0]
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        return type(choices[0]), choices, optional
    return hint, None, optional


def _coerce(key: str, value: Any, hint: Any) -> Any:
    base, choices, optional = _parts(hint)
    if value is None and optional:
        return None
    wrong = ConfigError(f"The config key '{key}' must be {_describe(base, choices)}, not {value!r}.",
                        f"Fix '{key}' in the TOML file or the --{key.replace('_', '-')} flag.")
    if base is bool:
        if not isinstance(value, bool):
            raise wrong
    elif base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
    elif base is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong
        value = float(value)
    elif base is str and not isinstance(value, str):
        raise wrong
    if choices is not None and value not in choices:
        raise wrong
    return value


def _describe(base: Any, choices: tuple[Any, ...] | None) -> str:
    if choices is not None:
        return "one of " + ", ".join(repr(choice) for choice in choices)
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(base, str(base))


def _flatten(table: dict[str, Any], source: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if key == "arch_options" and isinstance(value, dict):  # a value, not a group of keys
            value = json.dumps(value)
        if isinstance(value, dict):
            for inner, inner_value in _flatten(value, source).items():
                if inner in flat:
                    raise ConfigError(f"The key '{inner}' appears twice in {source}.", "Keep one of them.")
                flat[inner] = inner_value
        elif key in flat:
            raise ConfigError(f"The key '{key}' appears twice in {source}.", "Keep one of them.")
        else:
            flat[key] = value
    return flat


def read_toml(path: Path) -> dict[str, Any]:
    """The flat key-value pairs of a TOML config file.

    Raises:
        ConfigError: missing file or invalid TOML (with the parser's line and column).
    """
    try:
        with Path(path).open("rb") as handle:
            return _flatten(tomllib.load(handle), str(path))
    except FileNotFoundError as error:
        raise ConfigError(f"The config file '{path}' does not exist.", "Check the path, or pass flags only.") \
            from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"'{path}' is not valid TOML ({error}).", "Fix the file; see README's Training section.") \
            from error


def make_config(values: dict[str, Any]) -> TrainConfig:
    """Build and validate a config from flat key-value pairs.

    Raises:
        ConfigError: unknown key (with close matches), wrong type or out-of-range value.
    """
    keys = config_keys()
    hints = _hints()
    for key in values:
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=3)
            suggestion = f" Did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"'{key}' is not a training config key.{suggestion}",
                              "Run `xaiscope train --help` for every key.")
    config = TrainConfig(**{key: _coerce(key, value, hints[key]) for key, value in values.items()})
    _validate(config)
    return config


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults, then the TOML file (if any), then ``overrides`` (flags)."""
    values = read_toml(path) if path is not None else {}
    values.update(overrides or {})
    return make_config(values)


def _validate(config: TrainConfig) -> None:
    problems = []
    if not config.data:
        problems.append("no data folder: set `data` in the config or pass --data")
    checks = [("epochs", config.epochs >= 1), ("batch_size", config.batch_size >= 1), ("lr", config.lr > 0),
              ("weight_decay", config.weight_decay >= 0), ("patience", config.patience >= 0),
              ("num_workers", config.num_workers >= 0), ("max_samples", config.max_samples >= 0),
              ("val_fraction", 0 <= config.val_fraction < 1), ("test_fraction", 0 <= config.test_fraction < 1),
              ("val_fraction + test_fraction", config.val_fraction + config.test_fraction < 1),
              ("image_size", config.image_size is None or config.image_size >= 16)]
    problems += [f"'{key}' is out of range" for key, ok in checks if not ok]
    config.network_options()
    if problems:
        raise ConfigError("The training config is not usable: " + "; ".join(problems) + ".",
                          "Fix these keys in the TOML file or on the command line.")


def build_spec(config: TrainConfig, modality: str, base: PreprocessingSpec | None = None) -> PreprocessingSpec:
    """The preprocessing spec of the run: ``base`` (the starting card's) or the architecture's default for the
    modality, with the config's preprocessing keys applied (keys of another spec kind are ignored: audio-only keys
    for X-rays, mel keys for a waveform network).

    Raises:
        ConfigError: the resulting spec is invalid.
    """
    from xaiscope.models.architectures import architecture_info, default_preprocessing

    if architecture_info(config.arch).input_kind == "waveform" and modality != "audio":
        raise ConfigError(f"The waveform network '{config.arch}' classifies recordings, not {modality} data.",
                          "Choose a picture architecture (e.g. mobilenet_v2) for this data set.")
    default = default_preprocessing(config.arch, modality)
    spec = base if base is not None and base.kind == default.kind else default
    changes = {key: getattr(config, key) for key, kinds in SPEC_KEYS.items()
               if spec.kind in kinds and getattr(config, key) is not None}
    try:
        return dataclasses.replace(spec, **changes)
    except CardError as error:
        raise ConfigError(f"The preprocessing keys give an invalid spec: {error.problem}",
                          "Fix the preprocessing keys of the config.") from error


#: Keys that may change between an interrupted run and its resumption.
RESUMABLE_CHANGES = frozenset({"epochs", "patience", "min_delta", "num_workers", "device", "progress", "cache_dir",
                               "eval_test", "record_samples", "calibrate", "resume", "output", "amp", "channels_last",
                               "data"})


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per config key (absent flags leave no attribute, so TOML values are not overridden)."""
    hints = _hints()
    for item in fields(TrainConfig):
        base, choices, _ = _parts(hints[item.name])
        names = [f"--{item.name.replace('_', '-')}"] + ([f"--{item.name}"] if "_" in item.name else [])
        default = "unset" if item.default is None else item.default
        help_text = f"{item.metadata.get('help', '')} (default: {default})"
        if base is bool:
            parser.add_argument(*names, dest=item.name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            parser.add_argument(*names, dest=item.name, type=base or str, choices=choices, default=argparse.SUPPRESS,
                                help=help_text, metavar=None if choices else item.name.upper())


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The config keys given as flags."""
    return {key: getattr(args, key) for key in config_keys() if hasattr(args, key)}
