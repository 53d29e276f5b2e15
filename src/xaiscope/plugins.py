"""The one plug-in framework behind explanation methods and trust metrics.

A plug-in (:class:`Plugin`) declares, as class attributes where it is defined, its name, label, one-line summary,
the modalities it suits, its parameters (:class:`Param`: type, default, range or choices; the CLI options and the
app widgets are generated from them) and named presets. Every plug-in answers the same verbs:

* :meth:`Plugin.suits` ``(model, modality)``: ``None`` when it can be used, else the reason in words;
* :meth:`Plugin.resolve_params`: defaults, then a preset, then given values, each converted and checked;
* :meth:`Plugin.describe`: JSON-ready metadata.

A :class:`Registry` holds the plug-ins of one kind by name (with accepted spellings) and lists them as
:class:`Choice` s, marked available or not with the reason. :class:`CallMeter` counts the images a plug-in pushes
through a model (its declared cost is checked against it) and reports progress; :func:`parse_target` turns a class
given by index or name into an index. Explainers (:mod:`xaiscope.explainers`) and metrics
(:mod:`xaiscope.evaluation`) are the two kinds built on this.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, ItemsView, Iterator, KeysView, Sequence, ValuesView
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from xaiscope.errors import XaiscopeError

if TYPE_CHECKING:
    from torch import nn

    from xaiscope.inputs.sample import Modality
    from xaiscope.models.model import Model

#: ``progress(done, expected)``, called as model calls are made; it may raise :class:`~xaiscope.errors.Stopped`.
ProgressCallback = Callable[[int, int], object]


@dataclass(frozen=True)
class Param:
    """One declared parameter of a plug-in.

    Attributes:
        name: keyword name.
        kind: ``int``, ``float``, ``str`` or ``bool``.
        default: value used when none is given.
        help: one line for people.
        minimum, maximum: inclusive range for numbers.
        choices: allowed values for strings.
    """

    name: str
    kind: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def coerce(self, value: Any, owner: str, error: type[XaiscopeError] = XaiscopeError) -> Any:
        """Convert ``value`` (possibly text from a command line) to this parameter's type and check it.

        Args:
            value: the given value.
            owner: the plug-in's name, for messages (``owner.name``).
            error: the exception class to raise.

        Raises:
            error: not convertible, out of range or not one of the choices.
        """
        try:
            if self.kind is bool and isinstance(value, str):
                lowered = value.strip().lower()
                if lowered not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                converted: Any = lowered in ("true", "1", "yes")
            else:
                converted = self.kind(value)
        except (TypeError, ValueError) as problem:
            wanted = {int: "a whole number", float: "a number", bool: "true or false"}.get(self.kind, "text")
            raise error(f"{owner}.{self.name} must be {wanted}, not {value!r}.",
                        f"{self.help} Default: {self.default}.") from problem
        if (self.minimum is not None and converted < self.minimum) or \
                (self.maximum is not None and converted > self.maximum):
            raise error(f"{owner}.{self.name}={converted} is outside [{self.minimum}, {self.maximum}].",
                        f"{self.help} Default: {self.default}.")
        if self.choices is not None and converted not in self.choices:
            raise error(f"{owner}.{self.name}={converted!r} is not one of {list(self.choices)}.",
                        f"{self.help} Default: {self.default!r}.")
        return converted

    def describe(self) -> dict[str, Any]:
        """JSON-ready form for ``--json`` listings and the app."""
        return {"name": self.name, "type": self.kind.__name__, "default": self.default, "help": self.help,
                "minimum": self.minimum, "maximum": self.maximum,
                "choices": list(self.choices) if self.choices else None}


class Plugin:
    """Base of explanation methods and metrics. Subclasses set the class attributes.

    Attributes:
        name: registry name (lower case, ``_`` between words).
        label: display label.
        summary: one line on what it does or means.
        library: who computes it.
        modalities: the modalities it suits (``audio``, ``xray``).
        input_kinds: the models' input kinds it suits (``picture``, ``waveform``, ``features``, ``xray-gray``).
        output_kinds: the models' output kinds it suits (``single-logit``, ``softmax``, ``multi-label``).
        needs_gradients: True when it differentiates the model (PyTorch only; a black box such as ONNX cannot).
        params: declared parameters.
        presets: named sets of parameter values (e.g. ``earlier-tool``).
        error: the exception class raised for bad names and parameters.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    summary: ClassVar[str]
    library: ClassVar[str] = "xaiscope"
    modalities: ClassVar[tuple[str, ...]] = ("audio", "xray")
    input_kinds: ClassVar[tuple[str, ...]] = ("picture",)
    output_kinds: ClassVar[tuple[str, ...]] = ("single-logit", "softmax", "multi-label")
    needs_gradients: ClassVar[bool] = False
    params: ClassVar[tuple[Param, ...]] = ()
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    error: ClassVar[type[XaiscopeError]] = XaiscopeError

    def suits(self, model: Model | None = None, modality: Modality | str | None = None) -> str | None:
        """Why this plug-in cannot be used on ``modality`` inputs of ``model`` (None when it can).

        Either may be None (not known yet); ``modality`` defaults to the model's.
        """
        modality = modality or (model.card.modality if model is not None else None)
        if modality is not None and modality not in self.modalities:
            return f"does not apply to {modality} inputs (only {'/'.join(self.modalities)})"
        if model is None:
            return None
        if model.input_kind not in self.input_kinds:
            return (f"{model.name} takes {model.input_kind} input; this works on {' or '.join(self.input_kinds)} "
                    "input only" + self.input_kind_note(model.input_kind))
        if model.output_kind not in self.output_kinds:
            return f"{model.name} is a {model.output_kind} model; this suits {' or '.join(self.output_kinds)} models"
        if self.needs_gradients and not model.differentiable:
            return model.black_box_reason or f"{model.name} runs as a black box: this needs PyTorch gradients"
        return self.unsuited_model(model)

    def input_kind_note(self, input_kind: str) -> str:
        """Why an input kind is not suited, beyond "not listed" (e.g. ``: a waveform has no spatial grid``)."""
        return ""

    def unsuited_model(self, model: Model) -> str | None:
        """Why this plug-in cannot be used with ``model`` whatever the input (None when it can); override."""
        return None

    def resolve_params(self, given: dict[str, Any] | None = None, preset: str | None = None) -> dict[str, Any]:
        """Defaults, then the preset's values, then ``given``; every value converted and checked.

        Raises:
            self.error: unknown parameter or preset, or a bad value or combination of values.
        """
        declared = {param.name: param for param in self.params}
        values = {name: param.default for name, param in declared.items()}
        if preset is not None:
            if preset not in self.presets:
                raise self.error(f"{self.name} has no preset '{preset}'.",
                                 f"Presets: {', '.join(self.presets) or 'none'}.")
            values.update({name: declared[name].coerce(value, self.name, self.error)
                           for name, value in self.presets[preset].items()})
        for name, value in (given or {}).items():
            if name not in declared:
                raise self.error(f"{self.name} has no parameter '{name}'.",
                                 f"Its parameters are: {', '.join(declared) or 'none'}.")
            values[name] = declared[name].coerce(value, self.name, self.error)
        self.check(values)
        return values

    def check(self, params: dict[str, Any]) -> None:
        """Refuse combinations of parameter values that cannot work together (raise :attr:`error`)."""

    def describe(self) -> dict[str, Any]:
        """JSON-ready metadata."""
        return {"name": self.name, "label": self.label, "summary": self.summary, "library": self.library,
                "modalities": list(self.modalities), "input_kinds": list(self.input_kinds),
                "output_kinds": list(self.output_kinds), "needs_gradients": self.needs_gradients,
                "params": [param.describe() for param in self.params],
                "presets": self.presets}


P = TypeVar("P", bound=Plugin)


@dataclass(frozen=True)
class Choice(Generic[P]):
    """A plug-in and whether it can be used in a given setting (with the reason when it cannot)."""

    plugin: P
    available: bool
    reason: str = ""

    def describe(self) -> dict[str, Any]:
        return {**self.plugin.describe(), "available": self.available, "reason": self.reason}


class Registry(Generic[P]):
    """The plug-ins of one kind by name, in the order lists show them (read like a mapping name -> plug-in).

    ``registry[name]`` takes the exact registry name; :meth:`get` also accepts other spellings and raises the
    plug-ins' own error for an unknown name.

    Args:
        kind: what the plug-ins are, for messages (``explanation method``, ``metric``).
        plugins: one instance of each.
        aliases: other accepted spellings -> registry name.
        listing: the CLI command that describes them, for messages.
    """

    def __init__(self, kind: str, plugins: Sequence[P], aliases: dict[str, str] | None = None,
                 listing: str = "") -> None:
        self.kind = kind
        self.listing = listing
        self._plugins: dict[str, P] = {plugin.name: plugin for plugin in plugins}
        self._aliases = dict(aliases or {})
        self._error = plugins[0].error if plugins else XaiscopeError

    def __getitem__(self, name: str) -> P:
        return self._plugins[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._plugins)

    def __len__(self) -> int:
        return len(self._plugins)

    def keys(self) -> KeysView[str]:
        return self._plugins.keys()

    def values(self) -> ValuesView[P]:
        return self._plugins.values()

    def items(self) -> ItemsView[str, P]:
        return self._plugins.items()

    def __contains__(self, name: object) -> bool:
        """True for a registered name or an accepted spelling of one."""
        return isinstance(name, str) and self._key(name) in self._plugins

    def _key(self, name: str) -> str:
        key = name.strip().lower()
        key = self._aliases.get(key, key)
        return key if key in self._plugins else key.replace("-", "_")

    def get(self, name: str) -> P:
        """The plug-in called ``name`` (case-insensitive; ``-`` and ``_`` alike; accepted spellings).

        Raises:
            The plug-ins' error class: unknown name; the message lists the names.
        """
        key = self._key(name)
        if key not in self._plugins:
            more = f" (`{self.listing}` describes them)" if self.listing else ""
            raise self._error(f"There is no {self.kind} called '{name}'.",
                              f"Known: {', '.join(self._plugins)}{more}.")
        return self._plugins[key]

    def choices(self, model: Model | None = None, modality: str | None = None) -> list[Choice[P]]:
        """Every plug-in, marked available or not for ``model`` and ``modality`` (either may be None)."""
        rows = []
        for plugin in self.values():
            reason = plugin.suits(model, modality) or ""
            rows.append(Choice(plugin, not reason, reason))
        return rows


class CallMeter:
    """Counts the images pushed through watched modules and reports ``progress(done, expected)``.

    Only forward passes made by the thread that created the meter are counted and reported: a model shared by the
    sessions of a server never runs another session's progress callback or inflates its count. The callback may
    raise (for instance :class:`~xaiscope.errors.Stopped`) to stop the work between two forward passes. Hooks
    exist only inside :meth:`watch` and are always removed.
    """

    def __init__(self, expected: int = 0, progress: ProgressCallback | None = None) -> None:
        self.done = 0
        self.expected = expected
        self.progress = progress
        self._thread = threading.get_ident()

    def add(self, count: int) -> None:
        """Record ``count`` images and report progress."""
        self.done += count
        if self.progress is not None:
            self.progress(self.done, max(self.expected, self.done))

    @contextlib.contextmanager
    def watch(self, module: nn.Module) -> Iterator[CallMeter]:
        """Count the batch size of every forward call of ``module`` (from this meter's thread) while the block runs."""
        import torch

        def hook(_module: nn.Module, inputs: tuple[Any, ...]) -> None:
            if threading.get_ident() != self._thread:
                return
            first = inputs[0] if inputs else None
            self.add(int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() > 0 else 1)

        handle = module.register_forward_pre_hook(hook)
        try:
            yield self
        finally:
            handle.remove()


def parse_target(classes: Sequence[str], target: int | str | None, owner: str,
                 default: Callable[[], int] | None = None, error: type[XaiscopeError] = XaiscopeError) -> int:
    """A class given by index, digits or name -> its index in ``classes``.

    Args:
        classes: class names in output order.
        target: the class; None means ``default()``.
        owner: the model's name, for messages.
        default: the index to use when ``target`` is None (e.g. the predicted class).
        error: the exception class to raise.

    Raises:
        error: an unknown name, an index out of range, or no target and no default.
    """
    if target is None:
        if default is None:
            raise error("No class to explain was given.", f"Name one of: {', '.join(classes)}.")
        return default()
    if isinstance(target, str) and not target.strip().lstrip("-").isdigit():
        if target not in classes:
            raise error(f"'{target}' is not a class of {owner}.", f"Its classes are: {', '.join(classes)}.")
        return list(classes).index(target)
    index = int(target)
    if not 0 <= index < len(classes):
        raise error(f"Class index {index} does not exist for {owner}.",
                    f"Use 0..{len(classes) - 1} or a name: {', '.join(classes)}.")
    return index
