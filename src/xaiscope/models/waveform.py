"""Raw-waveform networks: RawNet2 as in the ASVspoof 2021 baseline, with its published hyper-parameters.

RawNet2 (Tak et al., "End-to-end anti-spoofing with RawNet2", ICASSP 2021) reads the samples themselves:

* ``Sinc_conv``: a bank of fixed band-pass filters (windowed differences of two sinc functions), their edges spaced
  evenly on the mel scale from 0 Hz to half the sample rate; no learned weights. The absolute value of its output
  is max-pooled by 3, then batch-normalised (``first_bn``) and passed through SELU.
* ``block0`` ... ``block5``: residual blocks (two 3-tap convolutions with batch norm and LeakyReLU(0.3), a 1x1
  convolution on the shortcut when the channel count changes, max-pooling by 3), each followed by filter-wise
  feature-map scaling (FMS): ``x * s + s`` with ``s = sigmoid(fc_attentionK(mean over time of x))``.
* ``bn_before_gru`` and SELU, a GRU over time whose last step goes through ``fc1_gru`` and ``fc2_gru``
  (the classification head, one logit per output).

The module, parameter and buffer names are those of the baseline's ``model.py`` (``Sinc_conv``, ``first_bn``,
``block0.0.conv1``, ``fc_attention0.0``, ``bn_before_gru``, ``gru``, ``fc1_gru``, ``fc2_gru``), so a ``state_dict``
saved from it loads with ``strict=True``. Two facts of that code are kept on purpose, so that its weights give its
outputs: each residual block (but the first) holds a ``bn1`` that its forward pass never applies (the first
convolution reads the block input), and nothing comes between ``fc1_gru`` and ``fc2_gru``. The baseline ends with a
log-softmax; this network returns the logits (log-softmax of them gives the same probabilities).

Differences that do not touch the weights: the sinc filters are computed once (a non-persistent buffer, so not in
the ``state_dict``, as in the baseline), no operation works in place (hooks and autograd see every step), and the
network takes ``(N, n_samples)`` and returns ``(N, num_outputs)`` logits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from xaiscope.errors import ConfigError


@dataclass(frozen=True)
class RawNet2Config:
    """The size of a RawNet2; the defaults are the ASVspoof 2021 baseline's (``model_config_RawNet.yaml``).

    Attributes:
        sinc_filters: band-pass filters of the sinc front end (the baseline's ``filts[0]``, 20).
        first_conv: length of each sinc filter in samples (1024); an even length is made odd (+1), as the baseline
            does, so that the filters are symmetric.
        block_filters: channels of blocks 0-1 and of blocks 2-5 (the baseline's ``filts[1][1]`` and ``filts[2][1]``:
            20 and 128).
        gru_node: hidden units of the GRU (1024).
        nb_gru_layer: stacked GRU layers (3).
        nb_fc_node: width of ``fc1_gru`` (1024).
        sample_rate: the rate the sinc filters are designed for (16 kHz).
    """

    sinc_filters: int = 20
    first_conv: int = 1024
    block_filters: tuple[int, int] = (20, 128)
    gru_node: int = 1024
    nb_gru_layer: int = 3
    nb_fc_node: int = 1024
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        values = (self.sinc_filters, self.first_conv, *self.block_filters, self.gru_node, self.nb_gru_layer,
                  self.nb_fc_node, self.sample_rate)
        if len(self.block_filters) != 2 or any(int(value) < 1 for value in values) or self.first_conv < 3:
            raise ConfigError(f"RawNet2 options {self.to_dict()} are out of range.",
                              "Use positive sizes, two block_filters values and a first_conv of at least 3.")

    @property
    def kernel_size(self) -> int:
        """The sinc filters' length as built: ``first_conv``, made odd."""
        return self.first_conv + 1 if self.first_conv % 2 == 0 else self.first_conv

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in the card's ``source_options["network"]``)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, options: dict[str, Any] | None) -> RawNet2Config:
        """Build from card or training options; missing keys take the baseline's values.

        Raises:
            ConfigError: unknown keys or values out of range.
        """
        options = dict(options or {})
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"Unknown RawNet2 options {unknown}.", f"Allowed options: {sorted(known)}.")
        if "block_filters" in options:
            options["block_filters"] = tuple(int(value) for value in options["block_filters"])
        return cls(**options)


def _to_mel(hz: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def _to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def sinc_filters(count: int, kernel_size: int, sample_rate: int) -> torch.Tensor:
    """The baseline's fixed mel-spaced band-pass filters.

    Band ``i`` passes ``[edge_i, edge_{i+1}]``, the ``count + 1`` edges evenly spaced on the mel scale from 0 Hz to
    ``sample_rate / 2``; its impulse response is the difference of two ideal low-pass (sinc) responses, times a
    symmetric Hamming window, computed in float64.

    Returns:
        ``(count, 1, kernel_size)`` float32 convolution weights.
    """
    cpu = torch.device("cpu")  # explicit, so that a network built on the meta device still gets real filters
    top = float(_to_mel(torch.tensor(sample_rate / 2.0, dtype=torch.float64, device=cpu)))
    edges = _to_hz(torch.linspace(0.0, top, count + 1, dtype=torch.float64, device=cpu))
    taps = torch.arange(kernel_size, dtype=torch.float64, device=cpu) - (kernel_size - 1) / 2.0

    def low_pass(cutoff: torch.Tensor) -> torch.Tensor:
        return (2.0 * cutoff / sample_rate) * torch.sinc(2.0 * cutoff * taps / sample_rate)

    window = torch.hamming_window(kernel_size, periodic=False, dtype=torch.float64, device=cpu)
    bands = torch.stack([(low_pass(edges[i + 1]) - low_pass(edges[i])) * window for i in range(count)])
    return bands.float().unsqueeze(1)


class SincConv(nn.Module):
    """Fixed sinc band-pass filter bank: ``(N, 1, T)`` -> ``(N, count, T - kernel_size + 1)`` (no padding)."""

    filters: torch.Tensor

    def __init__(self, count: int, kernel_size: int, sample_rate: int) -> None:
        super().__init__()
        self.register_buffer("filters", sinc_filters(count, kernel_size, sample_rate), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.filters)


class ResidualBlock(nn.Module):
    """One residual block of the baseline: ``(N, C_in, T)`` -> ``(N, C_out, T // 3)``.

    ``bn1`` exists for every block but the first, as in the baseline, which never applies it (see the module
    docstring); ``conv_downsample`` only where ``C_in != C_out``.
    """

    def __init__(self, in_channels: int, out_channels: int, first: bool = False) -> None:
        super().__init__()
        self.first = first
        if not first:
            self.bn1 = nn.BatchNorm1d(in_channels)
        self.lrelu = nn.LeakyReLU(negative_slope=0.3)
        self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm1d(out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size=3, padding=1)
        self.downsample = in_channels != out_channels
        if self.downsample:
            self.conv_downsample = nn.Conv1d(in_channels, out_channels, kernel_size=1)
        self.mp = nn.MaxPool1d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.lrelu(self.bn2(self.conv1(x))))
        identity = self.conv_downsample(x) if self.downsample else x
        return self.mp(out + identity)


class RawNet2(nn.Module):
    """RawNet2 (see the module docstring): ``(N, n_samples)`` float32 at ``config.sample_rate`` -> ``(N, num_outputs)``.

    The time axis shrinks by ``kernel_size - 1``, then by 3 seven times (front end and six blocks), so an input needs
    at least ``kernel_size + 3**7 - 1`` samples (0.2 s at 16 kHz with the baseline's 1,025 taps) for the GRU to see
    one step.
    """

    def __init__(self, config: RawNet2Config | None = None, num_outputs: int = 2) -> None:
        super().__init__()
        self.config = config or RawNet2Config()
        c = self.config
        low, high = c.block_filters
        self.Sinc_conv = SincConv(c.sinc_filters, c.kernel_size, c.sample_rate)
        self.first_bn = nn.BatchNorm1d(c.sinc_filters)
        self.selu = nn.SELU()
        self.block0 = nn.Sequential(ResidualBlock(c.sinc_filters, low, first=True))
        self.block1 = nn.Sequential(ResidualBlock(low, low))
        self.block2 = nn.Sequential(ResidualBlock(low, high))
        self.block3 = nn.Sequential(ResidualBlock(high, high))
        self.block4 = nn.Sequential(ResidualBlock(high, high))
        self.block5 = nn.Sequential(ResidualBlock(high, high))
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        for index, channels in enumerate((low, low, high, high, high, high)):
            self.add_module(f"fc_attention{index}", nn.Sequential(nn.Linear(channels, channels)))
        self.bn_before_gru = nn.BatchNorm1d(high)
        self.gru = nn.GRU(input_size=high, hidden_size=c.gru_node, num_layers=c.nb_gru_layer, batch_first=True)
        self.fc1_gru = nn.Linear(c.gru_node, c.nb_fc_node)
        self.fc2_gru = nn.Linear(c.nb_fc_node, num_outputs)
        self.sig = nn.Sigmoid()

    def _scaled(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Block ``index`` then its filter-wise feature-map scaling: ``(N, C, T)`` -> ``(N, C', T // 3)``."""
        x = getattr(self, f"block{index}")(x)
        scale = self.sig(getattr(self, f"fc_attention{index}")(self.avgpool(x).flatten(1))).unsqueeze(-1)
        return x * scale + scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, n_samples)`` -> ``(N, num_outputs)`` logits."""
        x = self.Sinc_conv(x.unsqueeze(1))
        x = self.selu(self.first_bn(F.max_pool1d(torch.abs(x), 3)))
        for index in range(6):
            x = self._scaled(index, x)
        x = self.selu(self.bn_before_gru(x))
        x, _ = self.gru(x.transpose(1, 2))
        return self.fc2_gru(self.fc1_gru(x[:, -1, :]))

    @property
    def min_samples(self) -> int:
        """The shortest input that leaves the GRU at least one step."""
        return self.config.kernel_size + 3 ** 7 - 1



#: Waveform architectures by registry name (:data:`xaiscope.models.architectures.WAVEFORM_ARCHITECTURES`): their
#: configuration class and network class.
NETWORKS: dict[str, tuple[type[RawNet2Config], type[RawNet2]]] = {"rawnet2": (RawNet2Config, RawNet2)}


def network_options(name: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every size of waveform network ``name`` with ``options`` applied over its defaults (JSON-ready).

    Raises:
        ConfigError: unknown or out-of-range options.
    """
    config_class, _ = NETWORKS[name]
    return config_class.from_dict(options).to_dict()


def build(name: str, num_outputs: int, options: dict[str, Any] | None = None) -> nn.Module:
    """An untrained waveform network ``name`` (train mode): ``(N, n_samples)`` -> ``(N, num_outputs)`` logits.

    Raises:
        ConfigError: unknown or out-of-range options.
    """
    config_class, network_class = NETWORKS[name]
    return network_class(config_class.from_dict(options), num_outputs)
