"""Log-mel spectrograms with torch.stft and a triangular mel filterbank (no torchaudio, no librosa)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from songrec.audio.decode import SAMPLE_RATE

N_FFT = 1024
HOP = 512  # 32 ms at 16 kHz: 31.25 frames a second, 1875 for the first minute
N_MELS = 64
FRAMES_PER_SECOND = SAMPLE_RATE / HOP
#: What a silent bin becomes, and how far below the loudest bin anything is kept (decibels).
FLOOR_DB = -100.0
RANGE_DB = 80.0
#: Bump when the numbers change: cached spectrograms are keyed on it.
SPEC_VERSION = 1


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=8)
def mel_filterbank(
    rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS, fmin: float = 30.0
) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangles evenly spaced on the HTK mel scale, area-normalised."""
    freqs = np.linspace(0.0, rate / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(rate / 2.0), n_mels + 2))
    bank = np.zeros((n_mels, len(freqs)))
    for m in range(n_mels):
        low, centre, high = edges[m], edges[m + 1], edges[m + 2]
        rising = (freqs - low) / max(centre - low, 1e-9)
        falling = (high - freqs) / max(high - centre, 1e-9)
        bank[m] = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / max(high - low, 1e-9))
    return bank.astype(np.float32)


def log_mel(samples: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """(N_MELS, frames) float32 decibels, the loudest bin at 0 and nothing below -RANGE_DB."""
    wave = torch.as_tensor(np.asarray(samples, dtype=np.float32))
    if wave.numel() < N_FFT:
        wave = torch.nn.functional.pad(wave, (0, N_FFT - wave.numel()))
    spec = torch.stft(
        wave, N_FFT, hop_length=HOP, window=torch.hann_window(N_FFT), center=True, return_complex=True
    )
    power = spec.abs() ** 2
    mel = torch.as_tensor(mel_filterbank(rate)) @ power
    db = 10.0 * torch.log10(torch.clamp(mel, min=10 ** (FLOOR_DB / 10)))
    db = torch.clamp(db - db.max(), min=-RANGE_DB)
    return db.numpy().astype(np.float32)


def downscale(spec: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The spectrogram resized to (mels, frames) by area averaging: the study's 40x120 picture."""
    tensor = torch.as_tensor(np.asarray(spec, dtype=np.float32))[None, None]
    out = torch.nn.functional.interpolate(tensor, size=shape, mode="area")
    return out[0, 0].numpy()
