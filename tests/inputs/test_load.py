"""load_input: paths and bytes, format sniffing and the generic input errors."""

from __future__ import annotations

import pytest

from tests.conftest import audio_bytes, chest_image, png_bytes, tone
from xaiscope.errors import EmptyInputError, ModalityMismatchError, UnknownFormatError, UnreadableInputError
from xaiscope.inputs import load_input, sniff_format


def test_path_and_bytes_give_the_same_sample(tmp_path):
    data = audio_bytes(tone(0.5), 16000)
    path = tmp_path / "clip.wav"
    path.write_bytes(data)
    from_path, from_bytes = load_input(path), load_input(data, name="clip.wav")
    assert from_path.name == from_bytes.name == "clip.wav"
    assert from_path.sha256 == from_bytes.sha256
    assert (from_path.waveform == from_bytes.waveform).all()


def test_format_comes_from_content_not_name(tmp_path):
    path = tmp_path / "really-a-wav.png"
    path.write_bytes(audio_bytes(tone(0.5), 16000))
    assert load_input(path).modality == "audio"


@pytest.mark.parametrize(
    ("head", "expected"),
    [(b"RIFF\x00\x00\x00\x00WAVE", "wav"), (b"fLaC", "flac"), (b"OggS", "ogg"), (b"ID3\x04", "mp3"),
     (b"\xff\xfb\x90\x00", "mp3"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff\xe0", "jpeg"),
     (b"\x00" * 128 + b"DICM", "dicom"), (b"%PDF-1.7", None), (b"\xff\xff\xff\xff", None)],
)
def test_sniff_format(head: bytes, expected: str | None):
    assert sniff_format(head + b"\x00" * 32) == expected


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(EmptyInputError, match="empty"):
        load_input(path)


def test_missing_file(tmp_path):
    with pytest.raises(UnreadableInputError, match="does not exist"):
        load_input(tmp_path / "nope.wav")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(UnreadableInputError, match="folder"):
        load_input(tmp_path)


def test_unknown_format_lists_supported_ones():
    with pytest.raises(UnknownFormatError) as caught:
        load_input(b"%PDF-1.7 this is a report", name="report.pdf")
    assert "WAV" in caught.value.hint and "DICOM" in caught.value.hint


def test_modality_mismatch():
    with pytest.raises(ModalityMismatchError, match="chest X-ray was expected"):
        load_input(audio_bytes(tone(0.5), 16000), modality="xray")
    assert load_input(png_bytes((chest_image() * 255).astype("uint8")), modality="xray").modality == "xray"
