"""Decoding, spectrogram shapes, caching and the broken files a real library holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("soundfile")

from songrec.audio.cache import SpectrogramCache
from songrec.audio.decode import MAX_SECONDS, SAMPLE_RATE, UnreadableAudio, audio_files, read_clip
from songrec.audio.spectrogram import FRAMES_PER_SECOND, N_MELS, downscale, log_mel, mel_filterbank
from songrec.audio.tags import read_tags
from tests.support.audio_files import tone, write


def test_decoding_resamples_to_one_rate_and_mono(tmp_path: Path) -> None:
    stereo = np.stack([tone(2.0, 440), tone(2.0, 440)], axis=1)
    path = write(tmp_path / "a.wav", stereo)
    clip = read_clip(path)
    assert clip.samples.ndim == 1 and clip.samples.dtype == np.float32
    assert abs(clip.seconds - 2.0) < 0.01 and abs(clip.file_seconds - 2.0) < 0.01
    assert len(clip.samples) == pytest.approx(2 * SAMPLE_RATE, abs=2)


def test_every_format_decodes(tmp_path: Path) -> None:
    for suffix in (".wav", ".flac", ".ogg", ".mp3"):
        clip = read_clip(write(tmp_path / f"x{suffix}", tone(1.0, 300)))
        assert clip.seconds == pytest.approx(1.0, abs=0.1)
    assert [p.suffix for p in audio_files(tmp_path)] == [".flac", ".mp3", ".ogg", ".wav"]


def test_a_tone_lights_the_mel_band_of_its_frequency() -> None:
    spec = log_mel(tone(2.0, 1000, rate=SAMPLE_RATE))
    assert spec.shape == (N_MELS, int(2.0 * FRAMES_PER_SECOND) + 1)
    assert spec.max() == 0.0 and spec.min() >= -80.0
    centres = (mel_filterbank() * np.linspace(0, SAMPLE_RATE / 2, mel_filterbank().shape[1])).sum(1)
    centres /= mel_filterbank().sum(1)
    loudest = int(spec.mean(axis=1).argmax())
    assert abs(centres[loudest] - 1000) < 150
    assert downscale(spec, (40, 120)).shape == (40, 120)


def test_a_three_hour_file_reads_only_the_first_minute(tmp_path: Path) -> None:
    rate = 1000  # 3 hours at 1 kHz: 10.8 M samples, 21 MB as 16-bit wav, written in a second
    import soundfile as sf

    path = tmp_path / "long.wav"
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=1, subtype="PCM_16") as handle:
        block = (0.1 * np.sin(np.arange(rate * 600) / 5)).astype(np.float32)
        for _ in range(18):
            handle.write(block)
    clip = read_clip(path)
    assert clip.file_seconds == pytest.approx(3 * 3600)
    assert clip.seconds == pytest.approx(MAX_SECONDS, abs=0.01)
    spec = SpectrogramCache(tmp_path / "cache").get(path)
    assert spec.shape[1] == int(MAX_SECONDS * FRAMES_PER_SECOND) + 1


def test_corrupt_and_empty_files_are_refused_with_their_path(tmp_path: Path) -> None:
    corrupt = tmp_path / "broken.ogg"
    corrupt.write_bytes(b"OggS" + bytes(range(256)) * 8)
    empty = write(tmp_path / "silent.wav", np.zeros(0, dtype=np.float32))
    for path in (corrupt, empty):
        with pytest.raises(UnreadableAudio, match=str(path.name)):
            read_clip(path)


def test_the_cache_computes_once_and_notices_a_changed_file(tmp_path: Path) -> None:
    path = write(tmp_path / "a.flac", tone(1.0, 300))
    cache = SpectrogramCache(tmp_path / "cache")
    first = cache.get(path)
    again = cache.get(path)
    assert (cache.misses, cache.hits) == (1, 1)
    np.testing.assert_allclose(first, again, atol=0.05)  # stored as float16
    write(path, tone(2.0, 300))
    assert cache.get(path).shape[1] > first.shape[1] and cache.misses == 2


def test_tags_and_a_file_without_any(tmp_path: Path) -> None:
    tagged = read_tags(write(tmp_path / "t.ogg", tone(0.5, 300), title="Ring of Fire", artist="Johnny Cash"))
    assert (tagged.title, tagged.artist, tagged.tagged) == ("Ring of Fire", "Johnny Cash", True)
    bare = read_tags(write(tmp_path / "my_song.wav", tone(0.5, 300)))
    assert (bare.title, bare.artist, bare.tagged) == ("my song", None, False)
