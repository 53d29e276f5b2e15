"""The inference precision policy: which number format a model's forward passes run in.

* ``fp32``: full precision, everywhere.
* ``bf16``: ``torch.autocast`` with bfloat16: on a CUDA GPU that supports it, and on a CPU whose instruction set has
  bfloat16 arithmetic (``amx_bf16`` or ``avx512_bf16`` in ``/proc/cpuinfo``: Sapphire Rapids and later Xeons, Zen 4).
  Elsewhere bfloat16 is emulated and slower than fp32, so ``auto`` does not pick it (asked for by name, it still runs).
* ``fp16``: ``torch.autocast`` with float16, CUDA only (CPUs have no fast float16 path; asking for it there is refused).
* ``channels_last``: picture networks (4-D ``(N, C, H, W)`` inputs) keep their weights and inputs in NHWC order when
  the precision is reduced, which is what the bf16/fp16 convolution kernels are fastest with. It changes memory
  layout only, never values.

``auto`` picks the fastest of these the hardware runs natively. Autocast keeps gradients working (weights stay
float32; backward passes run through the autocast graph), so gradient and CAM methods can run reduced too; whether
each method *does* is its own declaration (``Method.reduced_precision_ok``), set from the fidelity measured by
``benchmarks/explain_speed.py``. Every record (predictions, explanations, evaluation reports) states the precision
that was used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from xaiscope.errors import ModelError

if TYPE_CHECKING:
    from torch import nn

#: A precision forward passes actually run in.
Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
#: What a user may ask for: a precision, or ``auto`` (chosen from the hardware).
PRECISION_CHOICES: tuple[str, ...] = ("auto", *PRECISIONS)

_CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


class PrecisionError(ModelError):
    """A precision this machine cannot run (fp16 on a CPU), or an unknown name."""


@lru_cache(maxsize=1)
def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[str, ...]:
    """The bfloat16 instruction-set flags this CPU reports (``amx_bf16``, ``avx512_bf16``); empty when none or
    when ``/proc/cpuinfo`` cannot be read (not Linux)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return ()
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return tuple(flag for flag in _CPU_BF16_FLAGS if flag in flags)


@dataclass(frozen=True)
class PrecisionPolicy:
    """How one model runs its forward passes.

    Attributes:
        precision: what forward passes run in (``fp32``, ``bf16``, ``fp16``).
        device: ``cpu`` or ``cuda`` (where the network's weights are).
        channels_last: picture inputs and weights in NHWC memory order (layout only).
        requested: what was asked for (``auto`` or a precision).
        reason: why this precision, in words (for records and ``--help``-level messages).
    """

    precision: Precision = "fp32"
    device: str = "cpu"
    channels_last: bool = False
    requested: str = "fp32"
    reason: str = "full precision"

    @property
    def reduced(self) -> bool:
        """True for bf16 and fp16."""
        return self.precision != "fp32"

    def record(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"precision": self.precision, "requested": self.requested, "device": self.device,
                "channels_last": self.channels_last, "reason": self.reason}


FP32 = PrecisionPolicy()


def resolve_precision(requested: str, device: str = "cpu", *, picture_input: bool = True) -> PrecisionPolicy:
    """The policy for ``requested`` (``auto``, ``fp32``, ``bf16``, ``fp16``) on ``device``.

    Args:
        requested: what the user asked for.
        device: ``cpu`` or ``cuda``.
        picture_input: the network takes 4-D ``(N, C, H, W)`` inputs (channels_last applies to these only).

    Raises:
        PrecisionError: an unknown name, or fp16 on a CPU.
    """
    requested = requested.strip().lower()
    if requested not in PRECISION_CHOICES:
        raise PrecisionError(f"Unknown precision '{requested}'.", f"Choose one of {', '.join(PRECISION_CHOICES)}.")
    cuda = device == "cuda"
    if requested == "fp16" and not cuda:
        raise PrecisionError("fp16 runs on CUDA GPUs only: this model runs on the CPU, which has no fast float16 "
                             "arithmetic.", "Use --precision bf16 (CPUs with AMX or AVX-512 BF16), fp32 or auto.")
    if requested == "auto":
        if cuda:
            import torch

            chosen: Precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            reason = f"auto: this GPU {'supports bf16' if chosen == 'bf16' else 'has no bf16, so fp16'}"
        elif cpu_bf16_flags():
            chosen, reason = "bf16", f"auto: this CPU has {' and '.join(cpu_bf16_flags())}"
        else:
            chosen, reason = "fp32", "auto: this CPU has no native bf16 arithmetic (amx_bf16 / avx512_bf16)"
    else:
        chosen, reason = requested, f"asked for {requested}"  # type: ignore[assignment]
    return PrecisionPolicy(precision=chosen, device="cuda" if cuda else "cpu",
                           channels_last=picture_input and chosen != "fp32", requested=requested, reason=reason)


def network_device(network: nn.Module) -> str:
    """``cuda`` when the network's first parameter is on a GPU, else ``cpu``."""
    for parameter in network.parameters():
        return "cuda" if parameter.device.type == "cuda" else "cpu"
    return "cpu"


@contextlib.contextmanager
def autocast(policy: PrecisionPolicy) -> Iterator[None]:
    """Run the forward passes inside under ``policy`` (``torch.autocast``; nothing for fp32).

    Autocast state belongs to the calling thread, so another thread's forward passes on the same model are not
    affected. Gradients still flow (autocast records casts in the graph).
    """
    if not policy.reduced:
        yield
        return
    import torch

    dtype = torch.bfloat16 if policy.precision == "bf16" else torch.float16
    with torch.autocast(device_type=policy.device, dtype=dtype):
        yield
