"""Where one stretch of audio matches another: normalised cross-correlation by FFT.

One calculation serves the echo stage (is her voice getting through the canceller?), the
delay tracker (how far behind the reference does her echo arrive?) and the tests (where
did a clip land in a recording?).
"""

from __future__ import annotations

import numpy as np


def sliding_match(needle: np.ndarray, haystack: np.ndarray, min_energy: float = 1e-4) -> np.ndarray:
    """The normalised correlation (-1 to 1) of `needle` with every same-length stretch of
    `haystack`: element k compares it with `haystack[k : k + len(needle)]`.

    A stretch with less than `min_energy` of the needle's energy scores 0: silence matches
    nothing. Empty when the haystack is shorter than the needle, or the needle is silent.
    """
    a = np.asarray(needle, dtype=np.float64).reshape(-1)
    b = np.asarray(haystack, dtype=np.float64).reshape(-1)
    n = len(a)
    energy_a = float(np.dot(a, a))
    if n == 0 or len(b) < n or energy_a <= 0.0:
        return np.zeros(0)
    size = 1 << int(np.ceil(np.log2(len(b) + n)))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    corr = corr[: len(b) - n + 1]  # corr[k] = sum a[i] * b[k + i]
    squares = np.concatenate([[0.0], np.cumsum(b * b)])
    energy_b = squares[n:] - squares[:-n]
    valid = energy_b > energy_a * min_energy
    score = np.zeros(len(corr))
    score[valid] = corr[valid] / np.sqrt(energy_a * energy_b[valid])
    return score
