"""Decode speech recordings (wav, flac, ogg, mp3) into an :class:`AudioSample`.

Decoding is done by libsndfile through ``soundfile`` (the wheels bundle libsndfile >= 1.2, which reads MPEG
layer III as well as WAV, FLAC and Ogg Vorbis/Opus). Integer and float samples are both returned as float32 in
[-1, 1]; several channels are averaged to mono, exactly as ``librosa.load`` does, so that the earlier tool's
weights see the signal they were trained on. The file's sample rate is kept: each model resamples to its own
rate (see :func:`resample`).
"""

from __future__ import annotations

import io

import numpy as np
import soundfile
import soxr

from xaiscope.errors import AudioTooLongError, EmptyAudioError, SilentAudioError, UnreadableInputError
from xaiscope.inputs.limits import MAX_AUDIO_SECONDS, check_audio_seconds, check_sample_rate
from xaiscope.inputs.sample import AudioSample

__all__ = ["MAX_AUDIO_SECONDS", "decode_audio", "resample"]

#: A recording whose peak amplitude stays below this (about -90 dBFS, under one 16-bit step) is "silent".
SILENCE_PEAK = 10 ** (-90 / 20)

_BLOCK_FRAMES = 1 << 20

_SUBTYPE_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}


def decode_audio(data: bytes, *, name: str, source_format: str, sha256: str) -> AudioSample:
    """Decode the bytes of an audio file.

    Args:
        data: the whole file.
        name: display name for messages.
        source_format: ``wav``, ``flac``, ``ogg`` or ``mp3`` (as sniffed by :mod:`xaiscope.inputs`).
        sha256: digest of ``data``.

    Returns:
        A sample whose ``waveform`` has shape ``(n_samples,)``, float32, mono, at the file's own rate.

    Raises:
        UnreadableInputError: libsndfile cannot decode the bytes (damaged or truncated file).
        AudioTooLongError: the recording is longer than :data:`MAX_AUDIO_SECONDS`.
        EmptyAudioError: it decodes to zero samples.
        SilentAudioError: every sample is below :data:`SILENCE_PEAK`.
    """
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as handle:
            sample_rate = int(handle.samplerate)
            channels = int(handle.channels)
            subtype = str(handle.subtype)
            declared_frames = int(handle.frames)
            check_sample_rate(sample_rate, name)
            # The header's length, before any sample is decoded (limits in xaiscope.inputs.limits; the
            # module-level MAX_AUDIO_SECONDS is read here so that a test or a server may lower it).
            if declared_frames / sample_rate > MAX_AUDIO_SECONDS:
                raise AudioTooLongError(
                    f"'{name}' lasts {declared_frames / sample_rate / 60:.1f} minutes; the limit is "
                    f"{MAX_AUDIO_SECONDS / 60:.0f} minutes.",
                    "Cut the recording into parts (for example with `sox in.wav out.wav trim 0 3600 : newfile "
                    ": restart`) and analyse them one by one.")
            # Decoded block by block and mixed to mono as it goes, so a long multi-channel file never sits in
            # memory as a float array of all its channels.
            blocks = [block.mean(axis=1, dtype=np.float32)
                      for block in handle.blocks(blocksize=_BLOCK_FRAMES, dtype="float32", always_2d=True)]
    except soundfile.LibsndfileError as error:
        raise UnreadableInputError(
            f"'{name}' looks like a {source_format} file but cannot be decoded ({error.error_string}).",
            "The file is probably damaged or truncated; export it again from the original recording.",
        ) from error
    except (RuntimeError, ValueError) as error:  # soundfile raises these for some malformed headers
        raise UnreadableInputError(
            f"'{name}' looks like a {source_format} file but cannot be decoded ({error}).",
            "The file is probably damaged or truncated; export it again from the original recording.",
        ) from error

    waveform = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    if waveform.size == 0:
        raise EmptyAudioError(f"'{name}' contains no audio samples (zero-length recording).",
                              "Choose a recording that actually contains sound.")
    if not np.all(np.isfinite(waveform)):
        raise UnreadableInputError(f"'{name}' contains samples that are not finite numbers (NaN or infinity).",
                                   "Re-export the recording as 16-bit PCM.")
    check_audio_seconds(waveform.size / sample_rate, name)
    peak = float(np.max(np.abs(waveform)))
    if peak < SILENCE_PEAK:
        raise SilentAudioError(
            f"'{name}' is silent: its loudest sample is {_dbfs(peak)} (below -90 dBFS), so there is no speech "
            "to classify.",
            "Check that the right file was chosen and that the recording device was not muted.")
    metadata = {
        "sample_rate": sample_rate,
        "channels": channels,
        "duration_s": round(waveform.size / sample_rate, 4),
        "encoding": subtype,
        "bit_depth": _SUBTYPE_BITS.get(subtype),
        "peak_dbfs": round(20 * np.log10(peak), 2),
    }
    return AudioSample(name=name, source_format=source_format, sha256=sha256, metadata=metadata,
                       waveform=waveform, sample_rate=sample_rate)


def resample(waveform: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample with soxr's high-quality filter, the same call ``librosa.load(sr=...)`` makes.

    Args:
        waveform: shape ``(n,)``, float32.
        from_rate: its sample rate.
        to_rate: the wanted sample rate.

    Returns:
        Shape ``(ceil(n * to_rate / from_rate),)``, float32 (the input itself when the rates are equal). Like
        librosa, the output is zero-padded or trimmed to exactly that length.
    """
    if from_rate == to_rate:
        return waveform
    wanted = int(np.ceil(len(waveform) * float(to_rate) / from_rate))
    resampled = soxr.resample(waveform, from_rate, to_rate, quality="soxr_hq").astype(np.float32, copy=False)
    if len(resampled) >= wanted:
        return resampled[:wanted]
    return np.pad(resampled, (0, wanted - len(resampled)))


def _dbfs(peak: float) -> str:
    return "digital zero" if peak == 0 else f"{20 * np.log10(peak):.1f} dBFS"
