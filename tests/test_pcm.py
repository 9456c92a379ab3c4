"""PCM conversion, resampling and WAV reading, checked on tones and real speech."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from speech_data import clip

from voiceos.audio.pcm import (
    AudioFormatError,
    Resampler,
    read_wav,
    resample,
    to_float32,
    to_int16,
    to_mono,
    write_wav,
)


def tone(freq_hz: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum) * rate / samples.size)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(samples, dtype=np.float64) ** 2)))


def best_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 64) -> float:
    """Highest correlation of a and b over small shifts (resamplers may delay by a sample)."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        x = a[max(0, lag) :]
        y = b[max(0, -lag) :]
        n = min(x.size, y.size)
        best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best


def test_int16_float_round_trip_is_exact() -> None:
    pcm = np.array([-32768, -1, 0, 1, 12345, 32767], dtype=np.int16)
    floats = to_float32(pcm)
    assert floats.dtype == np.float32 and floats.min() >= -1.0 and floats.max() < 1.0
    assert np.array_equal(to_int16(floats), pcm)
    assert np.array_equal(to_int16(np.array([2.0, -2.0])), np.array([32767, -32768]))


def test_to_mono_averages_channels() -> None:
    stereo = np.array([[100, 300], [-50, 50]], dtype=np.int16)
    assert to_mono(stereo).tolist() == [200, 0]
    mono = np.array([1, 2, 3], dtype=np.int16)
    assert to_mono(mono) is mono


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
def test_resample_keeps_a_tone(rate: int) -> None:
    out = resample(tone(440, rate), rate, 16000)
    assert out.dtype == np.float32
    assert out.size == 16000
    assert abs(peak_hz(out, 16000) - 440) < 2
    core = out[200:-200]
    assert rms(core) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_downsampling_removes_what_cannot_be_kept() -> None:
    # 9 kHz cannot exist at 16 kHz: it must be filtered, not folded down to 7 kHz.
    aliased = resample(tone(9000, 48000), 48000, 16000)
    kept = resample(tone(6000, 48000), 48000, 16000)
    assert rms(aliased[200:-200]) < 0.001
    assert rms(kept[200:-200]) > 0.3


def test_int16_in_gives_int16_out() -> None:
    out = resample(to_int16(tone(300, 8000)), 8000, 16000)
    assert out.dtype == np.int16 and out.size == 16000


def test_streaming_equals_one_shot_for_any_blocks() -> None:
    speech = to_float32(clip("another_engineer").samples())
    expected = resample(speech, 16000, 44100)
    rng = np.random.default_rng(7)
    stream = Resampler(16000, 44100)
    parts, offset = [], 0
    while offset < speech.size:
        size = int(rng.integers(1, 3000))
        parts.append(stream.process(speech[offset : offset + size]))
        offset += size
    parts.append(stream.flush())
    assert np.allclose(np.concatenate(parts), expected, atol=1e-6)


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
@pytest.mark.parametrize(("rate", "channels", "min_corr"), [(48000, 2, 0.98), (44100, 2, 0.98)])
def test_speech_converted_by_sox_comes_back_to_16k(
    tmp_path: Path, rate: int, channels: int, min_corr: float
) -> None:
    # sox is an independent converter: real speech at another rate and in stereo must
    # read and resample back to something that matches the original.
    source = clip("another_engineer")
    converted = tmp_path / "converted.wav"
    subprocess.run(
        ["sox", str(source.path), "-r", str(rate), "-c", str(channels), "-b", "24", str(converted)],
        check=True,
    )
    pcm, got_rate = read_wav(converted)
    assert got_rate == rate
    back = resample(pcm, rate, 16000)
    original = source.samples()
    assert abs(back.size - original.size) <= 2
    assert best_correlation(back, original) > min_corr


def test_speech_from_8k_keeps_its_low_band() -> None:
    original = clip("another_engineer").samples()
    narrow = resample(original, 16000, 8000)
    back = resample(narrow, 8000, 16000)
    # Telephone-band speech keeps most of the waveform; what is lost is above 4 kHz.
    assert best_correlation(back, original) > 0.9


@pytest.mark.parametrize(
    ("subtype", "channels"),
    [("PCM_U8", 1), ("PCM_16", 2), ("PCM_24", 1), ("PCM_32", 2), ("FLOAT", 1), ("DOUBLE", 3)],
)
def test_read_wav_sample_formats(tmp_path: Path, subtype: str, channels: int) -> None:
    signal = tone(440, 22050, 0.5, amp=0.6)
    frames = np.repeat(signal[:, None], channels, axis=1)
    path = tmp_path / f"{subtype}.wav"
    soundfile.write(path, frames, 22050, subtype=subtype, format="WAV")
    pcm, rate = read_wav(path)
    assert rate == 22050 and pcm.dtype == np.int16 and pcm.size == signal.size
    tolerance = 0.02 if subtype == "PCM_U8" else 0.001
    assert np.max(np.abs(to_float32(pcm) - signal)) < tolerance


def test_write_then_read(tmp_path: Path) -> None:
    pcm = clip("goforward").samples()
    write_wav(tmp_path / "out.wav", pcm, 16000)
    again, rate = read_wav(tmp_path / "out.wav")
    assert rate == 16000 and np.array_equal(again, pcm)


def _wav_bytes(
    fmt: int = 1, channels: int = 1, bits: int = 16, data: bytes = b"\0\0" * 10
) -> bytes:
    align = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, 16000, 16000 * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_read_wav_with_unknown_data_size_reads_to_the_end(tmp_path: Path) -> None:
    # Streaming writers that cannot seek back leave 0 or 0xFFFFFFFF as the data size.
    blob = bytearray(_wav_bytes(data=struct.pack("<4h", 1, 2, 3, 4)))
    blob[40:44] = struct.pack("<I", 0xFFFFFFFF)
    path = tmp_path / "streamed.wav"
    path.write_bytes(bytes(blob))
    assert read_wav(path)[0].tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a WAV"),
        (b"hello, this is a text file, not audio at all", "not a WAV"),
        (b"RIFF\x10\x00\x00\x00WAVE", "no valid 'fmt '"),
        (_wav_bytes()[:36], "no 'data'"),  # the data chunk is missing
        (_wav_bytes()[:-10], "truncated"),
        (_wav_bytes(channels=0), "corrupt WAV header"),
        (_wav_bytes(fmt=0x55), "compressed"),
        (_wav_bytes(bits=12), "corrupt WAV header"),
    ],
    ids=["empty", "text", "no-fmt", "no-data", "truncated", "no-channels", "mp3", "12-bit"],
)
def test_read_wav_rejects_bad_files_with_a_clear_message(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFormatError) as caught:
        read_wav(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_read_wav_of_a_real_clip_cut_short(tmp_path: Path) -> None:
    whole = clip("another_engineer").path.read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(AudioFormatError, match="truncated"):
        read_wav(path)


def test_read_wav_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioFormatError, match="cannot read"):
        read_wav(tmp_path / "nowhere.wav")
