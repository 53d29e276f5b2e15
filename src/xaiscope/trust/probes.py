"""Inputs a model must not be trusted on, made on the spot: the probes ``xaiscope calibrate`` measures.

Each probe is a :class:`~xaiscope.inputs.Sample` built in memory (nothing is read or downloaded), so the
comparison of familiarity methods can be repeated anywhere. Speech-based probes start from a real recording the
caller gives (a validation clip), X-ray probes from nothing.
"""

from __future__ import annotations

import numpy as np

from xaiscope.inputs.sample import AudioSample, Sample, XraySample

RATE = 16000


def _audio(name: str, waveform: np.ndarray, rate: int = RATE) -> AudioSample:
    waveform = np.asarray(waveform, np.float32)
    return AudioSample(name=name, source_format="wav", sha256=f"probe-{name}", waveform=waveform, sample_rate=rate,
                       metadata={"sample_rate": rate, "duration_s": round(len(waveform) / rate, 4)})


def audio_probes(speech: AudioSample | None = None, seconds: float = 4.0, seed: int = 0) -> list[AudioSample]:
    """White noise, pink noise, a pure tone, a chord, a click train, DC, and (given ``speech``) that speech
    padded with 3x its length of digital silence and with white noise."""
    rng = np.random.default_rng(seed)
    count = int(seconds * RATE)
    time = np.arange(count) / RATE
    white = rng.normal(0.0, 0.1, count)
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, count))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    pink = np.fft.irfft(spectrum, count)
    pink *= 0.1 / pink.std()
    clicks = np.zeros(count)
    clicks[:: RATE // 8] = 0.8
    probes = [
        _audio("white_noise", white),
        _audio("pink_noise", pink),
        _audio("pure_tone_440Hz", 0.5 * np.sin(2 * np.pi * 440 * time)),
        _audio("chord", 0.2 * np.sum([np.sin(2 * np.pi * f * time) for f in (261.6, 329.6, 392.0, 523.3)], axis=0)),
        _audio("click_train", clicks),
        _audio("dc_offset", np.full(count, 0.3)),
    ]
    if speech is not None:
        clip = speech.waveform if speech.sample_rate == RATE else _resampled(speech)
        probes.append(_audio("speech_with_silence", np.concatenate([clip, np.zeros(3 * len(clip), np.float32)])))
        probes.append(_audio("speech_in_loud_noise", clip + rng.normal(0.0, 3 * float(clip.std()) + 1e-3,
                                                                        len(clip))))
    return probes


def _resampled(sample: AudioSample) -> np.ndarray:
    from xaiscope.inputs.audio import resample

    return resample(sample.waveform, sample.sample_rate, RATE)


def _xray(name: str, image: np.ndarray, **metadata: object) -> XraySample:
    image = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
    return XraySample(name=name, source_format=str(metadata.pop("source_format", "png")), sha256=f"probe-{name}",
                      image=image, metadata={"width": image.shape[1], "height": image.shape[0], **metadata})


def xray_probes(size: int = 256, seed: int = 0) -> list[XraySample]:
    """Uniform noise, a photo-like colour picture (gray after decoding, with its saturation), a CT-like axial
    slice, a leg-like long-bone picture, a text page and a flat gray picture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    photo = 0.5 + 0.3 * np.sin(6 * x + 2 * y) * np.cos(4 * y) + 0.1 * (x > 0.6) * (y < 0.4)
    body = ((x - 0.5) ** 2 / 0.16 + (y - 0.5) ** 2 / 0.1) < 1
    spine = ((x - 0.5) ** 2 + (y - 0.72) ** 2) < 0.004
    lungs = (((x - 0.32) ** 2 / 0.02 + (y - 0.45) ** 2 / 0.04) < 1) | (((x - 0.68) ** 2 / 0.02
                                                                        + (y - 0.45) ** 2 / 0.04) < 1)
    ct = 0.05 + 0.45 * body - 0.4 * lungs + 0.5 * spine
    leg = 0.1 + 0.3 * (np.abs(x - 0.5) < 0.2) + 0.5 * (np.abs(x - 0.5) < 0.06) - 0.3 * (np.abs(x - 0.5) < 0.025)
    page = np.ones((size, size))
    for row in range(20, size - 20, 14):
        widths = rng.integers(5, 30, size=12)
        column = 20
        for width in widths:
            if column + width > size - 20:
                break
            page[row:row + 6, column:column + width] = 0.05
            column += width + 6
    return [
        _xray("uniform_noise", rng.uniform(0.0, 1.0, (size, size))),
        _xray("photo_like_colour", photo, colour_saturation=0.55),
        _xray("ct_axial_slice", ct, source_format="dicom", dicom_modality="CT"),
        _xray("leg_long_bones", leg, source_format="dicom", dicom_modality="DX", body_part="LEG"),
        _xray("text_page", page),
        _xray("flat_gray", np.full((size, size), 0.5)),
    ]


def probes_for(modality: str, speech: Sample | None = None) -> list[Sample]:
    """The probes of one modality."""
    if modality == "audio":
        return list(audio_probes(speech if isinstance(speech, AudioSample) else None))
    return list(xray_probes())
