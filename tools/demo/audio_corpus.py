"""The demo speech corpus: ``<out>/audio/{training,validation,testing}/{fake,real}/*.wav`` plus
``manifest.jsonl`` (one row per clip: split, label, source, engine, group, augmentation, text) and
``partial/`` (partially fake clips of held-out speakers and voices, with their fake interval in
``partial/manifest.jsonl``).

Splits by source: every real speaker (or recording, where the speaker is not known) and its codec2-vocoded
copies sit in one split; flite and espeak-ng voices are split by voice; the single piper voice is split by text
(disjoint sentence sets). Clips are 16 kHz mono 16-bit WAV of at most ``clip_seconds``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from tools.demo import speech
from tools.demo.augment import augment
from tools.demo.texts import sentences
from xaiscope.inputs.audio import resample

RATE = 16000
SPLITS = ("training", "validation", "testing")

#: Which split each real speaker group (and its vocoded copies) belongs to.
REAL_SPLITS: dict[str, str] = {
    "ps-librivox": "training", "ps-tidigits": "training", "ps-goforward": "training", "c2-ve9qrp": "training",
    "c2-hts1": "training", "c2-forig": "training", "c2-cross": "training", "c2-g3plx": "training",
    "c2-big_dog": "training",
    "ps-something": "validation", "c2-mmt1": "validation", "c2-morig": "validation", "c2-kristoff": "validation",
    "ps-cards": "testing", "ps-numbers": "testing", "c2-david4": "testing", "c2-hts2": "testing",
    "c2-vk5qi": "testing", "c2-cq_ref": "testing",
}
FLITE_SPLITS: dict[str, tuple[str, ...]] = {"training": ("kal", "kal16", "awb"), "validation": ("rms",),
                                            "testing": ("slt",)}
ESPEAK_SPLITS: dict[str, tuple[str, ...]] = {
    "training": speech.ESPEAK_VOICES[:6], "validation": speech.ESPEAK_VOICES[6:8] + speech.ESPEAK_VOICES[11:],
    "testing": speech.ESPEAK_VOICES[8:11]}


@dataclass(frozen=True)
class AudioPlan:
    """Corpus sizes.

    Attributes:
        clip_seconds: clip length (the model's window).
        real_hop_seconds: step between real clips cut from one recording.
        max_real_per_group: cap on the clips of one real speaker group (the 112-s recording would dominate).
        real_copies: differently augmented copies of each real training clip (real speech is scarce).
        fake_per_engine: synthetic clips per engine (piper, flite, espeak-ng, codec2) and split.
        partial_clips: partially fake test clips.
        partial_seconds: their length.
    """

    clip_seconds: float = 2.0
    real_hop_seconds: float = 0.5
    max_real_per_group: int = 45
    real_copies: int = 2
    fake_per_engine: dict[str, int] = field(default_factory=lambda: {"training": 60, "validation": 12,
                                                                     "testing": 25})
    partial_clips: int = 12
    partial_seconds: float = 5.0

    @classmethod
    def subset(cls) -> AudioPlan:
        return cls(real_hop_seconds=1.0, max_real_per_group=4, real_copies=1,
                   fake_per_engine={"training": 4, "validation": 2, "testing": 3}, partial_clips=2)


@dataclass
class ClipRow:
    """One manifest row."""

    file: str
    split: str
    label: str
    source: str
    engine: str
    group: str
    augmentation: list[str]
    text: str = ""


def _active(clip: np.ndarray, reference_peak: float) -> bool:
    """Whether a clip holds speech: enough 20-ms frames within 35 dB of the recording's peak frame."""
    frames = clip[: len(clip) // 320 * 320].reshape(-1, 320)
    energy = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    return bool(np.mean(energy > reference_peak - 35) > 0.4)


def _frame_peak(samples: np.ndarray) -> float:
    frames = samples[: len(samples) // 320 * 320].reshape(-1, 320)
    return float(np.max(10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)))


def _trim(samples: np.ndarray) -> np.ndarray:
    import librosa

    trimmed, _ = librosa.effects.trim(samples, top_db=35)
    return trimmed


def _write(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.clip(samples, -1, 1), RATE, subtype="PCM_16")


class AudioCorpusBuilder:
    """Builds the speech corpus (see the module docstring)."""

    def __init__(self, out: Path, plan: AudioPlan, seed: int, log: Callable[[str], None] = print) -> None:
        self.out = out
        self.plan = plan
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.log = log
        self.rows: list[ClipRow] = []
        self.counter: Counter[str] = Counter()
        self._piper: speech.Piper | None = None
        self.real_audio: dict[str, list[np.ndarray]] = {}

    @property
    def piper(self) -> speech.Piper:
        if self._piper is None:
            self._piper = speech.Piper()
        return self._piper

    def _add(self, samples: np.ndarray, split: str, label: str, source: str, engine: str, group: str,
             text: str = "") -> None:
        clip_length = int(self.plan.clip_seconds * RATE)
        samples = samples[:clip_length]
        augmented, steps = augment(samples, RATE, self.rng)
        self.counter[group] += 1
        name = f"{engine}__{group}__{self.counter[group]:03d}.wav".replace("+", "-")
        relative = f"{split}/{label}/{name}"
        _write(self.out / relative, augmented)
        self.rows.append(ClipRow(relative, split, label, source, engine, group, steps, text))

    # --- real ------------------------------------------------------------------------------------------------

    def build_real(self) -> None:
        clip = int(self.plan.clip_seconds * RATE)
        hop = int(self.plan.real_hop_seconds * RATE)
        by_group: dict[str, list[tuple[np.ndarray, speech.Recording]]] = {}
        for recording in speech.real_recordings():
            samples, rate = speech.read_recording(recording)
            samples = resample(samples, rate, RATE)
            self.real_audio.setdefault(recording.group, []).append(samples)
            peak = _frame_peak(samples)
            starts = list(range(0, max(len(samples) - clip, 0) + 1, hop))
            pieces = [samples[start:start + clip] for start in starts]
            pieces = [piece for piece in pieces if len(piece) >= int(0.75 * clip) and _active(piece, peak)]
            by_group.setdefault(recording.group, []).extend((piece, recording) for piece in pieces)
        for group, pieces in sorted(by_group.items()):
            split = REAL_SPLITS.get(group)
            if split is None:
                continue
            if len(pieces) > self.plan.max_real_per_group:
                chosen = np.linspace(0, len(pieces) - 1, self.plan.max_real_per_group).round().astype(int)
                pieces = [pieces[index] for index in chosen]
            copies = self.plan.real_copies if split == "training" else 1
            for piece, recording in pieces:
                for _ in range(copies):
                    self._add(piece, split, "real", recording.source, "recording", group)

    # --- synthetic -------------------------------------------------------------------------------------------

    def _cut(self, samples: np.ndarray, rate: int) -> np.ndarray:
        samples = _trim(resample(samples, rate, RATE))
        clip = int(self.plan.clip_seconds * RATE)
        if len(samples) <= clip:
            return samples
        start = int(self.rng.integers(0, len(samples) - clip + 1))
        return samples[start:start + clip]

    def build_fake(self) -> None:
        for index, split in enumerate(SPLITS):
            count = self.plan.fake_per_engine[split]
            texts = sentences(4 * count, self.seed, index)
            for number in range(count):
                text = texts[number]
                scale = float(self.rng.uniform(0.85, 1.2))
                samples, rate = self.piper(text, length_scale=scale, noise_scale=float(self.rng.uniform(0.4, 0.8)))
                self._add(self._cut(samples, rate), split, "fake", "piper", "piper", "piper-joe", text)
                voice = FLITE_SPLITS[split][number % len(FLITE_SPLITS[split])]
                text = texts[count + number]
                samples, rate = speech.flite(text, voice)
                self._add(self._cut(samples, rate), split, "fake", "flite", "flite", speech.FLITE_VOICES[voice], text)
                voice = ESPEAK_SPLITS[split][number % len(ESPEAK_SPLITS[split])]
                text = texts[2 * count + number]
                samples, rate = speech.espeak(text, voice, speed=int(self.rng.integers(140, 190)),
                                              pitch=int(self.rng.integers(30, 70)))
                self._add(self._cut(samples, rate), split, "fake", "espeak-ng", "espeak", f"espeak-{voice}", text)
            self._vocoded(split, count)
            self.log(f"  audio {split}: {sum(row.split == split for row in self.rows)} clips")

    def _vocoded(self, split: str, count: int) -> None:
        """``count`` codec2-vocoded clips of this split's real speakers (random speaker, offset and mode)."""
        groups = sorted(group for group, chosen in REAL_SPLITS.items() if chosen == split and group in self.real_audio)
        clip = int(self.plan.clip_seconds * RATE)
        made = 0
        attempts = 0
        while made < count and attempts < 50 * count:
            attempts += 1
            group = groups[made % len(groups)] if attempts <= count else groups[int(self.rng.integers(len(groups)))]
            recordings = self.real_audio[group]
            samples = recordings[int(self.rng.integers(len(recordings)))]
            if len(samples) < int(0.75 * clip):
                continue
            start = int(self.rng.integers(0, max(len(samples) - clip, 0) + 1))
            piece = samples[start:start + clip]
            if not _active(piece, _frame_peak(samples)):
                continue
            mode = str(self.rng.choice(speech.CODEC2_MODES))
            vocoded, rate = speech.codec2_vocode(piece, RATE, mode)
            self._add(resample(vocoded, rate, RATE), split, "fake", "codec2-vocoded", f"codec2-{mode}", group)
            made += 1

    # --- partially fake ----------------------------------------------------------------------------------------

    def build_partial(self) -> list[dict[str, object]]:
        """Test-split real speech with a synthetic passage of a test voice spliced in; returns their rows."""
        length = int(self.plan.partial_seconds * RATE)
        hosts = [samples for group in ("c2-david4", "c2-vk5qi", "c2-cq_ref", "c2-hts2")
                 for samples in self.real_audio.get(group, []) if len(samples) >= length]
        texts = sentences(3 * self.plan.partial_clips, self.seed + 1, 2)
        rows = []
        for number in range(self.plan.partial_clips):
            host = hosts[number % len(hosts)]
            start = int(self.rng.integers(0, len(host) - length + 1))
            piece = host[start:start + length].copy()
            engine = ("piper", "flite", "espeak")[number % 3]
            text = texts[number]
            if engine == "piper":
                synthetic, rate = self.piper(text)
            elif engine == "flite":
                synthetic, rate = speech.flite(text, "slt")
            else:
                synthetic, rate = speech.espeak(text, ESPEAK_SPLITS["testing"][number % 3])
            synthetic = _trim(resample(synthetic, rate, RATE))
            fake_length = min(len(synthetic), int(self.rng.uniform(1.3, 1.8) * RATE))
            synthetic = synthetic[:fake_length]
            at = int(self.rng.integers(int(1.2 * RATE), length - fake_length - int(0.8 * RATE)))
            around = piece[max(at - RATE, 0):at + fake_length + RATE]
            synthetic = synthetic * (np.sqrt(np.mean(around**2)) / (np.sqrt(np.mean(synthetic**2)) + 1e-9))
            fade = np.linspace(0, 1, 160, dtype=np.float32)
            synthetic[:160] *= fade
            synthetic[-160:] *= fade[::-1]
            piece[at:at + fake_length] = synthetic
            noise = float(np.sqrt(np.mean(piece**2)) * 10 ** (-35 / 20))
            piece = piece + self.rng.standard_normal(len(piece)).astype(np.float32) * noise
            piece = piece / (np.max(np.abs(piece)) + 1e-9) * 0.7
            relative = f"partial/partial_{number:02d}_{engine}.wav"
            _write(self.out / relative, piece)
            rows.append({"file": relative, "engine": engine, "text": text,
                         "fake_interval": [round(at / RATE, 3), round((at + fake_length) / RATE, 3)]})
        (self.out / "partial" / "manifest.jsonl").write_text(
            "".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        return rows

    def build(self) -> dict[str, object]:
        """Build everything; returns a summary (clip counts per split, label and source)."""
        self.build_real()
        self.build_fake()
        partial = self.build_partial()
        (self.out / "manifest.jsonl").write_text("".join(json.dumps(asdict(row)) + "\n" for row in self.rows),
                                                 encoding="utf-8")
        return summarise(self.rows, len(partial))


def summarise(rows: list[ClipRow], partial: int) -> dict[str, object]:
    """Counts per split, per label and source, and per group."""
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        key = f"{row.label}/{row.source}"
        counts.setdefault(row.split, {}).setdefault(key, 0)
        counts[row.split][key] += 1
    groups = {split: sorted({row.group for row in rows if row.split == split}) for split in SPLITS}
    return {"clips": counts, "groups": groups, "partial_clips": partial}


def read_manifest(folder: Path) -> list[ClipRow]:
    """The rows of ``<folder>/manifest.jsonl``."""
    lines = (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [ClipRow(**json.loads(line)) for line in lines if line.strip()]
