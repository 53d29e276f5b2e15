"""Reading and writing weights without ever executing code from a file.

* ``.safetensors`` is read with ``safetensors.torch.load_file`` (a flat tensor format with no code at all).
* ``.pt`` / ``.pth`` state_dicts (the earlier tool's format) are read with ``torch.load(weights_only=True)``,
  whose unpickler only rebuilds tensors and plain containers; a pickle that names any other Python object
  (``os.system``, a class, a lambda) is refused before anything runs.
* Checkpoints are written as ``<name>.safetensors`` plus ``<name>.json`` (the card), each atomically.
"""

from __future__ import annotations

import pickle
import pickletools
import re
import warnings
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from xaiscope.errors import NotACheckpointError, UnsafeCheckpointError, WeightsMismatchError

_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
_SHOWN_KEYS = 5


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state_dict from ``.safetensors`` or a torch pickle, safely.

    Nested checkpoints (``{"state_dict": ...}``, ``{"model_state_dict": ...}``) are unwrapped and a
    ``module.`` prefix left by DataParallel is removed.

    Raises:
        NotACheckpointError: the file is not a checkpoint, or holds no tensors.
        UnsafeCheckpointError: the pickle references Python objects beyond tensors (never executed).
    """
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as error:
            raise NotACheckpointError(f"'{path.name}' is not a readable safetensors checkpoint ({error}).",
                                      "Use the .safetensors file written by `xaiscope import` or training.") \
                from error
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        offenders = unsafe_globals(path)
        if offenders:
            raise UnsafeCheckpointError(
                f"'{path.name}' is a pickle that would import or run Python code (it refers to "
                f"{', '.join(offenders[:3])}); it was refused and nothing in it was executed.",
                "Only load weights you trust. Save a plain state_dict (`torch.save(model.state_dict(), f)`) or "
                "safetensors from the original training code, then run `xaiscope import`.") from error
        raise NotACheckpointError(
            f"'{path.name}' is a pickle that torch's safe loader does not accept.",
            "Re-save the weights with `torch.save(model.state_dict(), path)`, then run `xaiscope import`.") from error
    except Exception as error:  # torch's unpickler raises many types (IndexError, RuntimeError...) on junk
        raise _not_a_checkpoint(path, error) from error
    return _as_state_dict(loaded, path)


#: Globals a plain state_dict pickle names; anything else is reported as what the pickle would have imported.
_STATE_DICT_GLOBALS = re.compile(r"^(torch\..*|collections\.OrderedDict|_codecs\.encode|builtins\.(set|frozenset))$")


def unsafe_globals(path: Path) -> list[str]:
    """Names of the Python objects a pickle would import, read from its opcodes without executing anything.

    Handles raw pickles and torch's zip container (``*/data.pkl``). Tensor-rebuilding globals of torch itself
    are not listed.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                member = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
                payload = archive.read(member) if member else b""
        else:
            payload = path.read_bytes()
    except (OSError, zipfile.BadZipFile):
        return []
    found: list[str] = []
    strings: list[str] = []
    try:
        for opcode, argument, _ in pickletools.genops(payload):
            if isinstance(argument, str):
                strings.append(argument)
            if opcode.name in ("GLOBAL", "INST") and isinstance(argument, str):
                found.append(argument.replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
    except Exception:  # a truncated or hostile opcode stream: report what was read so far
        pass
    return [name for name in dict.fromkeys(found) if not _STATE_DICT_GLOBALS.match(name)]


def _not_a_checkpoint(path: Path, error: Exception) -> NotACheckpointError:
    return NotACheckpointError(f"'{path.name}' is not a PyTorch checkpoint ({type(error).__name__}).",
                               "Choose the .pt/.pth state_dict saved by the training code, or a .safetensors file.")


def _as_state_dict(loaded: object, path: Path) -> dict[str, torch.Tensor]:
    for key in _WRAPPER_KEYS:
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
            break
    if not isinstance(loaded, dict) or not loaded or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise NotACheckpointError(f"'{path.name}' does not hold a state_dict (a mapping of names to tensors).",
                                  "Save the weights with `torch.save(model.state_dict(), path)`.")
    return {key.removeprefix("module."): value for key, value in loaded.items()}


def fit_state_dict(network: nn.Module, state: dict[str, torch.Tensor], *, source: str, architecture: str,
                   assign: bool = False) -> None:
    """Load ``state`` into ``network`` strictly, explaining any mismatch in plain words.

    Args:
        assign: adopt the state's tensors instead of copying into the network's (for a ``meta`` skeleton).

    Raises:
        WeightsMismatchError: names the missing, unexpected and mis-shaped keys (the first few of each).
    """
    expected = network.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    misshaped = [f"{key} {tuple(state[key].shape)} != {tuple(value.shape)}"
                 for key, value in expected.items() if key in state and state[key].shape != value.shape]
    if missing or unexpected or misshaped:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshaped)):
            if keys:
                more = f" and {len(keys) - _SHOWN_KEYS} more" if len(keys) > _SHOWN_KEYS else ""
                parts.append(f"{label}: {', '.join(keys[:_SHOWN_KEYS])}{more}")
        raise WeightsMismatchError(
            f"The weights in '{source}' do not fit {architecture} with {head_outputs(expected)} output(s) — "
            + "; ".join(parts) + ".",
            "Check the architecture (--arch) and the number of classes: the file must come from that same "
            "architecture and head.")
    network.load_state_dict(state, strict=True, assign=assign)


def head_outputs(state: dict[str, torch.Tensor]) -> int:
    """Output count of a state_dict's classifier head: rows of its last weight of two or more dimensions."""
    weights = [value for key, value in state.items() if key.endswith("weight") and value.dim() >= 2]
    return int(weights[-1].shape[0]) if weights else 0


def save_weights(network: nn.Module, path: Path) -> None:
    """Write ``network``'s state_dict as safetensors, atomically (tensors made contiguous, shared ones copied)."""
    state = {key: value.detach().cpu().contiguous().clone() for key, value in network.state_dict().items()}
    temporary = path.with_suffix(path.suffix + ".tmp")
    save_file(state, str(temporary), metadata={"format": "pt", "producer": "xaiscope"})
    temporary.replace(path)
