"""Debiased exponential moving average, as TensorBoard's scalar smoothing slider does it.

TensorBoard keeps ``last = last * w + (1 - w) * x`` starting from 0 and shows
``last / (1 - w ** n)`` for the n-th finite value, so early points are not dragged towards zero.
Non-finite values are skipped (shown as gaps). This file does the same, vectorised in blocks so
100k points smooth in milliseconds, and incrementally so a live curve only smooths its new tail.
"""

from __future__ import annotations

import math

import numpy as np

from .history import Buffer


def _memory(w: float) -> int:
    """Steps after which w**k < 1e-17: older values no longer change a float64 result."""
    return math.ceil(-39.2 / math.log(w)) if 0.0 < w < 1.0 else 1


def _block_len(w: float) -> int:
    # Within a block we scale by w**-k; keep that under 1e12 so float64 stays exact enough.
    if w <= 0.0:
        return 1
    return int(max(1, min(4096, math.floor(12 * math.log(10) / -math.log(w)))))


def ema_biased(x: np.ndarray, w: float, start: float = 0.0) -> np.ndarray:
    """``m_k = w m_{k-1} + (1 - w) x_k`` with ``m_{-1} = start``, for finite `x` only."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    if x.size == 0:
        return out
    if w <= 0.0:
        out[:] = x
        return out
    taps = _memory(w)
    if taps <= 128:  # fast-forgetting: a short FIR filter is exact and loop-free
        kernel = (1.0 - w) * w ** np.arange(taps, dtype=np.float64)
        out[:] = np.convolve(x, kernel)[: x.size]
        head = min(x.size, taps)  # the start value's weight w**(k+1) is 0 in float64 after
        out[:head] += start * w ** np.arange(1, head + 1, dtype=np.float64)
        return out
    step = _block_len(w)
    m = start
    for lo in range(0, x.size, step):
        chunk = x[lo : lo + step]
        k = np.arange(chunk.size, dtype=np.float64)
        up = w ** (-k)  # w^-k
        down = w ** (k + 1)  # w^(k+1)
        # m_k = w^(k+1) m + (1 - w) * w^k * sum_{i<=k} w^-i x_i
        acc = np.cumsum(chunk * up)
        block = down * m + (1.0 - w) * (down / w) * acc
        out[lo : lo + chunk.size] = block
        m = float(block[-1])
    return out


def ema_debiased(x: np.ndarray, w: float) -> np.ndarray:
    """TensorBoard-style smoothing of a whole series; NaN/inf stay as gaps."""
    return SmoothedSeries().update(np.asarray(x, dtype=np.float64), w)


class SmoothedSeries:
    """Smooths a growing series, recomputing only the new tail when the weight is unchanged."""

    def __init__(self) -> None:
        self._w = -1.0
        self._n = 0  # raw points consumed
        self._count = 0  # finite points consumed (for the debias term)
        self._m = 0.0  # biased accumulator after the last finite point
        self._ref = 0.0  # the first finite value: what is smoothed is the distance from it
        self._out = Buffer()

    def update(self, x: np.ndarray, w: float) -> np.ndarray:
        w = float(min(max(w, 0.0), 0.999999))
        if w != self._w or x.size < self._n:
            self._w, self._n, self._count, self._m, self._ref = w, 0, 0, 0.0, 0.0
            self._out = Buffer()
        if x.size == self._n:
            return self._out.view
        tail = x[self._n :]
        res = np.full(tail.size, np.nan)
        ok = np.isfinite(tail)
        if ok.any():
            vals = tail[ok]
            if w == 0.0:
                res[ok] = vals
            else:
                if self._count == 0:
                    self._ref = float(vals[0])
                # Smoothing the distance from the first value instead of the value gives the same
                # curve (the debiased weights sum to 1), but a constant series then averages
                # exact zeros and comes out exactly constant: 1.0, not 1.000000000000002 with a
                # last-bit zig-zag that an autoscaled axis blows up to fill the plot.
                m = ema_biased(vals - self._ref, w, self._m)
                self._m = float(m[-1])  # the biased accumulator carries on to the next tail
                # The debias factor 1 - w**n is exactly 1.0 once w**n underflows the mantissa.
                head = max(0, min(vals.size, _memory(w) - self._count))
                if head:
                    n = self._count + np.arange(1, head + 1, dtype=np.float64)
                    m[:head] /= 1.0 - w**n
                res[ok] = m + self._ref
            self._count += int(vals.size)
        self._out.extend(res)
        self._n = x.size
        return self._out.view

